/**
 * Step `preprocess`: bronze → silver.
 *
 * - id maps `customer_id → user_idx`, `article_id → item_idx` (dense, stable: see id-maps.ts);
 * - item metadata (the payload the vector index stores beside each item);
 * - every purchase with dense ids: transactions plus purchases the stream archiver put into
 *   `bronze/events` (that table may not exist yet: then only transactions);
 * - the time split: the last `HOLDOUT_DAYS` days are held out for evaluation;
 * - training interactions: one row per (user, item) before the hold-out, weighted by purchase
 *   count and recency — each purchase counts 0.5^(age / DECAY_HALF_LIFE_DAYS) at the end of the
 *   training period (no decay when the half-life is 0); archived clicks and add-to-carts count
 *   with `BATCH_WEIGHT_CLICK` / `BATCH_WEIGHT_ADD_TO_CART`;
 * - the same over every day, hold-out included, decayed to the last day (`interactions_all`):
 *   what the `refit` step trains the served model on.
 */
import { col, type DataFrame, expr, functions as F, lit } from '../lib/spark-connect/index.ts';
import { ITEM_STRING_FIELDS } from '../lib/stores/bundle.ts';
import type { FeatureStore, IdKind } from '../lib/stores/feature-store.ts';
import { createFeatureStore } from '../lib/stores/index.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import { adoptIds, extendIdMapShared, idPairsFrame, type SharedIdMapUpdate } from './id-maps.ts';
import { delta, deltaIfExists, sqlString } from './spark.ts';

/** Item payload columns, in the order the vector index and the bundle store them. */
export const ITEM_PAYLOAD_COLUMNS = ITEM_STRING_FIELDS;

export interface Split {
  /** Last day with a purchase. */
  lastDay: string;
  /** Last day of the training period (= lastDay − HOLDOUT_DAYS). */
  trainEnd: string;
  holdoutDays: number;
}

function isoDay(value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  throw new BatchError(`expected a date, got ${JSON.stringify(value)}`);
}

export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Decay factor of an event on `dayColumn`, relative to `referenceDay`. */
export function decayExpression(dayColumn: string, referenceDay: string, halfLifeDays: number): string {
  if (halfLifeDays <= 0) return '1.0D';
  return `pow(0.5D, datediff(DATE ${sqlString(referenceDay)}, ${dayColumn}) / ${halfLifeDays.toFixed(6)}D)`;
}

/**
 * The archived stream events (`event_type`, `user_idx`, `item_idx`, `t_dat`, `ts`), valid ones
 * once per event id, or undefined when the archiver has written none.
 */
export async function archivedEvents(ctx: BatchContext): Promise<DataFrame | undefined> {
  const events = await deltaIfExists(ctx.spark, ctx.lake.bronze.events);
  if (!events) return undefined;
  // The archiver keeps rows it could not parse (is_valid = false) and Kafka may deliver an event
  // twice: keep valid rows, once per event_id.
  const columns = await events.columns();
  const valid = columns.includes('is_valid') ? events.where(col('is_valid')) : events;
  return valid
    .where(col('event_id').isNotNull())
    .dropDuplicates(['event_id'])
    .select(
      col('event_type'),
      col('user_idx').cast('int').alias('user_idx'),
      col('item_idx').cast('int').alias('item_idx'),
      F.to_date(col('ts')).alias('t_dat'),
      col('ts'),
    );
}

/**
 * The (key, idx) pairs the live system numbered: from archived events that carry the original
 * id, and from the feature store's numbering when it is shared (`store`: Redis) — the in-process
 * store of `npm start` lives in the API's process, so there the archive is the only source.
 */
async function liveIdPairs(
  ctx: BatchContext,
  store: FeatureStore | undefined,
  kind: IdKind,
  keyColumn: string,
  idxColumn: string,
): Promise<DataFrame | undefined> {
  const sources: DataFrame[] = [];
  const events = await deltaIfExists(ctx.spark, ctx.lake.bronze.events);
  if (events && (await events.columns()).includes(keyColumn)) {
    sources.push(
      events
        .where(col('is_valid'))
        .where(col(keyColumn).isNotNull())
        .select(col(keyColumn), col(idxColumn).cast('int').alias(idxColumn)),
    );
  }
  const live = store ? await store.liveIds(kind) : [];
  if (live.length > 0) {
    sources.push(await idPairsFrame(ctx.spark, live, keyColumn, idxColumn));
  }
  return sources.length === 0 ? undefined : sources.reduce((a, b) => a.union(b));
}

/**
 * Drops from the feature store's live numbers those the lake's map now holds, so what the next
 * batch reads and adopts stays as small as what it still has to adopt (numbers given after this
 * step read the map are not in it, and stay).
 */
