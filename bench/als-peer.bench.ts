/**
 * ALS peer benchmark: our batch's ALS (Spark ML through Spark Connect) against `implicit`
 * (PyPI, CPU) on the same training interactions with the same hyper-parameters: fit time, and
 * the quality of each model's factors as the API serves them (the hold-out protocol of the
 * evaluate step, the same users and metric code for both).
 *
 *   npm run bench -- als-peer [--scale small|medium|tiny] [--python PATH]
 *
 * Data: generated once per scale into <tmp>/recsys-bench/<scale>/ (reused until the generator
 * changes). Two implicit runs: the literal hyper-parameters, and the regularisation scaled by the
 * mean number of interactions per user — Spark's ALS multiplies it by each row's count (ALS-WR),
 * which implicit does not. For both protocols and the real sample, see `quality`.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext } from '../batch/context.ts';
import type { MetricRow } from '../batch/evaluate.ts';
import { ProgressPrinter } from '../batch/progress.ts';
import { runBatch } from '../batch/runner.ts';
import { delta, deltaExists } from '../batch/spark.ts';
import { alsBlocks, linearAlgebra, linearAlgebraLabel } from '../batch/train-als.ts';
import { readVersion } from '../batch/versions.ts';
import { loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { col, SparkSession } from '../lib/spark-connect/index.ts';
import { benchDataRoot, ensureGenerated, lakeEnv } from './generated-data.ts';
import { exportInteractions, fitImplicitVersion, implicitPython } from './implicit-peer.ts';
import { recordResult } from './results.ts';

const { values: args } = parseArgs({
  options: { scale: { type: 'string', default: 'small' }, python: { type: 'string' } },
});
const scale = args.scale as Scale;
const root = benchDataRoot(scale);
const config = loadConfig({ ...process.env, ...lakeEnv(root) });
const logger = createLogger({ level: 'warn' });
const printer = new ProgressPrinter();

async function step(options: { step?: string; from?: string; version?: string }) {
  const result = await runBatch({ config, logger, printer, protocol: 'holdout', ...options });
  if (result.failure) throw result.failure;
  return result;
}

await ensureGenerated(scale);
const spark = new SparkSession({ remote: config.spark.remote });
const ctx = createContext(config, spark, logger, {}, { note: () => {}, print: (t) => console.log(t) });
if (!(await deltaExists(spark, ctx.lake.silver.holdout))) await step({ step: 'csv-to-delta' });
if (!(await deltaExists(spark, ctx.lake.silver.holdout))) await step({ step: 'preprocess' });
const blocks = await alsBlocks(spark, config.model.blocks);
const algebra = await linearAlgebra(spark);
const version = (await step({ step: 'train-als' })).version!;
await step({ step: 'evaluate', version });
const record = await readVersion(ctx, version);

const exported = await exportInteractions(ctx, join(root, 'export'));
const python = implicitPython(args.python);
const peers = [];
for (const [label, regScale] of [
  ['implicit (same λ)', 1],
  [`implicit (λ × ${exported.meanPerUser.toFixed(1)} mean interactions/user)`, exported.meanPerUser],
] as const) {
  const fit = await fitImplicitVersion(ctx, exported, {
    threads: availableParallelism(),
    python,
    label,
    regScale,
    at: new Date(Date.now() + 1000 * (peers.length + 1)),
  });
  await step({ step: 'evaluate', version: fit.version });
  peers.push(fit);
}

const rowsOf = async (v: string) =>
  (
    await delta(spark, ctx.lake.gold.metrics)
      .where(col('version').eq(v))
      .where(col('segment').eq('all'))
      .collect()
  ).map((r) => r as unknown as MetricRow);
const mapOf = (rows: MetricRow[], policy: string) =>
  rows.find((r) => r.policy === policy)?.map_at_12 ?? Number.NaN;
const ours = await rowsOf(version);
const peerResults = [];
for (const p of peers) peerResults.push({ ...p, metrics: await rowsOf(p.version) });
await spark.stop();

const oursFit = record.train_ms / 1000;
const line = (rows: MetricRow[]) =>
  `MAP@12 served default ${mapOf(rows, 'default').toFixed(4)}, no exclusion ${mapOf(rows, 'no_exclusion').toFixed(4)}, relevance ${mapOf(rows, 'relevance').toFixed(4)}`;
console.log(
  `\nscale ${scale}: ${exported.pairs} training pairs, rank ${config.model.rank}, ${config.model.maxIter} iterations, λ ${config.model.regParam}, α ${config.model.alpha}`,
);
console.log(
  `ours (Spark ALS via Connect, ${blocks}×${blocks} blocks, ${linearAlgebraLabel(algebra)} linear algebra): fit ${oursFit.toFixed(1)} s, ${line(ours)}`,
);
console.log(`implicit threads: ${availableParallelism()}`);
for (const p of peerResults) {
  console.log(
    `${p.label}: fit ${p.fitSeconds.toFixed(1)} s (ours/peer ×${(oursFit / p.fitSeconds).toFixed(1)}), ${line(p.metrics)}`,
  );
}
console.log(`trending policy: MAP@12 ${mapOf(ours, 'trending').toFixed(4)}`);
recordResult(`als-peer-${scale}`, {
  scale,
  version,
  trainingPairs: exported.pairs,
  params: config.model,
  protocol: 'holdout',
  ours: { fitSeconds: oursFit, blocks, linearAlgebra: algebra, metrics: ours },
  implicitThreads: availableParallelism(),
  peers: peerResults,
});
