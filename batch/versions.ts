/**
 * The registry of trained model versions: a Delta table with one row per `train-als` run
 * (hyper-parameters, sizes, timing). Steps after training work on the version the run just
 * trained, the one named by `--version`, or else the newest in the registry.
 */
import { col, functions as F } from '../lib/spark-connect/index.ts';
import { assertVersionName } from '../lib/stores/index.ts';
import { type BatchContext, BatchError } from './context.ts';
import { delta, deltaExists } from './spark.ts';

export interface VersionRecord {
  version: string;
  created_at: string;
  rank: number;
  max_iter: number;
  reg_param: number;
  alpha: number;
  seed: number;
  train_end: string;
  train_pairs: number;
  users: number;
  items: number;
  train_ms: number;
  /**
   * For a refit (trained on every day after the evaluation): the version trained on the training
   * period only, whose evaluation stands for this one. Null for an evaluated model itself.
   */
  evaluated_version: string | null;
}

/** Spark DDL of the registry table. */
export const VERSION_DDL =
  'version STRING, created_at STRING, rank INT, max_iter INT, reg_param DOUBLE, alpha DOUBLE, seed BIGINT, ' +
  'train_end STRING, train_pairs BIGINT, users BIGINT, items BIGINT, train_ms BIGINT, evaluated_version STRING';

export async function recordVersion(ctx: BatchContext, record: VersionRecord): Promise<void> {
  const df = await ctx.spark.createDataFrame([record], VERSION_DDL);
  // mergeSchema: registries written before `evaluated_version` existed gain the column.
  await df.write.format('delta').mode('append').option('mergeSchema', true).save(ctx.lake.gold.versions);
}

export async function readVersion(ctx: BatchContext, version: string): Promise<VersionRecord> {
  if (!(await deltaExists(ctx.spark, ctx.lake.gold.versions))) {
    throw new BatchError('no model has been trained yet; run the train-als step first');
  }
  const [row] = await delta(ctx.spark, ctx.lake.gold.versions)
    .where(col('version').eq(version))
    .limit(1)
    .collect();
  if (!row) throw new BatchError(`model version ${version} is not in ${ctx.lake.gold.versions}`);
  return {
    version: String(row['version']),
    created_at: String(row['created_at']),
    rank: Number(row['rank']),
    max_iter: Number(row['max_iter']),
    reg_param: Number(row['reg_param']),
    alpha: Number(row['alpha']),
    seed: Number(row['seed']),
    train_end: String(row['train_end']),
    train_pairs: Number(row['train_pairs']),
    users: Number(row['users']),
    items: Number(row['items']),
    train_ms: Number(row['train_ms']),
    evaluated_version: typeof row['evaluated_version'] === 'string' ? row['evaluated_version'] : null,
  };
}

export async function versionExists(ctx: BatchContext, version: string): Promise<boolean> {
  if (!(await deltaExists(ctx.spark, ctx.lake.gold.versions))) return false;
  return !(await delta(ctx.spark, ctx.lake.gold.versions).where(col('version').eq(version)).isEmpty());
}

/** The version this step works on: this run's, `--version`, or the newest trained. */
export async function currentVersion(ctx: BatchContext): Promise<VersionRecord> {
  const named = ctx.state.version ?? ctx.options.version;
  if (named !== undefined) {
    ctx.state.version = assertVersionName(named);
    return readVersion(ctx, named);
  }
  if (!(await deltaExists(ctx.spark, ctx.lake.gold.versions))) {
    throw new BatchError('no model has been trained yet; run the train-als step first');
  }
  const [row] = await delta(ctx.spark, ctx.lake.gold.versions).agg(F.max('version').alias('v')).collect();
  const newest = row?.['v'];
  if (typeof newest !== 'string') throw new BatchError('the model registry is empty; run train-als first');
  ctx.state.version = newest;
  return readVersion(ctx, newest);
}