async function forgetAdopted(
  ctx: BatchContext,
  store: FeatureStore,
  kind: IdKind,
  location: string,
  keyColumn: string,
  idxColumn: string,
): Promise<void> {
  const live = await store.liveIds(kind);
  if (live.length === 0) return;
  const pairs = await idPairsFrame(ctx.spark, live, keyColumn, idxColumn);
  const held = (await pairs.join(delta(ctx.spark, location), [keyColumn, idxColumn], 'semi').collect()).map(
    (row): [string, number] => [String(row[keyColumn]), Number(row[idxColumn])],
  );
  const dropped = await store.forgetLiveIds(kind, held);
  ctx.logger.debug({ kind, live: live.length, dropped }, 'live numbers the id map holds forgotten');
}

/**
 * Brings the id maps up to date: first the numbers the live system gave to customers and
 * articles it had never seen (from the archived events and, with a shared feature store, from its
 * numbering), then the batch's own new ids — numbered by the shared store's counter when there
 * is one, so that live numbering while the batch runs cannot clash (see `extendIdMapShared`).
 */
async function updateIdMaps(
  ctx: BatchContext,
  store: FeatureStore | undefined,
): Promise<Record<IdKind, SharedIdMapUpdate>> {
  const { spark, lake } = ctx;
  const customers = delta(spark, lake.bronze.customers);
  const transactions = delta(spark, lake.bronze.transactions);
  const maps = [
    {
      kind: 'user' as const,
      keyColumn: 'customer_id',
      idxColumn: 'user_idx',
      location: lake.silver.userIds,
      keys: customers.select('customer_id').union(transactions.select('customer_id')),
    },
    {
      kind: 'item' as const,
      keyColumn: 'article_id',
      idxColumn: 'item_idx',
      location: lake.silver.itemIds,
      keys: delta(spark, lake.bronze.articles),
    },
  ];
  const updates = {} as Record<IdKind, SharedIdMapUpdate>;
  for (const { kind, keyColumn, idxColumn, location, keys } of maps) {
    const pairs = await liveIdPairs(ctx, store, kind, keyColumn, idxColumn);
    if (pairs) {
      const adoption = await adoptIds(spark, location, pairs, keyColumn, idxColumn);
      if (adoption.adopted + adoption.conflicts > 0) {
        ctx.note(
          `${kind} ids numbered live: ${adoption.adopted} adopted, ${adoption.conflicts} conflicting left out`,
        );
      }
      if (adoption.conflicts > 0) {
        ctx.logger.warn(
          { kind, conflicts: adoption.conflicts },
          'live id numbers that clash with the id map were left out',
        );
      }
    }
    const assign = store ? (batch: string[]) => store.assignIds(kind, batch) : undefined;
    const update = await extendIdMapShared(spark, location, keys, keyColumn, idxColumn, assign);
    const by =
      update.added > 0 && update.numberedBy === 'feature-store' ? ', numbered by the feature store' : '';
    ctx.note(`${kind} ids: ${update.total} (${update.added} new${by})`);
    updates[kind] = update;
    if (store) await forgetAdopted(ctx, store, kind, location, keyColumn, idxColumn);
  }
  return updates;
}

