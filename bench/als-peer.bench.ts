/**
 * ALS peer benchmark: our batch's ALS (Spark ML through Spark Connect) against `implicit`
 * (PyPI, CPU) on the same training interactions with the same hyper-parameters, scored on the
 * same hold-out users by the same metric code (batch/metrics.ts).
 *
 *   npm run bench -- als-peer [--scale small|tiny] [--python PATH]
 *
 * Data: generated once per scale into <tmp>/recsys-bench/<scale>/ (reused until the generator changes). `implicit` runs from
 * a virtualenv outside the repository (default <tmp>/implicit-venv, created with pip if missing).
 * Two implicit runs: the literal hyper-parameters, and the regularisation scaled by the mean
 * number of interactions per user — Spark's ALS multiplies it by each row's count (ALS-WR), which
 * implicit does not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createContext } from '../batch/context.ts';
import { EXCLUSION_HEADROOM, evaluationUsers, K } from '../batch/evaluate.ts';
import { rankingMetrics, topKExcluding } from '../batch/metrics.ts';
import { ProgressPrinter } from '../batch/progress.ts';
import { runBatch } from '../batch/runner.ts';
import { delta, deltaExists } from '../batch/spark.ts';
import { readVersion } from '../batch/versions.ts';
import { loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { col, functions as F, SparkSession } from '../lib/spark-connect/index.ts';
import { benchDataRoot, ensureGenerated } from './generated-data.ts';
import { recordResult } from './results.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { scale: { type: 'string', default: 'small' }, python: { type: 'string' } },
});
const scale = args.scale as Scale;
const root = benchDataRoot(scale);
const env = {
  RAW_DIR: join(root, 'raw'),
  LAKE_ROOT: join(root, 'lake'),
  MODELS_DIR: join(root, 'models'),
  STAGING_DIR: join(root, 'staging'),
  LOG_LEVEL: 'warn',
};
const config = loadConfig({ ...process.env, ...env });
const logger = createLogger({ level: 'warn' });
const printer = new ProgressPrinter();

function python(): string {
  if (args.python) return args.python;
  const venv = join(tmpdir(), 'implicit-venv');
  const bin = join(venv, 'bin', 'python');
  if (!existsSync(bin)) {
    console.log(`creating ${venv} with implicit from PyPI`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', 'implicit==0.7.2'], { stdio: 'inherit' });
  }
  return bin;
}

async function step(options: { step?: string; from?: string }) {
  const result = await runBatch({ config, logger, printer, ...options });
  if (result.failure) throw result.failure;
  return result;
}

await ensureGenerated(scale);
const spark = new SparkSession({ remote: config.spark.remote });
const ctx = createContext(config, spark, logger, {}, { note: () => {}, print: (t) => console.log(t) });
if (!(await deltaExists(spark, ctx.lake.silver.holdout))) await step({ step: 'csv-to-delta' });
if (!(await deltaExists(spark, ctx.lake.silver.holdout))) await step({ step: 'preprocess' });
const trained = await step({ step: 'train-als' });
const version = trained.version!;
await runBatch({ config, logger, printer, step: 'evaluate', version });
const record = await readVersion(ctx, version);
const ours = await delta(spark, ctx.lake.gold.metrics).where(col('version').eq(version)).collect();

// The same users and truths the evaluate step used.
const exportDir = join(root, 'export');
mkdirSync(exportDir, { recursive: true });
const users = evaluationUsers(ctx, version, config.batch.evalMaxUsers);
const truth = await delta(spark, ctx.lake.silver.holdout)
  .groupBy('user_idx')
  .agg(F.collect_set('item_idx').alias('actual'))
  .join(users, 'user_idx', 'semi')
  .join(
    delta(spark, ctx.lake.silver.interactions)
      .where(col('purchases').gt(0))
      .groupBy('user_idx')
      .agg(F.collect_set('item_idx').alias('bought')),
    'user_idx',
    'left',
  )
  .collect();
writeFileSync(join(exportDir, 'users.txt'), `${truth.map((r) => r['user_idx']).join('\n')}\n`);
const interactions = delta(spark, ctx.lake.silver.interactions).select('user_idx', 'item_idx', 'weight');
await interactions
  .coalesce(1)
  .write.format('csv')
  .mode('overwrite')
  .option('header', true)
  .save(join(exportDir, 'train'));
const [stats] = await interactions
  .agg(F.count().alias('pairs'), F.countDistinct('user_idx').alias('users'))
  .collect();
const meanPerUser = Number(stats?.['pairs']) / Number(stats?.['users']);
const catalogue = await delta(spark, ctx.lake.silver.items).count();
await spark.stop();

const peers: Record<string, unknown>[] = [];
for (const [label, regScale] of [
  ['implicit (same λ)', 1],
  [`implicit (λ × ${meanPerUser.toFixed(1)} mean interactions/user)`, meanPerUser],
] as const) {
  const out = join(exportDir, `implicit-${regScale === 1 ? 'literal' : 'scaled'}.json`);
  execFileSync(
    python(),
    [
      join(here, 'peers', 'implicit_als.py'),
      '--train',
      join(exportDir, 'train'),
      '--users',
      join(exportDir, 'users.txt'),
      '--out',
      out,
      '--factors',
      String(config.model.rank),
      '--iterations',
      String(config.model.maxIter),
      '--regularization',
      String(config.model.regParam),
      '--reg-scale',
      String(regScale),
      '--alpha',
      String(config.model.alpha),
      '--seed',
      String(config.model.seed),
      '--top',
      String(K + EXCLUSION_HEADROOM),
    ],
    { stdio: 'inherit' },
  );
  const result = JSON.parse(readFileSync(out, 'utf8')) as {
    fit_seconds: number;
    recs: Record<string, number[]>;
  };
  const metrics = (exclude: boolean) =>
    rankingMetrics(
      truth.map((r) => {
        const ranked = result.recs[String(r['user_idx'])] ?? [];
        return {
          recommended: exclude
            ? topKExcluding(ranked, new Set((r['bought'] as number[] | null) ?? []), K)
            : ranked.slice(0, K),
          actual: r['actual'] as number[],
        };
      }),
      K,
      catalogue,
    );
  peers.push({
    label,
    regScale,
    fitSeconds: result.fit_seconds,
    asRanked: metrics(false),
    excludingPurchased: metrics(true),
  });
}

const oursRow = (exclude: boolean, model = 'als') =>
  ours.find((r) => r['model'] === model && r['exclude_purchased'] === exclude);
const oursFit = record.train_ms / 1000;
console.log(
  `\nscale ${scale}: ${stats?.['pairs']} training pairs, ${truth.length} evaluated users, rank ${config.model.rank}, ${config.model.maxIter} iterations, λ ${config.model.regParam}, α ${config.model.alpha}`,
);
console.log(
  `ours (Spark ALS via Connect): fit ${oursFit.toFixed(1)} s, MAP@12 ${Number(oursRow(false)?.['map_at_12']).toFixed(4)} / excl. ${Number(oursRow(true)?.['map_at_12']).toFixed(4)}`,
);
for (const p of peers) {
  const r = p as {
    label: string;
    fitSeconds: number;
    asRanked: { map: number };
    excludingPurchased: { map: number };
  };
  console.log(
    `${r.label}: fit ${r.fitSeconds.toFixed(1)} s (ours/peer ×${(oursFit / r.fitSeconds).toFixed(1)}), MAP@12 ${r.asRanked.map.toFixed(4)} / excl. ${r.excludingPurchased.map.toFixed(4)}`,
  );
}
console.log(
  `trending baseline: MAP@12 ${Number(oursRow(false, 'trending')?.['map_at_12']).toFixed(4)} / excl. ${Number(oursRow(true, 'trending')?.['map_at_12']).toFixed(4)}`,
);
recordResult('als-peer', {
  scale,
  version,
  trainingPairs: Number(stats?.['pairs']),
  evaluatedUsers: truth.length,
  params: config.model,
  ours: { fitSeconds: oursFit, metrics: ours },
  peers,
});
