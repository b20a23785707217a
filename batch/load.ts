/**
 * Step `load`: publish a model version to serving.
 *
 * 1. Writes the model bundle `<MODELS_DIR>/<version>/` (lib/stores/bundle.ts) from Spark results,
 *    streamed batch by batch (bounded memory): item vectors with their payload, user vectors, both
 *    id maps, every buyer's last 50 purchases with dates and profile counters, the trending lists
 *    and the version info with its offline metrics. A complete bundle of the version is reused, so
 *    re-running the step is idempotent.
 * 2. With in-process stores (FEATURE_STORE=memory, VECTOR_INDEX=embedded) that is all: serving
 *    loads the newest bundle at start. Otherwise `publishVersion` streams the bundle into the
 *    configured stores (Redis, Qdrant), switches serving to it atomically (Qdrant alias, Redis
 *    version pointer) and drops versions older than the previous one.
 * 3. Bundles older than the previous one are removed from MODELS_DIR too.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { col, type DataFrame, functions as F, lit, Window } from '../lib/spark-connect/index.ts';
import { BundleReader, BundleWriter, listBundles, type TrendingLists } from '../lib/stores/bundle.ts';
import {
  createFeatureStore,
  createVectorIndex,
  HISTORY_LIMIT,
  type ItemMetadata,
  type ItemPoint,
  type UserProfileSeed,
} from '../lib/stores/index.ts';
import { publishVersion } from '../lib/stores/publish.ts';
import type { BatchContext, BatchStep, StepResult } from './context.ts';
import { readMetrics } from './evaluate.ts';
import { ITEM_PAYLOAD_COLUMNS } from './preprocess.ts';
import { delta } from './spark.ts';
import { readTrending, userSegments } from './trending.ts';
import { currentVersion } from './versions.ts';

type Row = Record<string, unknown>;

function toVector(value: unknown, rank: number, what: string): Float32Array {
  if (!Array.isArray(value) || value.length !== rank) {
    throw new Error(`${what} has no vector of length ${rank}`);
  }
  return Float32Array.from(value as number[]);
}

/** `Date` (Spark date) → ISO timestamp at midnight UTC, as the feature store keeps purchase times. */
function isoTime(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return new Date(String(value)).toISOString();
}

/** Streams a DataFrame's rows in chunks of at most `size`, Arrow batch by Arrow batch. */
async function* chunks(df: DataFrame, signal: AbortSignal, size = 4096): AsyncGenerator<Row[]> {
  let buffer: Row[] = [];
  for await (const row of df.toLocalIterator({ signal })) {
    buffer.push(row);
    if (buffer.length >= size) {
      yield buffer;
      buffer = [];
    }
  }
  if (buffer.length > 0) yield buffer;
}

/**
 * What a bundle holds of the users and their purchases. The served bundle holds everything; an
 * evaluation bundle holds what was known at the end of the training period, for the evaluated
 * users only.
 */
export interface BundleScope {
  /** Last day (inclusive) whose purchases enter histories and profile counters. @default all */
  through?: string;
  /** Only these users' vectors, ids and profiles (a DataFrame with `user_idx`). @default all */
  users?: DataFrame;
}

function scoped(df: DataFrame, scope: BundleScope): DataFrame {
  return scope.users ? df.join(scope.users.select('user_idx'), 'user_idx', 'semi') : df;
}

