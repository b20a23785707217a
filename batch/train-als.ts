/**
 * Step `train-als`: Spark ML ALS with implicit feedback, fitted on the server through Spark
 * Connect ML. Trains on the training interactions (everything before the hold-out), names a new
 * model version (`v20261126-051500`), saves both factor matrices as Delta tables under
 * `gold/models/<version>/`, the Spark model beside them, and records the version in the registry.
 */
import { ALS, type ALSModel, col, functions as F, type SparkSession } from '../lib/spark-connect/index.ts';
import { assertVersionName, versionNameAt } from '../lib/stores/index.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import { readSplit } from './preprocess.ts';
import { delta } from './spark.ts';
import { recordVersion, versionExists } from './versions.ts';

/** The ALS estimator the batch uses, from the configuration, with `blocks` user and item blocks. */
export function alsEstimator(model: BatchContext['config']['model'], blocks: number): ALS {
  return new ALS({
    rank: model.rank,
    maxIter: model.maxIter,
    regParam: model.regParam,
    alpha: model.alpha,
    seed: model.seed,
    implicitPrefs: true,
    nonnegative: false,
    userCol: 'user_idx',
    itemCol: 'item_idx',
    ratingCol: 'weight',
    coldStartStrategy: 'drop',
    numUserBlocks: blocks,
    numItemBlocks: blocks,
  });
}

/** Spark ALS's own default block count, used when `ALS_BLOCKS=auto` cannot measure the task slots. */
const SPARK_DEFAULT_BLOCKS = 10;

/**
 * The user and item block count: `ALS_BLOCKS`, or for `auto` the server's default parallelism —
 * one block per task slot. Each half-iteration sends an item's vector once to every user block
 * that rated it, so blocks beyond the slots only multiply that shuffle and the tasks. Measured,
 * not read from `spark.default.parallelism` (unset on most servers): the partitions Spark gives a
 * `range` without a partition count. Spark's own default of 10 if the query fails.
 */
export async function alsBlocks(spark: SparkSession, setting: number | 'auto'): Promise<number> {
  if (setting !== 'auto') return setting;
  try {
    const frame = await spark.sql(
      'SELECT COUNT(DISTINCT p) AS n FROM (SELECT spark_partition_id() AS p FROM range(100000))',
    );
    const [row] = await frame.collect();
    const slots = Number(row?.['n']);
    return Number.isInteger(slots) && slots >= 1 ? slots : SPARK_DEFAULT_BLOCKS;
  } catch {
    return SPARK_DEFAULT_BLOCKS;
  }
}

export interface LinearAlgebra {
  /** The BLAS and LAPACK implementations Spark ML's netlib bridge loaded, e.g. `JNIBLAS`. */
  blas: string;
  lapack: string;
  /** Both native (a system BLAS/LAPACK such as OpenBLAS through JNI). */
  native: boolean;
}

/**
 * Which linear algebra Spark ML solves ALS's normal equations with, asked of the server (the
 * executors' JVM in local mode): `JNIBLAS`/`JNILAPACK` when the netlib bridge found a system
 * `libblas.so.3`/`liblapack.so.3` (Debian: `libopenblas0-pthread`), else the Java fallbacks
 * (`VectorBLAS`, `F2jLAPACK`), which fit about 1.4× slower. Null when the server refuses `reflect`.
 */
export async function linearAlgebra(spark: SparkSession): Promise<LinearAlgebra | null> {
  try {
    const frame = await spark.sql(
      "SELECT reflect('dev.ludovic.netlib.blas.BLAS', 'getInstance') AS blas, " +
        "reflect('dev.ludovic.netlib.lapack.LAPACK', 'getInstance') AS lapack",
    );
    const [row] = await frame.collect();
    const name = (value: unknown) =>
      String(value ?? '')
        .replace(/^.*\./, '')
        .replace(/@.*$/, '');
    const blas = name(row?.['blas']);
    const lapack = name(row?.['lapack']);
    return { blas, lapack, native: blas.startsWith('JNI') && lapack.startsWith('JNI') };
  } catch {
    return null;
  }
}

/** The one name of a server's linear algebra, e.g. `native (JNIBLAS, JNILAPACK)`, or `unknown`. */
export function linearAlgebraLabel(la: LinearAlgebra | null): string {
  if (!la) return 'unknown';
  return `${la.native ? 'native' : 'Java fallback'} (${la.blas}, ${la.lapack})`;
}

/** The label with, for the Java fallbacks or an unknown server, what it means and the fix. */
function describeLinearAlgebra(la: LinearAlgebra | null): string {
  const label = `linear algebra: ${linearAlgebraLabel(la)}`;
  if (!la) return `${label} (the server refused reflect)`;
  if (la.native) return label;
  return (
    `${label}; the server found no system libblas.so.3/liblapack.so.3 ` +
    '(Debian: apt-get install libopenblas0-pthread), fits run about 1.4× slower'
  );
}

