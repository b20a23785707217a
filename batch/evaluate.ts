/**
 * Step `evaluate`: offline quality of a model version on the hold-out period, against the
 * trending baseline (the most-bought items of the last TRENDING_DAYS of the training period).
 *
 * Users: those who bought something in the hold-out and have a user vector (ALS cannot score the
 * others; their count is reported), sampled deterministically down to EVAL_MAX_USERS. Spark
 * computes each user's ranked ALS list (`recommendForUserSubset`); the metrics are computed here
 * (metrics.ts), both as ranked and with the user's training purchases excluded. Results go to
 * the `gold/metrics` table (replacing earlier rows of the version) and the summary.
 *
 * Quality gate (`--min-map-ratio R`): fails the step when ALS MAP@12 < R × trending MAP@12, in
 * the variant serving uses (EXCLUDE_PURCHASED).
 */
import { ALSModel, col, type DataFrame, expr, functions as F, lit } from '../lib/spark-connect/index.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import { type RankingMetrics, rankingMetrics, topKExcluding, type UserLists } from './metrics.ts';
import { addDays, readSplit } from './preprocess.ts';
import { delta, deltaIfExists, sqlString } from './spark.ts';
import { currentVersion } from './versions.ts';

export const K = 12;
/**
 * Extra candidates fetched per user so that K remain after excluding training purchases. Users
 * who bought more distinct items than this may end up with fewer than K (rare; documented).
 */
export const EXCLUSION_HEADROOM = 200;

export interface MetricRow {
  version: string;
  model: 'als' | 'trending';
  exclude_purchased: boolean;
  map_at_12: number;
  recall_at_12: number;
  ndcg_at_12: number;
  coverage: number;
  users: number;
  evaluated_at: string;
}

const METRICS_DDL =
  'version STRING, model STRING, exclude_purchased BOOLEAN, map_at_12 DOUBLE, recall_at_12 DOUBLE, ' +
  'ndcg_at_12 DOUBLE, coverage DOUBLE, users BIGINT, evaluated_at STRING';

/** Hold-out users with a vector, sampled by a stable hash when there are more than `max`. */
export function evaluationUsers(ctx: BatchContext, version: string, max: number): DataFrame {
  const withVector = delta(ctx.spark, ctx.lake.silver.holdout)
    .select('user_idx')
    .distinct()
    .join(delta(ctx.spark, ctx.lake.gold.userFactors(version)).select('user_idx'), 'user_idx', 'semi');
  if (max <= 0) return withVector;
  return withVector.orderBy(F.hash(col('user_idx'), lit(ctx.config.model.seed)), col('user_idx')).limit(max);
}

interface EvalRow {
  user_idx: number;
  recs: number[];
  bought: number[] | null;
  actual: number[];
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { spark, lake, config } = ctx;
  const record = await currentVersion(ctx);
  const version = record.version;
  const split = await readSplit(ctx);
  if (split.holdoutDays === 0) {
    return { rows: 0, summary: 'skipped: no hold-out period (HOLDOUT_DAYS=0)' };
  }

  const holdoutUsers = await delta(spark, lake.silver.holdout).select('user_idx').distinct().count();
  const users = evaluationUsers(ctx, version, config.batch.evalMaxUsers);
  // Training purchases (not clicks) per user: what "exclude already-purchased" removes.
  const bought = delta(spark, lake.silver.interactions)
    .where(col('purchases').gt(0))
    .groupBy('user_idx')
    .agg(F.collect_set('item_idx').alias('bought'));
  const actual = delta(spark, lake.silver.holdout)
    .groupBy('user_idx')
    .agg(F.collect_set('item_idx').alias('actual'));

  ctx.note(`ranking items for hold-out users with ALS (${version})`);
  const model = await ALSModel.load(spark, lake.gold.sparkModel(version));
  let rows: EvalRow[];
  try {
    const recs = model
      .recommendForUserSubset(users, K + EXCLUSION_HEADROOM)
      .select(col('user_idx'), expr('transform(recommendations, r -> r.item_idx)').alias('recs'));
    rows = await recs
      .join(actual, 'user_idx')
      .join(bought, 'user_idx', 'left')
      .select('user_idx', 'recs', 'bought', 'actual')
      .collect<EvalRow & Record<string, unknown>>();
  } finally {
    await model.dispose();
  }
  if (rows.length === 0) throw new BatchError('no hold-out user has a user vector; nothing to evaluate');

