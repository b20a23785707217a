/**
 * Step `trending`: the most-bought items of the last TRENDING_DAYS days (up to the last day with
 * a purchase), globally and per product group, for a model version. Only items with a vector in
 * that version are listed, so serving can always show their payload and score them. Lists go to
 * `gold/trending` (replacing the version's earlier rows); `load` puts them into the bundle and
 * the feature store.
 *
 * The step runs before `load` (the architecture sketch drew it after): the bundle is immutable
 * once written, so its trending lists must exist when it is written.
 */
import { col, functions as F, lit, Window } from '../lib/spark-connect/index.ts';
import type { TrendingLists } from '../lib/stores/bundle.ts';
import type { BatchContext, BatchStep, StepResult } from './context.ts';
import { addDays, readSplit } from './preprocess.ts';
import { delta, deltaIfExists, sqlString } from './spark.ts';
import { currentVersion } from './versions.ts';

/** Items per trending list. */
export const TRENDING_SIZE = 100;

/** Scope value of the global list in `gold/trending`. */
const GLOBAL = '__global__';

async function run(ctx: BatchContext): Promise<StepResult> {
  const { spark, lake, config } = ctx;
  const { version } = await currentVersion(ctx);
  const split = await readSplit(ctx);
  const from = addDays(split.lastDay, -config.model.trendingDays);

  const counts = delta(spark, lake.silver.purchases)
    .where(col('t_dat').gt(F.to_date(lit(from))))
    .groupBy('item_idx')
    .agg(F.count().alias('purchases'))
    .join(delta(spark, lake.gold.itemFactors(version)).select('item_idx'), 'item_idx', 'semi')
    .join(delta(spark, lake.silver.items).select('item_idx', 'product_group_name'), 'item_idx');
  const ranked = (scope: ReturnType<typeof col>) =>
    F.row_number().over(Window.partitionBy(scope).orderBy(col('purchases').desc(), col('item_idx').asc()));
  const global = counts
    .withColumn('scope', lit(GLOBAL))
    .withColumn('rank', ranked(col('scope')))
    .where(col('rank').leq(TRENDING_SIZE));
  const groups = counts
    .withColumn('scope', col('product_group_name'))
    .withColumn('rank', ranked(col('scope')))
    .where(col('rank').leq(TRENDING_SIZE));
  await global
    .union(groups)
    .select(
      lit(version).alias('version'),
      col('scope'),
      col('rank').cast('int').alias('rank'),
      col('item_idx'),
      col('purchases').cast('long').alias('purchases'),
    )
    .write.format('delta')
    .mode('overwrite')
    .option('replaceWhere', `version = ${sqlString(version)}`)
    .save(lake.gold.trending);

  const lists = await readTrending(ctx, version);
  const groupCount = Object.keys(lists.groups).length;
  const rows = lists.global.length + Object.values(lists.groups).reduce((n, l) => n + l.length, 0);
  return {
    rows,
    summary: `${lists.global.length} global + ${groupCount} product-group lists (${config.model.trendingDays} days to ${split.lastDay}) for ${version}`,
  };
}

/** The trending lists of `version` (empty when the step has not run for it). */
export async function readTrending(ctx: BatchContext, version: string): Promise<TrendingLists> {
  const out: TrendingLists = { global: [], groups: {} };
  const table = await deltaIfExists(ctx.spark, ctx.lake.gold.trending);
  if (!table) return out;
  const rows = await table
    .where(col('version').eq(version))
    .orderBy(col('scope').asc(), col('rank').asc())
    .select('scope', 'item_idx')
    .collect();
  for (const row of rows) {
    const scope = String(row['scope']);
    const item = Number(row['item_idx']);
    if (scope === GLOBAL) out.global.push(item);
    else {
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