/** Recent purchases (newest first, at most HISTORY_LIMIT) and counters of every buyer in scope. */
function profiles(ctx: BatchContext, scope: BundleScope): DataFrame {
  const all = scoped(delta(ctx.spark, ctx.lake.silver.purchases), scope);
  const upTo = scope.through === undefined ? all : all.where(col('t_dat').leq(F.to_date(lit(scope.through))));
  const purchases = upTo.join(
    delta(ctx.spark, ctx.lake.silver.items).select('item_idx', 'product_group_name', 'product_type_name'),
    'item_idx',
  );
  const newestFirst = Window.partitionBy('user_idx').orderBy(col('t_dat').desc(), col('item_idx').asc());
  const recent = purchases
    .withColumn('rn', F.row_number().over(newestFirst))
    .where(col('rn').leq(HISTORY_LIMIT))
    .groupBy('user_idx')
    .agg(F.sort_array(F.collect_list(F.struct('rn', 'item_idx', 't_dat'))).alias('recent'));
  const totals = purchases
    .groupBy('user_idx')
    .agg(F.count().alias('total'), F.min('t_dat').alias('first_day'), F.max('t_dat').alias('last_day'));
  const counts = (column: string, alias: string) =>
    purchases
      .groupBy('user_idx', column)
      .agg(F.count().alias('n'))
      .groupBy('user_idx')
      .agg(F.collect_list(F.struct(col(column).alias('name'), col('n'))).alias(alias));
  return totals
    .join(recent, 'user_idx')
    .join(counts('product_group_name', 'groups'), 'user_idx')
    .join(counts('product_type_name', 'types'), 'user_idx');
}

function namedCounts(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (value ?? []) as Array<{ name: string; n: number }>) out[entry.name] = Number(entry.n);
  return out;
}

function profileSeed(row: Row): UserProfileSeed {
  const recent = (row['recent'] ?? []) as Array<{ item_idx: number; t_dat: Date }>;
  return {
    userIdx: Number(row['user_idx']),
    recent: recent.map((p) => ({ item_idx: Number(p.item_idx), ts: isoTime(p.t_dat) })),
    counters: {
      total_purchases: Number(row['total']),
      first_purchase_at: row['first_day'] ? isoTime(row['first_day']) : null,
      last_purchase_at: row['last_day'] ? isoTime(row['last_day']) : null,
      product_groups: namedCounts(row['groups']),
      product_types: namedCounts(row['types']),
    },
  };
}

export interface BundleTarget {
  modelsDir: string;
  version: string;
  rank: number;
  createdAt: string;
  trending: TrendingLists;
  metrics?: Record<string, number>;
  trainedThrough?: string;
  evaluatedVersion?: string;
}