  // Trending baseline, from the training period only.
  const trendingFrom = addDays(split.trainEnd, -config.model.trendingDays);
  const trending = (
    await delta(spark, lake.silver.purchases)
      .where(
        col('t_dat')
          .gt(expr(`DATE ${sqlString(trendingFrom)}`))
          .and(col('t_dat').leq(expr(`DATE ${sqlString(split.trainEnd)}`))),
      )
      .groupBy('item_idx')
      .agg(F.count().alias('n'))
      .orderBy(col('n').desc(), col('item_idx').asc())
      .limit(K + EXCLUSION_HEADROOM)
      .collect()
  ).map((r) => Number(r['item_idx']));
  const catalogue = await delta(spark, lake.silver.items).count();

  const lists = (ranked: (row: EvalRow) => readonly number[], exclude: boolean): UserLists[] =>
    rows.map((row) => ({
      recommended: exclude
        ? topKExcluding(ranked(row), new Set(row.bought ?? []), K)
        : ranked(row).slice(0, K),
      actual: row.actual,
    }));
  const evaluatedAt = new Date().toISOString();
  const results: MetricRow[] = [];
  for (const model of ['als', 'trending'] as const) {
    for (const exclude of [false, true]) {
      const ranked = model === 'als' ? (row: EvalRow) => row.recs : () => trending;
      const m = rankingMetrics(lists(ranked, exclude), K, catalogue);
      results.push(metricRow(version, model, exclude, m, evaluatedAt));
    }
  }

  const df = await spark.createDataFrame(results, METRICS_DDL);
  await df.write
    .format('delta')
    .mode('overwrite')
    .option('replaceWhere', `version = ${sqlString(version)}`)
    .save(lake.gold.metrics);

  ctx.print(metricsTable(results));

  const served = config.api.excludePurchased;
  const als = results.find((r) => r.model === 'als' && r.exclude_purchased === served)!;
  const base = results.find((r) => r.model === 'trending' && r.exclude_purchased === served)!;
  const ratio = base.map_at_12 > 0 ? als.map_at_12 / base.map_at_12 : Number.POSITIVE_INFINITY;
  const shownRatio = Number.isFinite(ratio) ? `×${ratio.toFixed(2)}` : 'baseline 0';
  const summary =
    `${rows.length} of ${holdoutUsers} hold-out users; MAP@12 ALS ${als.map_at_12.toFixed(4)} vs trending ` +
    `${base.map_at_12.toFixed(4)} (${shownRatio}, exclude_purchased=${served})`;
  const gate = ctx.options.minMapRatio;
  if (gate !== undefined && ratio < gate) {
    throw new BatchError(
      `quality gate failed: ALS MAP@12 ${als.map_at_12.toFixed(4)} is ×${ratio.toFixed(2)} of the trending ` +
        `baseline ${base.map_at_12.toFixed(4)}; --min-map-ratio asks for ×${gate}`,
    );
  }
  return { rows: rows.length, summary };
}

function metricRow(
  version: string,
  model: MetricRow['model'],
  exclude: boolean,
  m: RankingMetrics,
  evaluatedAt: string,
): MetricRow {
  return {
    version,
    model,
    exclude_purchased: exclude,
    map_at_12: m.map,
    recall_at_12: m.recall,
    ndcg_at_12: m.ndcg,
    coverage: m.coverage,
    users: m.users,
    evaluated_at: evaluatedAt,
  };
}

/** The metrics as a small aligned table. */
export function metricsTable(rows: MetricRow[]): string {
  const lines = ['model     exclude  MAP@12   Recall@12  NDCG@12  coverage  users'];
  for (const r of rows) {
    lines.push(
      `${r.model.padEnd(9)} ${String(r.exclude_purchased).padEnd(8)} ${r.map_at_12.toFixed(4).padStart(6)}   ` +
        `${r.recall_at_12.toFixed(4).padStart(9)}  ${r.ndcg_at_12.toFixed(4).padStart(7)}  ` +
        `${r.coverage.toFixed(4).padStart(8)}  ${r.users}`,
    );
  }
  return lines.join('\n');
}

/** The metrics of `version` keyed `<model>_<metric>[_excl]`, for the model version info. */
export async function readMetrics(ctx: BatchContext, version: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // No metrics table yet (evaluate skipped): the version simply carries none.
  const table = await deltaIfExists(ctx.spark, ctx.lake.gold.metrics);
  if (!table) return out;
  for (const r of await table.where(col('version').eq(version)).collect()) {
    const suffix = r['exclude_purchased'] ? '_excl' : '';
    for (const metric of ['map_at_12', 'recall_at_12', 'ndcg_at_12', 'coverage'] as const) {
      out[`${r['model']}_${metric}${suffix}`] = Number(r[metric]);
    }
  }
  return out;
}

export const evaluateStep: BatchStep = {
  name: 'evaluate',
  description: 'MAP@12, Recall@12, NDCG@12, coverage of ALS and the trending baseline on the hold-out',
  run,
};
