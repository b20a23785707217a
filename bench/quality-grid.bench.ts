/**
 * Quality grid: the served pipeline evaluated (both protocols) under a list of settings, on the
 * lakes the `quality` benchmark prepared (run it first), to choose defaults by measurement.
 *
 *   npm run bench -- quality-grid --grid serving|model [--only synthetic|hm] [--scale small]
 *   npm run bench -- quality-grid --grid custom --settings 'REPURCHASE_BOOST=0.3;REPURCHASE=include' [--train]
 *
 * (`--train` preprocesses and trains for each custom setting, as the `model` grid does.)
 * - `serving`: settings the API and the updater read (REPURCHASE_*, EVENT_WEIGHT_*, TRENDING_DAYS
 *   …) — no retraining: the newest model of each lake is evaluated under each setting.
 * - `model`: settings of the batch (ALS_*, DECAY_HALF_LIFE_DAYS): preprocess and train-als run
 *   for each, then the evaluation.
 *
 * The model evaluated is the project's one that `quality` recorded in bench/results/quality.json
 * (not its `implicit` peer). Each setting is a set of environment variables over the current
 * environment. Results:
 * bench/results/quality-grid-<grid>.json (every row of every setting), a table on stdout.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createContext } from '../batch/context.ts';
import { EVAL_PROTOCOLS, evaluateServed, type MetricRow } from '../batch/evaluate.ts';
import { policySet } from '../batch/evaluation/policies.ts';
import { ProgressPrinter } from '../batch/progress.ts';
import { runBatch } from '../batch/runner.ts';
import { delta } from '../batch/spark.ts';
import { currentVersion } from '../batch/versions.ts';
import { loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { SparkSession } from '../lib/spark-connect/index.ts';
import { benchDataRoot, HM_SAMPLE_ENV, HM_SAMPLE_ROOT, lakeEnv } from './generated-data.ts';
import { recordResult } from './results.ts';

const { values: args } = parseArgs({
  options: {
    grid: { type: 'string', default: 'serving' },
    only: { type: 'string' },
    scale: { type: 'string', default: 'small' },
    settings: { type: 'string' },
    train: { type: 'boolean', default: false },
    /** `synthetic-small=v…,hm-sample=v…`: evaluate these versions instead of those quality recorded. */
    versions: { type: 'string' },
  },
});

type Setting = Record<string, string>;

/** The grids: each entry one setting (environment variables). */
const GRIDS: Record<string, Setting[]> = {
  serving: [
    { REPURCHASE: 'exclude' },
    { REPURCHASE: 'include' },
    // The repurchase stage: window × boost × cap (half-life 7 days).
    ...['28', '365'].flatMap((window) =>
      ['0', '0.1', '0.3', '1'].flatMap((boost) =>
        ['3', '12'].map((max) => ({
          REPURCHASE: 'auto',
          REPURCHASE_WINDOW_DAYS: window,
          REPURCHASE_BOOST: boost,
          REPURCHASE_MAX_ITEMS: max,
        })),
      ),
    ),
    { TRENDING_HALF_LIFE_DAYS: '1' },
    { TRENDING_HALF_LIFE_DAYS: '3' },
    { TRENDING_DAYS: '14', TRENDING_HALF_LIFE_DAYS: '3' },
    { EVENT_WEIGHT_PURCHASE: '0.1' },
    { EVENT_WEIGHT_PURCHASE: '0.2' },
    { EVENT_WEIGHT_PURCHASE: '0.5' },
  ],
  model: [{ ALS_ALPHA: '40' }, { ALS_REG_PARAM: '0.2' }, { DECAY_HALF_LIFE_DAYS: '30' }],
};

// `--grid custom --settings 'A=1 B=2;C=3'`: settings given on the command line, `;` between them.
if (args.settings) {
  GRIDS['custom'] = args.settings.split(';').map((one) =>
    Object.fromEntries(
      one
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((kv) => kv.split('=') as [string, string]),
    ),
  );
}
const grid = GRIDS[args.grid];
if (!grid) {
  console.error(`--grid must be one of ${Object.keys(GRIDS).join(', ')}`);
  process.exit(2);
}

const sets: Array<{ name: string; root: string; env: Readonly<Setting> }> = [];
if (args.only !== 'hm') {
  sets.push({ name: `synthetic-${args.scale}`, root: benchDataRoot(args.scale as Scale), env: {} });
}
if (args.only !== 'synthetic') {
  sets.push({ name: 'hm-sample', root: HM_SAMPLE_ROOT, env: HM_SAMPLE_ENV });
}

/** The project's model per data set, as the quality benchmark trained it (its peers are not ours). */
const quality = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'results', 'quality.json'), 'utf8'),
) as {
  results: Array<{ dataSet: string; models: Array<{ version: string }> }>;
};
const ourVersions = new Map(quality.results.map((r) => [r.dataSet, r.models[0]!.version]));
for (const pair of args.versions?.split(',') ?? []) {
  const [dataSet, version] = pair.split('=');
  if (dataSet && version) ourVersions.set(dataSet, version);
}

const logger = createLogger({ level: 'warn' });
const printer = new ProgressPrinter();
const label = (setting: Setting) =>
  Object.entries(setting)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '(defaults)';

interface Row {
  dataSet: string;
  setting: Setting;
  version: string;
  rows: MetricRow[];
}
const results: Row[] = [];

for (const set of sets) {
  for (const setting of grid) {
    const env = { ...process.env, ...lakeEnv(set.root), ...set.env, ...setting };
    const config = loadConfig(env);
    let version = ourVersions.get(set.name);
    if (args.grid === 'model' || args.train) {
      for (const step of ['preprocess', 'train-als']) {
        const result = await runBatch({ config, logger, printer, step });
        if (result.failure) throw result.failure;
        version = result.version;
      }
    }
    if (!version)
      throw new Error(
        `no model of ours for ${set.name} in bench/results/quality.json; run the quality benchmark first`,
      );
    const spark = new SparkSession({ remote: config.spark.remote });
    try {
      const ctx = createContext(config, spark, logger, { version }, { note: () => {}, print: () => {} });
      const record = await currentVersion(ctx);
      await delta(spark, ctx.lake.silver.split).count(); // the lake is there (fails early otherwise)
      const evaluated = await evaluateServed(ctx, {
        version: record.version,
        rank: record.rank,
        createdAt: record.created_at,
        protocols: EVAL_PROTOCOLS,
        policies: policySet([]),
      });
      results.push({ dataSet: set.name, setting, version: record.version, rows: evaluated.rows });
      const at = (protocol: string, variant: string, segment = 'all') =>
        evaluated.rows.find(
          (r) =>
            r.protocol === protocol &&
            r.variant === variant &&
            r.policy === 'default' &&
            r.segment === segment,
        )?.map_at_12;
      const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));
      console.log(
        `${set.name.padEnd(16)} ${label(setting).padEnd(70)} hold-out ${f(at('holdout', 'static'))} ` +
          `(warm ${f(at('holdout', 'static', 'warm'))})  prequential ${f(at('prequential', 'static'))} → ${f(at('prequential', 'online'))}`,
      );
    } finally {
      await spark.stop();
    }
  }
}
recordResult(`quality-grid-${args.grid}`, { results });
