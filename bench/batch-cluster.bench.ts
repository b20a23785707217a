/**
 * The batch on the local Spark Connect server (`local[2]`) against the launcher's standalone
 * cluster (a master and two workers of one core each, Connect on :15003): the same `npm run batch`
 * on the same data, alternating local and cluster run by run (the first of each pair swaps), with
 * every step's time from the batch's summary table. Both arms read the raw CSVs from a `file:` URI
 * the Spark server resolves (no staging folder), so both run the one mechanism a cluster needs.
 *
 *   npm run infra:up && npm run infra:up spark-cluster
 *   npm run bench -- batch-cluster [--scale small] [--runs 3]
 *
 * Records bench/results/batch-cluster-<scale>.json: per arm the totals and per-step medians, the
 * cluster's executors as its UI lists them with the tasks each completed (the work ran in the
 * worker JVMs, not in the driver), and the ratio cluster / local of the median totals.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { STEP_NAMES } from '../batch/context.ts';
import { probeSparkExecutors, sparkExecutors } from '../infra/local/probes.ts';
import { CLUSTER } from '../infra/local/spark-cluster.ts';
import { loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { benchDataRoot, ensureGenerated } from './generated-data.ts';
import { median, recordResult } from './results.ts';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: 'small' },
    runs: { type: 'string', default: '3' },
  },
});
const scale = args.scale as Scale;
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got ${args.runs}`);

const arms = {
  local: loadConfig(process.env).spark.remote,
  cluster: `sc://127.0.0.1:${CLUSTER.connect.port}`,
} as const;
type Arm = keyof typeof arms;
const clusterUi = `http://127.0.0.1:${CLUSTER.connect.uiPort}`;

interface Run {
  arm: Arm;
  run: number;
  seconds: number;
  steps: Record<string, number>;
  exitCode: number | null;
}

/** `1.2 s`, `850 ms`, `2 min 5 s` (batch/progress.ts formatDuration) in seconds. */
function parseDuration(text: string): number | undefined {
  const min = /^(\d+) min (\d+) s$/.exec(text);
  if (min) return Number(min[1]) * 60 + Number(min[2]);
  const s = /^([\d.]+) s$/.exec(text);
  if (s) return Number(s[1]);
  const ms = /^(\d+) ms$/.exec(text);
  return ms ? Number(ms[1]) / 1000 : undefined;
}

/** Step times from the summary table the batch prints at its end. */
function stepTimes(output: string): Record<string, number> {
  const times: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const cells = line.trim().split(/\s{2,}/);
    const [step, status, , elapsed] = cells;
    if (!step || !STEP_NAMES.includes(step as (typeof STEP_NAMES)[number]) || status !== 'done') continue;
    const seconds = elapsed === undefined ? undefined : parseDuration(elapsed);
    if (seconds !== undefined) times[step] = seconds;
  }
  return times;
}

async function runBatch(arm: Arm, run: number, root: string): Promise<Run> {
  const lake = join(root, `lake-${arm}`);
  const models = join(root, `models-${arm}`);
  rmSync(lake, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
  const env = {
    ...process.env,
    SPARK_REMOTE: arms[arm],
    RAW_DIR: pathToFileURL(join(root, 'raw')).href,
    LAKE_ROOT: lake,
    MODELS_DIR: models,
    LOG_LEVEL: 'warn',
  };
  mkdirSync(join(root, 'logs'), { recursive: true });
  const logPath = join(root, 'logs', `batch-${arm}-${run}.log`);
  const log = createWriteStream(logPath);
  const started = performance.now();
  const child = spawn('npm', ['run', '--silent', 'batch'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
    log.write(chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  log.end();
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0) console.log(output.slice(-4000));
  return { arm, run, seconds, steps: stepTimes(output), exitCode };
}

const generateSeconds = await ensureGenerated(scale);
const root = benchDataRoot(scale);
// The cluster must have its two executors before the first run: they are what is measured.
const executors = await probeSparkExecutors(clusterUi, CLUSTER.workers.length).catch((error: Error) => {
  throw new Error(
    `the standalone cluster is not ready (${error.message}): run npm run infra:up spark-cluster first`,
  );
});
console.log(`cluster: ${executors}`);

const results: Run[] = [];
for (let run = 1; run <= runs; run++) {
  const order: Arm[] = run % 2 === 1 ? ['local', 'cluster'] : ['cluster', 'local'];
  for (const arm of order) {
    const r = await runBatch(arm, run, root);
    results.push(r);
    console.log(`run ${run} ${arm}: ${r.seconds.toFixed(1)} s (exit ${r.exitCode})`);
    if (r.exitCode !== 0) throw new Error(`the batch failed on ${arm} (run ${run}); its log is above`);
  }
}

// Tasks each executor of the cluster's application completed (the driver runs none).
const tasks = (await sparkExecutors(clusterUi)).executors.map(({ id, hostPort, completedTasks }) => ({
  id,
  hostPort,
  completedTasks,
}));
console.log(`cluster tasks per executor: ${tasks.map((e) => `${e.id} ${e.completedTasks}`).join(', ')}`);

const summary = (arm: Arm) => {
  const mine = results.filter((r) => r.arm === arm);
  const steps = Object.fromEntries(
    STEP_NAMES.map((step) => [step, median(mine.map((r) => r.steps[step] ?? Number.NaN))]),
  );
  return {
    remote: arms[arm],
    totals: mine.map((r) => r.seconds),
    medianSeconds: median(mine.map((r) => r.seconds)),
    steps,
  };
};
const local = summary('local');
const cluster = summary('cluster');
const ratio = cluster.medianSeconds / local.medianSeconds;
console.log(`\nstep               local (s)  cluster (s)`);
for (const step of STEP_NAMES) {
  console.log(
    `${step.padEnd(18)} ${local.steps[step]!.toFixed(1).padStart(9)}  ${cluster.steps[step]!.toFixed(1).padStart(11)}`,
  );
}
console.log(
  `total (median of ${runs}) ${local.medianSeconds.toFixed(1)} s local, ${cluster.medianSeconds.toFixed(1)} s cluster: ×${ratio.toFixed(2)}`,
);
recordResult(`batch-cluster-${scale}`, {
  scale,
  runs,
  generateSeconds,
  rawDir: 'file: URI (no staging)',
  clusterShape: {
    workers: CLUSTER.workers.length,
    executor: CLUSTER.executor,
    connectHeap: CLUSTER.connect.heap,
  },
  clusterExecutors: executors,
  clusterTasksPerExecutor: tasks,
  local,
  cluster,
  ratioClusterOverLocal: Number(ratio.toFixed(3)),
});