/** Writes `<modelsDir>/<version>/` from the lake (bounded memory) and returns its directory. */
export async function writeBundle(
  ctx: BatchContext,
  target: BundleTarget,
  scope: BundleScope = {},
): Promise<string> {
  const { spark, lake } = ctx;
  const { version, rank, createdAt, metrics = {} } = target;
  const writer = await BundleWriter.create(target.modelsDir, {
    version,
    rank,
    created_at: createdAt,
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
    ...(target.trainedThrough ? { trained_through: target.trainedThrough } : {}),
    ...(target.evaluatedVersion ? { evaluated_version: target.evaluatedVersion } : {}),
  });
  try {
    let n = 0;
    const items = delta(spark, lake.gold.itemFactors(version))
      .join(delta(spark, lake.silver.items), 'item_idx')
      .select('item_idx', 'features', ...ITEM_PAYLOAD_COLUMNS);
    for await (const rows of chunks(items, ctx.signal)) {
      const points = rows.map((row): ItemPoint => {
        const id = Number(row['item_idx']);
        const payload = { item_idx: id } as Record<string, unknown>;
        for (const c of ITEM_PAYLOAD_COLUMNS) payload[c] = String(row[c] ?? '');
        return {
          id,
          vector: toVector(row['features'], rank, `item ${id}`),
          payload: payload as unknown as ItemMetadata,
        };
      });
      await writer.appendItems(points);
      n += points.length;
      ctx.note(`bundle: ${n} item vectors`);
    }
    n = 0;
    for await (const rows of chunks(
      scoped(delta(spark, lake.gold.userFactors(version)), scope),
      ctx.signal,
    )) {
      await writer.appendUserVectors(
        rows.map((row): [number, Float32Array] => {
          const id = Number(row['user_idx']);
          return [id, toVector(row['features'], rank, `user ${id}`)];
        }),
      );
      n += rows.length;
      ctx.note(`bundle: ${n} user vectors`);
    }
    for await (const rows of chunks(scoped(delta(spark, lake.silver.userIds), scope), ctx.signal)) {
      await writer.appendUserIds(
        rows.map((r): [string, number] => [String(r['customer_id']), Number(r['user_idx'])]),
      );
    }
    for await (const rows of chunks(scoped(userSegments(ctx), scope), ctx.signal)) {
      await writer.appendUserSegments(
        rows.map((r): [string, number] => [String(r['segment']), Number(r['user_idx'])]),
      );
    }
    for await (const rows of chunks(delta(spark, lake.silver.itemIds), ctx.signal)) {
      await writer.appendItemIds(
        rows.map((r): [string, number] => [String(r['article_id']), Number(r['item_idx'])]),
      );
    }
    n = 0;
    for await (const rows of chunks(profiles(ctx, scope), ctx.signal)) {
      await writer.appendProfiles(rows.map(profileSeed));
      n += rows.length;
      ctx.note(`bundle: ${n} user profiles`);
    }
    writer.setTrending(target.trending);
    await writer.finish();
    return writer.dir;
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Removes bundles older than `keep` (the previous version) from MODELS_DIR. */
async function pruneBundles(modelsDir: string, current: string): Promise<string[]> {
  const versions = (await listBundles(modelsDir)).filter((v) => v <= current);
  const older = versions.filter((v) => v < current);
  const previous = older[older.length - 1];
  const removed = older.filter((v) => v !== previous);
  for (const v of removed) await rm(join(modelsDir, v), { recursive: true, force: true });
  return removed;
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { config, logger, paths } = ctx;
  const record = await currentVersion(ctx);
  const { version } = record;
  const existing = (await listBundles(paths.models)).includes(version);
  const bundleDir = existing
    ? join(paths.models, version)
    : await writeBundle(ctx, {
        modelsDir: paths.models,
        version,
        rank: record.rank,
        createdAt: record.created_at,
        trending: await readTrending(ctx, version),
        metrics: await readMetrics(ctx, version),
        trainedThrough: record.train_end,
        ...(record.evaluated_version ? { evaluatedVersion: record.evaluated_version } : {}),
      });
  const bundle = await BundleReader.open(bundleDir);
  const { users, items } = bundle.info;
  ctx.print(
    `  bundle ${bundleDir} ${existing ? '(already complete, reused)' : 'written'}: ${items} items, ${users} users`,
  );

  const inProcess = config.adapters.featureStore === 'memory' && config.adapters.vectorIndex === 'embedded';
  let published = 'serving loads the bundle at start (FEATURE_STORE=memory, VECTOR_INDEX=embedded)';
  if (!inProcess) {
    const featureStore = createFeatureStore(config, logger);
    const vectorIndex = createVectorIndex(config, logger);
    try {
      await featureStore.start();
      await vectorIndex.start();
      const result = await publishVersion({
        featureStore,
        vectorIndex,
        bundleDir,
        keepPrevious: true,
        logger,
        onProgress: (p) => ctx.note(`publish ${p.step}: ${p.done}/${p.total}`),
      });
      published =
        `published to ${featureStore.kind} + ${vectorIndex.kind} and activated` +
        (result.dropped.length ? `; dropped ${result.dropped.join(', ')}` : '');
    } finally {
      await vectorIndex.close().catch(() => undefined);
      await featureStore.close().catch(() => undefined);
    }
  }
  const pruned = await pruneBundles(paths.models, version);
  return {
    rows: users + items,
    summary: `${version}: ${items} items, ${users} users; ${published}${pruned.length ? `; removed bundles ${pruned.join(', ')}` : ''}`,
  };
}

export const loadStep: BatchStep = {
  name: 'load',
  description: 'model bundle on disk, then publish to the configured stores and switch serving atomically',
  run,
};
