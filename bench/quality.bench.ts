/**
 * Quality benchmark: what the API serves, under both protocols, on synthetic data and on a real
 * H&M sample, for the project's ALS and for `implicit` ALS fitted on the same interactions with
 * the same hyper-parameters (its factors served and scored by the same pipeline).
 *
 *   npm run bench -- quality [--scale small|tiny] [--hm-sample DIR] [--only synthetic|hm] [--python PATH]
 *
 * - synthetic: `--scale` data (default small) generated once into <tmp>/recsys-bench/<scale>/,
 *   HOLDOUT_DAYS=7 with a 2-day stream window (the defaults);
 * - hm: a folder with the H&M files (`articles.csv[.gz]`, `customers[_sample].csv[.gz]`,
 *   `transactions_train[_sample].csv[.gz]`), e.g. the 1,364-customer sample; its few buyers a
 *   week call for a longer test: HOLDOUT_DAYS=28 with a 7-day stream window. Skipped, with a
 *   note, when `--hm-sample` is not given.
 *
 * Environment variables (ALS_*, DECAY_HALF_LIFE_DAYS, EVENT_WEIGHT_*, ...) apply to both data
 * sets, so a grid is a loop over this command. Results: bench/results/quality.json (every row),
 * summary in docs/benchmarks.md.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BatchContext, createContext } from '../batch/context.ts';
import type { MetricRow } from '../batch/evaluate.ts';
import { ProgressPrinter } from '../batch/progress.ts';
import { runBatch } from '../batch/runner.ts';
import { delta } from '../batch/spark.ts';
import { readVersion } from '../batch/versions.ts';
import { type Config, loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { col, SparkSession } from '../lib/spark-connect/index.ts';
import { benchDataRoot, ensureGenerated, HM_SAMPLE_ENV, HM_SAMPLE_ROOT, lakeEnv } from './generated-data.ts';
import { exportInteractions, fitImplicitVersion, implicitPython } from './implicit-peer.ts';
import { recordResult } from './results.ts';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: 'small' },
    'hm-sample': { type: 'string' },
    only: { type: 'string' },
    python: { type: 'string' },
  },
});
const logger = createLogger({ level: 'warn' });
const printer = new ProgressPrinter();

interface DataSet {
  name: string;
  root: string;
  env: Readonly<Record<string, string>>;
}

/** Links the sample's files under the names the batch reads. */
function linkHmSample(source: string, raw: string): void {
  mkdirSync(raw, { recursive: true });
  const files = readdirSync(source);
  for (const [table, target] of [
    ['articles', 'articles.csv'],
    ['customers', 'customers.csv'],
    ['transactions_train', 'transactions_train.csv'],
  ] as const) {
    const found = files.find((f) => new RegExp(`^${table}(_sample)?\\.csv(\\.gz)?$`).test(f));
    if (!found)
      throw new Error(`--hm-sample ${source} has no ${table}.csv[.gz] (or ${table}_sample.csv[.gz])`);
    const link = join(raw, found.endsWith('.gz') ? `${target}.gz` : target);
    if (!existsSync(link)) symlinkSync(resolve(source, found), link);
  }
}

const dataSets: DataSet[] = [];
if (args.only !== 'hm') {
  const scale = args.scale as Scale;
  await ensureGenerated(scale);
  dataSets.push({ name: `synthetic-${scale}`, root: benchDataRoot(scale), env: {} });
}
if (args.only !== 'synthetic') {
  if (args['hm-sample']) {
    rmSync(HM_SAMPLE_ROOT, { recursive: true, force: true });
    linkHmSample(args['hm-sample'], join(HM_SAMPLE_ROOT, 'raw'));
    dataSets.push({ name: 'hm-sample', root: HM_SAMPLE_ROOT, env: HM_SAMPLE_ENV });
  } else {
    console.log('hm: skipped (no --hm-sample DIR given)');
  }
}

interface Result {
  dataSet: string;
  config: Config['model'] & { streamDays: number; weights: Config['stream']['weights'] };
  models: Array<{ label: string; version: string; fitSeconds: number; rows: MetricRow[] }>;
}

async function runFor(set: DataSet): Promise<Result> {
  const env = { ...process.env, ...lakeEnv(set.root), ...set.env };
  const config = loadConfig(env);
  const batch = async (options: { step?: string; from?: string; version?: string }) => {
    const result = await runBatch({ config, logger, printer, protocol: 'both', ...options });
    if (result.failure) throw result.failure;
    return result;
  };
  console.log(`\n--- ${set.name}: ${env.RAW_DIR}`);
  // Preprocess every time: the split and the interaction weights follow the environment.
  await batch({ step: 'csv-to-delta' });
  await batch({ step: 'preprocess' });
  const ours = (await batch({ step: 'train-als' })).version!;
  await batch({ step: 'evaluate', version: ours });

  const spark = new SparkSession({ remote: config.spark.remote });
  const ctx: BatchContext = createContext(config, spark, logger, {}, { note: () => {}, print: console.log });
  try {
    const exported = await exportInteractions(ctx, join(set.root, 'export'));
    const python = implicitPython(args.python);
    const peer = await fitImplicitVersion(ctx, exported, {
      threads: availableParallelism(),
      python,
      label: `implicit (λ × ${exported.meanPerUser.toFixed(1)})`,
      regScale: exported.meanPerUser,
      at: new Date(Date.now() + 1000),
    });
    await batch({ step: 'evaluate', version: peer.version });
    const rowsOf = async (version: string) =>
      (await delta(spark, ctx.lake.gold.metrics).where(col('version').eq(version)).collect()).map(
        (r) => r as unknown as MetricRow,
      );
    const record = await readVersion(ctx, ours);
    return {
      dataSet: set.name,
      config: { ...config.model, streamDays: config.batch.evalStreamDays, weights: config.stream.weights },
      models: [
        {
          label: 'ours (Spark ALS)',
          version: ours,
          fitSeconds: record.train_ms / 1000,
          rows: await rowsOf(ours),
        },
        {
          label: peer.label,
          version: peer.version,
          fitSeconds: peer.fitSeconds,
          rows: await rowsOf(peer.version),
        },
      ],
    };
  } finally {
    await spark.stop();
  }
}

const f4 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));
function summary(result: Result): string {
  const lines = [`\n${result.dataSet}: MAP@12 of the served lists (all / warm / cold users)`];
  const find = (rows: MetricRow[], protocol: string, variant: string, policy: string, segment: string) =>
    rows.find(
      (r) => r.protocol === protocol && r.variant === variant && r.policy === policy && r.segment === segment,
    )?.map_at_12;
  for (const model of result.models) {
    lines.push(`  ${model.label} (${model.version}, fit ${model.fitSeconds.toFixed(1)} s)`);
    lines.push('    policy          hold-out all / warm / cold     prequential static → online (all)');
    const policies = [...new Set(model.rows.map((r) => r.policy))];
    for (const p of policies) {
      const h = (s: string) => f4(find(model.rows, 'holdout', 'static', p, s));
      lines.push(
        `    ${p.padEnd(15)} ${h('all')} / ${h('warm')} / ${h('cold')}       ` +
          `${f4(find(model.rows, 'prequential', 'static', p, 'all'))} → ${f4(find(model.rows, 'prequential', 'online', p, 'all'))}`,
      );
    }
  }
  return lines.join('\n');
}

const results: Result[] = [];
for (const set of dataSets) {
  const result = await runFor(set);
  results.push(result);
  console.log(summary(result));
}
recordResult('quality', { results });
