/**
 * Batch at scale: generates synthetic data of a scale (default `full`: the real H&M sizes,
 * 31.8M purchases) and runs `npm run batch` step by step, measuring per step the wall time, the
 * peak resident memory of the batch process (Node) and of the Spark Connect server (JVM, sampled
 * from /proc every 500 ms; the server must run on this machine).
 *
 *   npm run bench -- batch-scale [--scale full|small|tiny] [--keep] [--from <step>]
 *
 * `--from <step>` resumes on the lake of an earlier run (kept as it is) and adds the new steps'
 * numbers to the recorded ones, e.g. to re-run `train-als` with other ALS_* settings.
 * Data and lake go to <tmp>/recsys-bench/<scale>/ (data is reused until the generator changes; --keep leaves the
 * lake for inspection). This takes a long time at `full` on a small machine: run it in the
 * background.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { STEP_NAMES } from '../batch/context.ts';
import { loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { benchDataRoot, ensureGenerated } from './generated-data.ts';
import { recordResult } from './results.ts';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: 'full' },
    keep: { type: 'boolean', default: false },
    from: { type: 'string' },
  },
});
const scale = args.scale as Scale;
const root = benchDataRoot(scale);
const env = {
  ...process.env,
  RAW_DIR: join(root, 'raw'),
  LAKE_ROOT: join(root, 'lake-scale'),
  MODELS_DIR: join(root, 'models-scale'),
  STAGING_DIR: join(root, 'staging'),
};

const config = loadConfig(env);

/** Resident memory (VmRSS) of a process in bytes, or 0 when it is gone. */
function rss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Processes in the tree under `pid` (the batch runs as npm → node). */
function descendants(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** The local Spark Connect server listening on SPARK_REMOTE's port. */
function sparkServerPid(): number | undefined {
  const portFlag = `spark.connect.grpc.binding.port=${config.spark.endpoint.port}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('SparkConnectServer') && cmdline.includes(portFlag)) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

interface StepMeasure {
  step: string;
  seconds: number;
  batchPeakMiB: number;
  sparkPeakMiB: number;
  exitCode: number | null;
  alsMaxIter?: number;
  alsRank?: number;
}

function runStep(step: string, sparkPid: number | undefined): Promise<StepMeasure> {
  const started = performance.now();
  const child = spawn('npm', ['run', '--silent', 'batch', '--', '--step', step], { env, stdio: 'inherit' });
  let batchPeak = 0;
  let sparkPeak = 0;
  const timer = setInterval(() => {
    const pids = [child.pid!, ...descendants(child.pid!)];
    batchPeak = Math.max(
      batchPeak,
      pids.reduce((sum, pid) => sum + rss(pid), 0),
    );
    if (sparkPid) sparkPeak = Math.max(sparkPeak, rss(sparkPid));
  }, 500);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({
        step,
        seconds: (performance.now() - started) / 1000,
        batchPeakMiB: Math.round(batchPeak / 2 ** 20),
        sparkPeakMiB: Math.round(sparkPeak / 2 ** 20),
        exitCode: code,
      });
    });
  });
}

let generateSeconds = await ensureGenerated(scale);
const resultPath = join(dirname(fileURLToPath(import.meta.url)), 'results', `batch-scale-${scale}.json`);
const firstStep = args.from === undefined ? 0 : STEP_NAMES.indexOf(args.from as (typeof STEP_NAMES)[number]);
if (firstStep < 0) throw new Error(`--from must be one of ${STEP_NAMES.join(', ')}`);
let earlier: StepMeasure[] = [];
if (firstStep === 0) {
  rmSync(env.LAKE_ROOT, { recursive: true, force: true });
  rmSync(env.MODELS_DIR, { recursive: true, force: true });
} else if (existsSync(resultPath)) {
  const previous = JSON.parse(readFileSync(resultPath, 'utf8')) as {
    steps?: StepMeasure[];
    generateSeconds?: number;
  };
  earlier = (previous.steps ?? []).filter(
    (m) => STEP_NAMES.indexOf(m.step as (typeof STEP_NAMES)[number]) < firstStep,
  );
  generateSeconds ??= previous.generateSeconds;
}

const sparkPid = sparkServerPid();
if (!sparkPid) console.log('no local Spark Connect server process found: Spark memory is not measured');
const measures: StepMeasure[] = [...earlier];
for (const step of STEP_NAMES.slice(firstStep)) {
  const m = await runStep(step, sparkPid);
  measures.push({ ...m, alsMaxIter: config.model.maxIter, alsRank: config.model.rank });
  console.log(
    `${step}: ${m.seconds.toFixed(1)} s, batch peak ${m.batchPeakMiB} MiB, Spark server peak ${m.sparkPeakMiB} MiB`,
  );
  // Recorded after every step, so a run stopped part-way still leaves its numbers.
  recordResult(`batch-scale-${scale}`, {
    scale,
    generateSeconds,
    steps: measures,
    complete: measures.length === STEP_NAMES.length && measures.every((x) => x.exitCode === 0),
  });
  if (m.exitCode !== 0) {
    console.log(`${step} failed (exit ${m.exitCode}); stopping`);
    break;
  }
}
const total = measures.reduce((s, m) => s + m.seconds, 0);
console.log(`total ${total.toFixed(1)} s`);
// A lake of a run that stopped part-way is kept so `--from <step>` can resume on it.
const complete = measures.length === STEP_NAMES.length && measures.every((m) => m.exitCode === 0);
if (complete && !args.keep) rmSync(env.LAKE_ROOT, { recursive: true, force: true });
