/**
 * Step `train-als`: Spark ML ALS with implicit feedback, fitted on the server through Spark
 * Connect ML. Trains on the training interactions (everything before the hold-out), names a new
 * model version (`v20261126-051500`), saves both factor matrices as Delta tables under
 * `gold/models/<version>/`, the Spark model beside them, and records the version in the registry.
 */
import { ALS, type ALSModel, col, functions as F } from '../lib/spark-connect/index.ts';
import { assertVersionName, versionNameAt } from '../lib/stores/index.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import { readSplit } from './preprocess.ts';
import { delta } from './spark.ts';
import { recordVersion, versionExists } from './versions.ts';

/** The ALS estimator the batch uses, from the configuration. */
export function alsEstimator(model: BatchContext['config']['model']): ALS {
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
  });
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
  ctx.note(`fitting rank ${config.model.rank} × ${config.model.maxIter} iterations on ${trainPairs} pairs`);

  const started = performance.now();
  const model = await alsEstimator(config.model).fit(interactions);
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
    return { version, users, items, trainPairs, trainMs };
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
    summary: `version ${version}: rank ${config.model.rank}, ${trained.users} user and ${trained.items} item vectors, fit ${(trained.trainMs / 1000).toFixed(1)} s`,
  };
}

export const trainAlsStep: BatchStep = {
  name: 'train-als',
  description: 'implicit-feedback ALS on Spark ML; factors and model saved under a new version',
  run,
};
