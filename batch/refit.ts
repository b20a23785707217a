/**
 * Step `refit`: the served model learns from every day. `evaluate` measured a model trained on
 * the days before the hold-out; this step trains the same ALS, with the same hyper-parameters,
 * on every day (`silver/interactions_all`, hold-out included, decayed to the last day) as a new
 * version, which `trending` and `load` then publish. In fashion the most recent week is the most
 * valuable one, and the evaluated model has never seen it.
 *
 * The new version records `evaluated_version` (the twin whose figures stand for it: its bundle
 * carries them) and `train_end` = the last day. Skipped with `REFIT=false` (the evaluated model is
 * served) and with `HOLDOUT_DAYS=0` (it was trained on every day already).
 */
import { versionNameAt } from '../lib/stores/index.ts';
import type { BatchContext, BatchStep, StepResult } from './context.ts';
import { readSplit } from './preprocess.ts';
import { deltaExists } from './spark.ts';
import { trainVersion } from './train-als.ts';
import { currentVersion, versionExists } from './versions.ts';

/** A version name after `after` (names are per second; a refit can follow its twin within one). */
async function nextVersionName(ctx: BatchContext, after: string): Promise<string> {
  let at = Date.now();
  let name = versionNameAt(new Date(at));
  while (name <= after || (await versionExists(ctx, name))) {
    at += 1000;
    name = versionNameAt(new Date(at));
  }
  return name;
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { config, lake } = ctx;
  const evaluated = await currentVersion(ctx);
  if (evaluated.evaluated_version) {
    return {
      rows: 0,
      summary: `skipped: ${evaluated.version} is already the refit of ${evaluated.evaluated_version}`,
    };
  }
  if (!config.model.refit) {
    return { rows: 0, summary: `skipped: REFIT=false, ${evaluated.version} is served as evaluated` };
  }
  const split = await readSplit(ctx);
  if (split.holdoutDays === 0 || evaluated.train_end >= split.lastDay) {
    return { rows: 0, summary: `skipped: ${evaluated.version} was trained on every day already` };
  }
  if (!(await deltaExists(ctx.spark, lake.silver.interactionsAll))) {
    return { rows: 0, summary: 'skipped: no silver/interactions_all; run the preprocess step again' };
  }
  const version = await nextVersionName(ctx, evaluated.version);
  const trained = await trainVersion(ctx, {
    interactions: lake.silver.interactionsAll,
    version,
    trainEnd: split.lastDay,
    evaluatedVersion: evaluated.version,
  });
  ctx.state.version = version;
  return {
    rows: trained.trainPairs,
    summary:
      `version ${version} trained through ${split.lastDay} (${trained.users} user and ${trained.items} item ` +
      `vectors, fit ${(trained.trainMs / 1000).toFixed(1)} s); evaluated as ${evaluated.version}`,
  };
}

export const refitStep: BatchStep = {
  name: 'refit',
  description: 'the evaluated ALS trained again on every day, hold-out included: the served version',
  run,
};