async function saveFactors(ctx: BatchContext, model: ALSModel, version: string): Promise<[number, number]> {
  const { spark, lake } = ctx;
  const pairs: Array<[ALSModel['userFactors'], string, string]> = [
    [model.userFactors, 'user_idx', lake.gold.userFactors(version)],
    [model.itemFactors, 'item_idx', lake.gold.itemFactors(version)],
  ];
  const counts: number[] = [];
  for (const [factors, idColumn, location] of pairs) {
    await factors
      .select(col('id').cast('int').alias(idColumn), col('features'))
      .write.format('delta')
      .mode('overwrite')
      .save(location);
    counts.push(await delta(spark, location).count());
  }
  return [counts[0]!, counts[1]!];
}

export interface TrainedVersion {
  version: string;
  users: number;
  items: number;
  trainPairs: number;
  trainMs: number;
  /** User and item blocks of the fit. */
  blocks: number;
  /** What solved the normal equations, e.g. `native (JNIBLAS, JNILAPACK)`. */
  linearAlgebra: string;
}

/**
 * Fits ALS on `interactions` (a Delta location of `user_idx, item_idx, weight`) with the
 * configured hyper-parameters, saves the factors and the Spark model under `version`, and records
 * the version (trained through `trainEnd`; `evaluatedVersion` names the version whose evaluation
 * stands for this one, for a refit).
 */
export async function trainVersion(
  ctx: BatchContext,
  options: { interactions: string; version: string; trainEnd: string; evaluatedVersion?: string },
): Promise<TrainedVersion> {
  const { spark, lake, config } = ctx;
  const { version } = options;
  const interactions = delta(spark, options.interactions).select('user_idx', 'item_idx', 'weight');
  const [stats] = await interactions.agg(F.count().alias('n')).collect();
  const trainPairs = Number(stats?.['n'] ?? 0);
  if (trainPairs === 0) throw new BatchError(`${options.interactions} holds no interaction to learn from`);
  const blocks = await alsBlocks(spark, config.model.blocks);
  const la = await linearAlgebra(spark);
  const laNote = describeLinearAlgebra(la);
  if (la && !la.native) ctx.logger.warn({ blas: la.blas, lapack: la.lapack }, laNote);
  else ctx.logger.info({ blas: la?.blas, lapack: la?.lapack }, laNote);
  ctx.note(
    `fitting rank ${config.model.rank} × ${config.model.maxIter} iterations on ${trainPairs} pairs, ` +
      `${blocks}×${blocks} blocks; ${laNote}`,
  );

  const started = performance.now();
  const model = await alsEstimator(config.model, blocks).fit(interactions);
  const trainMs = Math.round(performance.now() - started);
  try {
    ctx.note(`fitted in ${(trainMs / 1000).toFixed(1)} s; saving factors`);
    const [users, items] = await saveFactors(ctx, model, version);
    await model.save(lake.gold.sparkModel(version), true);
    await recordVersion(ctx, {
      version,
      created_at: new Date().toISOString(),
      rank: config.model.rank,
      max_iter: config.model.maxIter,
      reg_param: config.model.regParam,
      alpha: config.model.alpha,
      seed: config.model.seed,
      train_end: options.trainEnd,
      train_pairs: trainPairs,
      users,
      items,
      train_ms: trainMs,
      evaluated_version: options.evaluatedVersion ?? null,
    });
    return { version, users, items, trainPairs, trainMs, blocks, linearAlgebra: linearAlgebraLabel(la) };
  } finally {
    await model.dispose();
  }
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { lake, config } = ctx;
  const version = assertVersionName(ctx.options.version ?? versionNameAt(new Date()));
  if (ctx.options.version !== undefined && (await versionExists(ctx, version))) {
    throw new BatchError(
      `model version ${version} was trained already; versions are immutable, pick a new name`,
    );
  }
  const split = await readSplit(ctx);
  const trained = await trainVersion(ctx, {
    interactions: lake.silver.interactions,
    version,
    trainEnd: split.trainEnd,
  });
  ctx.state.version = version;
  return {
    rows: trained.trainPairs,
    summary:
      `version ${version}: rank ${config.model.rank}, ${trained.users} user and ${trained.items} item vectors, ` +
      `fit ${(trained.trainMs / 1000).toFixed(1)} s on ${trained.blocks}×${trained.blocks} blocks, ${trained.linearAlgebra} linear algebra`,
  };
}

export const trainAlsStep: BatchStep = {
  name: 'train-als',
  description: 'implicit-feedback ALS on Spark ML; factors and model saved under a new version',
  run,
};