export async function readSplit(ctx: BatchContext): Promise<Split> {
  const [row] = await delta(ctx.spark, ctx.lake.silver.split).collect();
  if (!row) throw new BatchError(`no split in ${ctx.lake.silver.split}; run the preprocess step first`);
  return {
    lastDay: isoDay(row['last_day']),
    trainEnd: isoDay(row['train_end']),
    holdoutDays: Number(row['holdout_days']),
  };
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { spark, lake, config } = ctx;
  const articles = delta(spark, lake.bronze.articles);
  const transactions = delta(spark, lake.bronze.transactions);

  // --- id maps (append-only) ---------------------------------------------------------------
  // With a shared feature store (Redis) the live system numbers new ids too: read its numbers
  // and number through its counter (the in-process store of `npm start` is the API's own).
  const store = config.adapters.featureStore === 'redis' ? createFeatureStore(config, ctx.logger) : undefined;
  let ids: Record<IdKind, SharedIdMapUpdate>;
  try {
    await store?.start();
    ids = await updateIdMaps(ctx, store);
  } finally {
    await store?.close().catch(() => undefined);
  }
  const userIds = delta(spark, lake.silver.userIds);
  const itemIds = delta(spark, lake.silver.itemIds);

  // --- item metadata -------------------------------------------------------------------------
  await articles
    .join(itemIds, 'article_id')
    .select(col('item_idx'), ...ITEM_PAYLOAD_COLUMNS.map((c) => F.coalesce(col(c), lit('')).alias(c)))
    .write.format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.silver.items);

  // --- purchases -----------------------------------------------------------------------------
  const fromTransactions = transactions
    .join(userIds, 'customer_id')
    .join(itemIds, 'article_id')
    .select(col('user_idx'), col('item_idx'), col('t_dat'), lit('transactions').alias('source'));
  const events = await archivedEvents(ctx);
  // Events name ids from these maps; drop any that do not resolve (e.g. ids of a wiped lake).
  const knownEvents = events
    ?.join(userIds.select('user_idx'), 'user_idx', 'semi')
    .join(itemIds.select('item_idx'), 'item_idx', 'semi');
  const purchases = knownEvents
    ? fromTransactions.union(
        knownEvents
          .where(col('event_type').eq('purchase'))
          .select(col('user_idx'), col('item_idx'), col('t_dat'), lit('events').alias('source')),
      )
    : fromTransactions;
  await purchases.write
    .format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.silver.purchases);
  const allPurchases = delta(spark, lake.silver.purchases);

  // --- split -----------------------------------------------------------------------------------
  const [stats] = await allPurchases
    .agg(F.min('t_dat').alias('first_day'), F.max('t_dat').alias('last_day'), F.count().alias('n'))
    .collect();
  const purchaseRows = Number(stats?.['n'] ?? 0);
  if (purchaseRows === 0)
    throw new BatchError('there are no purchases to learn from (bronze/transactions is empty)');
  const firstDay = isoDay(stats?.['first_day']);
  const lastDay = isoDay(stats?.['last_day']);
  const holdoutDays = config.model.holdoutDays;
  const trainEnd = addDays(lastDay, -holdoutDays);
  // Training takes the days up to trainEnd: a hold-out that covers every purchase day leaves ALS
  // nothing to learn from (Spark would fail later with "No ratings available").
  if (holdoutDays > 0 && trainEnd < firstDay) {
    throw new BatchError(
      `HOLDOUT_DAYS=${holdoutDays} holds out ${addDays(trainEnd, 1)}..${lastDay}, but the purchases span only ` +
        `${firstDay}..${lastDay}: no day is left to train on; set HOLDOUT_DAYS below the span ` +
        `(or 0 to train on everything without a hold-out)`,
    );
  }
  await spark
    .range(1)
    .select(
      expr(`DATE ${sqlString(lastDay)}`).alias('last_day'),
      expr(`DATE ${sqlString(trainEnd)}`).alias('train_end'),
      lit(holdoutDays).cast('int').alias('holdout_days'),
      lit(config.model.decayHalfLifeDays).cast('double').alias('decay_half_life_days'),
    )
    .write.format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.silver.split);

  // --- training interactions -----------------------------------------------------------------
  const interactionsUpTo = (endDay: string): DataFrame => {
    const weights = config.batch.eventWeights;
    const purchases = allPurchases
      .where(col('t_dat').leq(expr(`DATE ${sqlString(endDay)}`)))
      .select(
        col('user_idx'),
        col('item_idx'),
        col('t_dat'),
        lit(1).cast('double').alias('base'),
        lit(1).alias('is_purchase'),
      );
    const others = knownEvents
      ?.where(col('event_type').isin('click', 'add_to_cart'))
      .where(col('t_dat').leq(expr(`DATE ${sqlString(endDay)}`)))
      .select(
        col('user_idx'),
        col('item_idx'),
        col('t_dat'),
        F.when(col('event_type').eq('click'), lit(weights.click))
          .otherwise(lit(weights.add_to_cart))
          .cast('double')
          .alias('base'),
        lit(0).alias('is_purchase'),
      );
    return (others ? purchases.union(others) : purchases)
      .withColumn(
        'w',
        col('base').multiply(expr(decayExpression('t_dat', endDay, config.model.decayHalfLifeDays))),
      )
      .groupBy('user_idx', 'item_idx')
      .agg(
        F.sum('w').cast('float').alias('weight'),
        F.sum('is_purchase').cast('int').alias('purchases'),
        F.max('t_dat').alias('last_day'),
      )
      .where(col('weight').gt(0));
  };
  await interactionsUpTo(trainEnd)
    .write.format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.silver.interactions);
  // Every day, hold-out included, decayed to the last day: what the refit step trains on.
  await (holdoutDays === 0 ? delta(spark, lake.silver.interactions) : interactionsUpTo(lastDay)).write
    .format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.silver.interactionsAll);

  // --- hold-out --------------------------------------------------------------------------------
  await allPurchases
    .where(col('t_dat').gt(expr(`DATE ${sqlString(trainEnd)}`)))
    .select('user_idx', 'item_idx')
    .distinct()
    .write.format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.silver.holdout);

  const [counts] = await delta(spark, lake.silver.interactions)
    .agg(F.count().alias('pairs'), F.countDistinct('user_idx').alias('users'))
    .collect();
  const holdoutPairs = await delta(spark, lake.silver.holdout).count();
  const pairs = Number(counts?.['pairs'] ?? 0);
  return {
    rows: pairs,
    summary:
      `${ids.user.total} users (+${ids.user.added}), ${ids.item.total} items (+${ids.item.added}), ` +
      `${purchaseRows} purchases${events ? ' incl. archived events' : ''}; train ≤ ${trainEnd}: ` +
      `${pairs} pairs of ${Number(counts?.['users'] ?? 0)} users; hold-out ${holdoutDays} d: ${holdoutPairs} pairs`,
  };
}

export const preprocessStep: BatchStep = {
  name: 'preprocess',
  description: 'id maps, item metadata, purchases, time split, weighted interactions (silver)',
  run,
};
