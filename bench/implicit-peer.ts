/**
 * The `implicit` ALS peer (PyPI, CPU) for the benchmarks: fitted on the training interactions of
 * a lake, its factors are written into the same lake as a model version of their own, so the
 * project's evaluation serves and scores them exactly as it scores the project's model.
 *
 * `implicit` runs from a virtualenv outside the repository (default <tmp>/implicit-venv, created
 * with pip when missing), or from the Python given with `--python`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchContext } from '../batch/context.ts';
import { readSplit } from '../batch/preprocess.ts';
import { delta } from '../batch/spark.ts';
import { recordVersion } from '../batch/versions.ts';
import { functions as F } from '../lib/spark-connect/index.ts';
import { versionNameAt } from '../lib/stores/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const IMPLICIT_VERSION = '0.7.2';

/** The Python that has `implicit`: the one given, or the benchmark virtualenv (made when missing). */
export function implicitPython(given?: string): string {
  if (given) return given;
  const venv = join(tmpdir(), 'implicit-venv');
  const bin = join(venv, 'bin', 'python');
  if (!existsSync(bin)) {
    console.log(`creating ${venv} with implicit ${IMPLICIT_VERSION} from PyPI`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', `implicit==${IMPLICIT_VERSION}`], {
      stdio: 'inherit',
    });
  }
  return bin;
}

export interface ExportedInteractions {
  dir: string;
  pairs: number;
  users: number;
  /** Mean interactions per user: Spark's ALS scales λ by each row's count, implicit does not. */
  meanPerUser: number;
}

/** Writes `silver/interactions` as CSV (`user_idx,item_idx,weight`) under `dir/train`. */
export async function exportInteractions(ctx: BatchContext, dir: string): Promise<ExportedInteractions> {
  mkdirSync(dir, { recursive: true });
  const interactions = delta(ctx.spark, ctx.lake.silver.interactions).select(
    'user_idx',
    'item_idx',
    'weight',
  );
  await interactions
    .coalesce(1)
    .write.format('csv')
    .mode('overwrite')
    .option('header', true)
    .save(join(dir, 'train'));
  const [stats] = await interactions
    .agg(F.count().alias('pairs'), F.countDistinct('user_idx').alias('users'))
    .collect();
  const pairs = Number(stats?.['pairs']);
  const users = Number(stats?.['users']);
  return { dir, pairs, users, meanPerUser: pairs / users };
}

export interface PeerFit {
  version: string;
  label: string;
  regScale: number;
  fitSeconds: number;
}

/**
 * Fits implicit with the configured rank, iterations, λ (× `regScale`) and α, and stores its
 * factors as a new model version (registry row included) for `evaluate --version`.
 */
export async function fitImplicitVersion(
  ctx: BatchContext,
  exported: ExportedInteractions,
  options: { python: string; label: string; regScale: number; at: Date; threads: number },
): Promise<PeerFit> {
  const { model } = ctx.config;
  const out = join(exported.dir, `implicit-${options.regScale === 1 ? 'literal' : 'scaled'}.json`);
  execFileSync(
    options.python,
    [
      join(here, 'peers', 'implicit_als.py'),
      '--train',
      join(exported.dir, 'train'),
      '--out',
      out,
      '--factors',
      String(model.rank),
      '--iterations',
      String(model.maxIter),
      '--regularization',
      String(model.regParam),
      '--reg-scale',
      String(options.regScale),
      '--alpha',
      String(model.alpha),
      '--seed',
      String(model.seed),
      '--threads',
      String(options.threads),
    ],
    { stdio: 'inherit' },
  );
  const fitted = JSON.parse(readFileSync(out, 'utf8')) as {
    fit_seconds: number;
    pairs: number;
    users: Array<[number, number[]]>;
    items: Array<[number, number[]]>;
  };
  const version = versionNameAt(options.at);
  const { spark, lake } = ctx;
  for (const [rows, id, location] of [
    [fitted.users, 'user_idx', lake.gold.userFactors(version)],
    [fitted.items, 'item_idx', lake.gold.itemFactors(version)],
  ] as const) {
    // Uploaded in slices: one local relation must stay under the 128 MiB message limit.
    for (let start = 0; start < rows.length; start += 20_000) {
      const slice = rows.slice(start, start + 20_000).map(([idx, features]) => ({ [id]: idx, features }));
      const df = await spark.createDataFrame(slice, `${id} INT, features ARRAY<FLOAT>`);
      await df.write
        .format('delta')
        .mode(start === 0 ? 'overwrite' : 'append')
        .save(location);
    }
  }
  const split = await readSplit(ctx);
  await recordVersion(ctx, {
    version,
    created_at: options.at.toISOString(),
    rank: model.rank,
    max_iter: model.maxIter,
    reg_param: model.regParam * options.regScale,
    alpha: model.alpha,
    seed: model.seed,
    train_end: split.trainEnd,
    train_pairs: fitted.pairs,
    users: fitted.users.length,
    items: fitted.items.length,
    train_ms: Math.round(fitted.fit_seconds * 1000),
    evaluated_version: null,
  });
  return { version, label: options.label, regScale: options.regScale, fitSeconds: fitted.fit_seconds };
}
