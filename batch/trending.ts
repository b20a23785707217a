/**
 * Step `trending`: the most-bought items of the last TRENDING_DAYS days (up to the last day with
 * a purchase), each purchase weighted by its recency (TRENDING_HALF_LIFE_DAYS), globally, per
 * product group and per customer segment (age band, lib/segments.ts), for a model version. Only items with a vector in
 * that version are listed, so serving can always show their payload and score them. Lists go to
 * `gold/trending` (replacing the version's earlier rows); `load` puts them into the bundle and
 * the feature store.
 *
 * The step runs before `load` (the architecture sketch drew it after): the bundle is immutable
 * once written, so its trending lists must exist when it is written.
 */

import { ageSegmentSql } from '../lib/segments.ts';
import { col, type DataFrame, expr, functions as F, lit, Window } from '../lib/spark-connect/index.ts';
import type { TrendingLists } from '../lib/stores/bundle.ts';
import type { BatchContext, BatchStep, StepResult } from './context.ts';
import { addDays, decayExpression, readSplit } from './preprocess.ts';
import { delta, deltaIfExists, sqlString } from './spark.ts';
import { currentVersion } from './versions.ts';

/** Items per trending list. */
export const TRENDING_SIZE = 100;

/** Scope value of the global list in `gold/trending`. */
const GLOBAL = '__global__';
/** Scope prefix of a customer segment's list in `gold/trending` (`__segment__:age:25-34`). */
const SEGMENT_PREFIX = '__segment__:';

/**
 * Each user's customer segment (`user_idx`, `segment`): the age band of the customer's age in
 * `bronze/customers`, for the customers that give one.
 */
export function userSegments(ctx: BatchContext): DataFrame {
  const { spark, lake } = ctx;
  return delta(spark, lake.silver.userIds)
    .join(delta(spark, lake.bronze.customers).select('customer_id', 'age'), 'customer_id')
    .select(col('user_idx'), expr(ageSegmentSql('age')).alias('segment'))
    .where(col('segment').isNotNull());
}

/**
 * The ranked trending rows (`scope`, `rank`, `item_idx`, `purchases`) of `version` over the
 * TRENDING_DAYS days up to and including `lastDay`: the batch step uses the last day with a
 * purchase, the evaluation the last training day (so nothing of the test days leaks into it).
 */
export function trendingRanks(ctx: BatchContext, version: string, lastDay: string): DataFrame {
  const { spark, lake, config } = ctx;
  const from = addDays(lastDay, -config.model.trendingDays);
  // Each purchase counts 0.5^(days before lastDay / TRENDING_HALF_LIFE_DAYS): the latest days'
  // bestsellers lead (every day counts the same with a half-life of 0).
  const weight = expr(decayExpression('t_dat', lastDay, config.model.trendingHalfLifeDays));
  const recent = delta(spark, lake.silver.purchases).where(
    col('t_dat')
      .gt(F.to_date(lit(from)))
      .and(col('t_dat').leq(F.to_date(lit(lastDay)))),
  );
  const served = delta(spark, lake.gold.itemFactors(version)).select('item_idx');
  const counts = recent
    .groupBy('item_idx')
    .agg(F.sum(weight).alias('score'), F.count().alias('purchases'))
    .join(served, 'item_idx', 'semi')
    .join(delta(spark, lake.silver.items).select('item_idx', 'product_group_name'), 'item_idx');
  // Per customer segment (the age band): the same counts over the segment's buyers.
  const bySegment = recent
    .join(userSegments(ctx), 'user_idx')
    .groupBy('segment', 'item_idx')
    .agg(F.sum(weight).alias('score'), F.count().alias('purchases'))
    .join(served, 'item_idx', 'semi');
  const ranked = (scope: ReturnType<typeof col>) =>
    F.row_number().over(
      Window.partitionBy(scope).orderBy(col('score').desc(), col('purchases').desc(), col('item_idx').asc()),
    );
  const global = counts
    .withColumn('scope', lit(GLOBAL))
    .withColumn('rank', ranked(col('scope')))
    .where(col('rank').leq(TRENDING_SIZE));
  const groups = counts
    .withColumn('scope', col('product_group_name'))
    .withColumn('rank', ranked(col('scope')))
    .where(col('rank').leq(TRENDING_SIZE));
  const segments = bySegment
    .withColumn('scope', F.concat(lit(SEGMENT_PREFIX), col('segment')))
    .withColumn('rank', ranked(col('scope')))
    .where(col('rank').leq(TRENDING_SIZE));
  const columns = ['scope', 'rank', 'item_idx', 'purchases'];
  return global
    .select(...columns)
    .union(groups.select(...columns))
    .union(segments.select(...columns))
    .select(
      col('scope'),
      col('rank').cast('int').alias('rank'),
      col('item_idx'),
      col('purchases').cast('long').alias('purchases'),
    );
}

/** The trending lists of `version` up to `lastDay`, computed without writing them anywhere. */
export async function computeTrending(
  ctx: BatchContext,
  version: string,
  lastDay: string,
): Promise<TrendingLists> {
  const rows = await trendingRanks(ctx, version, lastDay)
    .orderBy(col('scope').asc(), col('rank').asc())
    .select('scope', 'item_idx')
    .collect();
  return listsFromRows(rows);
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { lake, config } = ctx;
  const { version } = await currentVersion(ctx);
  const split = await readSplit(ctx);
  await trendingRanks(ctx, version, split.lastDay)
    .select(lit(version).alias('version'), col('scope'), col('rank'), col('item_idx'), col('purchases'))
    .write.format('delta')
    .mode('overwrite')
    .option('replaceWhere', `version = ${sqlString(version)}`)
    .save(lake.gold.trending);

  const lists = await readTrending(ctx, version);
  const groupCount = Object.keys(lists.groups).length;
  const segmentCount = Object.keys(lists.segments ?? {}).length;
  const rows =
    lists.global.length +
    [...Object.values(lists.groups), ...Object.values(lists.segments ?? {})].reduce(
      (n, l) => n + l.length,
      0,
    );
  return {
    rows,
    summary:
      `${lists.global.length} global + ${groupCount} product-group + ${segmentCount} customer-segment lists ` +
      `(${config.model.trendingDays} days to ${split.lastDay}) for ${version}`,
  };
}

/** The trending lists of `version` (empty when the step has not run for it). */
export async function readTrending(ctx: BatchContext, version: string): Promise<TrendingLists> {
  const table = await deltaIfExists(ctx.spark, ctx.lake.gold.trending);
  if (!table) return { global: [], groups: {} };
  const rows = await table
    .where(col('version').eq(version))
    .orderBy(col('scope').asc(), col('rank').asc())
    .select('scope', 'item_idx')
    .collect();
  return listsFromRows(rows);
}

function listsFromRows(rows: Array<Record<string, unknown>>): TrendingLists {
  const out: TrendingLists = { global: [], groups: {} };
  for (const row of rows) {
    const scope = String(row['scope']);
    const item = Number(row['item_idx']);
    if (scope === GLOBAL) out.global.push(item);
    else if (scope.startsWith(SEGMENT_PREFIX)) {
      const segments = out.segments ?? {};
      out.segments = segments;
      const name = scope.slice(SEGMENT_PREFIX.length);
      const list = segments[name] ?? [];
      list.push(item);
      segments[name] = list;
    } else {
      const list = out.groups[scope] ?? [];
      list.push(item);
      out.groups[scope] = list;
    }
  }
  return out;
}

export const trendingStep: BatchStep = {
  name: 'trending',
  description: `most-bought items of the last TRENDING_DAYS days, global and per product group`,
  run,
};
