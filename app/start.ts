/**
 * `npm start`: the whole system on one machine, on embedded defaults.
 *
 *   1. JVM jars (Maven, once)
 *   2. sample data (synthetic H&M CSVs in RAW_DIR, when none are there)
 *   3. a model (the batch on a local Spark Connect server, when MODELS_DIR has no bundle)
 *   4. in one process: the API, the online updater and the event simulator, sharing the
 *      feature store, vector index and event bus chosen by configuration (in-process by default)
 *
 * A second start reuses data and model. Ctrl-C stops everything this command started.
 * The same command runs against Redis, Kafka and Qdrant by configuration
 * (FEATURE_STORE=redis EVENT_BUS=kafka VECTOR_INDEX=qdrant).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { downService, upService } from '../infra/local/launcher.ts';
import { repoRoot } from '../infra/local/paths.ts';
import { extractProtos, resolveJars } from '../infra/local/setup.ts';
import { type Config, loadConfig } from '../lib/config.ts';
import { describeError } from '../lib/errors.ts';
import { generate, type Scale } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { latestBundle } from '../lib/stores/bundle.ts';
import { startSystem } from './system.ts';

const USAGE = `usage: npm start [-- options]
  --scale tiny|small   size of the generated sample data when RAW_DIR has none (default tiny;
                       small trains on 1M purchases and takes several minutes more)
  --rebuild            run the batch again even when a model bundle exists
  --rate N             simulated events per second in the background (default 5; 0 = none)`;

const RAW_FILES = ['articles.csv', 'customers.csv', 'transactions_train.csv'];

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7);
const say = (line: string) => console.log(`[${elapsed()}] ${line}`);

function parse() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'tiny' },
      rebuild: { type: 'boolean', default: false },
      rate: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.scale !== 'tiny' && values.scale !== 'small') {
    console.error(`--scale must be tiny or small, got ${values.scale}\n${USAGE}`);
    process.exit(2);
  }
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate < 0) {
    console.error(`--rate must be a non-negative number, got ${values.rate}\n${USAGE}`);
    process.exit(2);
  }
  return { scale: values.scale as Scale, rebuild: values.rebuild, rate };
}

async function ensureData(config: Config, scale: Scale): Promise<void> {
  const rawDir = resolve(repoRoot, config.paths.raw);
  if (RAW_FILES.every((f) => existsSync(join(rawDir, f)))) {
    say(`data: using the CSVs in ${config.paths.raw}`);
    return;
  }
  say(`data: generating ${scale} synthetic H&M data into ${config.paths.raw}`);
  let lastShown = 0;
  const summary = await generate({
    scale,
    out: rawDir,
    onProgress: (p) => {
      if (Date.now() - lastShown > 2000) {
        lastShown = Date.now();
        say(`data: ${p.phase} ${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')}`);
      }
    },
  });
  const rows = Object.entries(summary.files).map(([name, f]) => `${f.rows.toLocaleString('en')} ${name}`);
  say(`data: done (${rows.join(', ')})`);
}

function runBatchProcess(): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'batch', 'main.ts')], {
      cwd: repoRoot,
      env: process.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolvePromise() : reject(new Error(`the batch failed (exit ${code ?? signal})`)),
    );
  });
}

async function ensureModel(config: Config, rebuild: boolean): Promise<void> {
  const modelsDir = resolve(repoRoot, config.paths.models);
  const existing = await latestBundle(modelsDir);
  if (existing && !rebuild) {
    say(`model: using ${relative(process.cwd(), existing) || existing}`);
    return;
  }
  say('model: starting Spark Connect for the batch');
  const spark = await upService(config, 'spark', (line) => say(line));
  try {
    say('model: running the batch (csv → Delta → ALS → evaluation → bundle)');
    await runBatchProcess();
  } finally {
    if (spark.outcome === 'started') {
      say('model: stopping the Spark Connect server this command started');
      await downService(config, 'spark');
    }
  }
}

async function main(): Promise<void> {
  const options = parse();
  const config = loadConfig();
  const logger = createLogger({
    level: process.env['LOG_LEVEL'] === undefined ? 'warn' : config.logLevel,
    name: 'recsys',
  });
  say(
    `adapters: feature store ${config.adapters.featureStore}, vector index ${config.adapters.vectorIndex}, ` +
      `event bus ${config.adapters.eventBus}`,
  );

  say('jars: checking the JVM dependencies');
  resolveJars((line) => say(line));
  extractProtos((line) => say(line));
  await ensureData(config, options.scale);
  await ensureModel(config, options.rebuild);

  say('api: loading the model into the stores and starting the HTTP server');
  const system = await startSystem(config, logger, { rate: options.rate });
  const { shutdown, exampleUser } = system;
  say('updater: consuming events (online learning)');
  if (options.rate > 0) say(`simulator: ${options.rate} events/s of clicks, add-to-carts and purchases`);

  const base = system.url.replace('0.0.0.0', 'localhost');
  console.log(
    [
      '',
      `Ready in ${elapsed().trim()}.`,
      `  demo page   ${base}/demo?user=${exampleUser}`,
      `  API docs    ${base}/docs`,
      `  metrics     ${base}/metrics`,
      '',
      'Try:',
      `  curl '${base}/recommend/${exampleUser}?k=5&explain=true'`,
      `  curl -X POST ${base}/events/purchase -H 'content-type: application/json' -d '{"user_idx":${exampleUser},"item_idx":1}'`,
      `  curl '${base}/users/${exampleUser}/profile'`,
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.log('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    say(`${signal}: stopping`);
    shutdown.run().then(
      () => {
        say('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`shutdown failed: ${describeError(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${describeError(error)}`);
  process.exit(1);
});
