/**
 * ALS fit speed, one change at a time: each experiment compares arms that differ in one thing
 * (the server's linear algebra, its serializer, the block count, checkpointing, the storage level
 * of the intermediate RDDs, the input cached before `fit`), fitting the batch's ALS on the same
 * training interactions. Arms run in turn (A, B, A, B, …) so that drift of the host hits both;
 * each server gets one warm-up fit first (JIT), not counted. Reports the median of `--runs` fits per arm and its ratio to the first arm.
 *
 *   npm run bench -- als-fit [--scale small] [--runs 3] [--experiment all | a comma list of linear-algebra,serializer,blocks,checkpoint,storage-level,cached-input]
 *
 * Arms that need other server settings get their own Spark Connect server, started by the local
 * launcher on a spare port with the extra settings, and stopped at the end.
 * The data is the bench lake of `--scale` (prepared as by `als-peer`).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext } from '../batch/context.ts';
import { ProgressPrinter } from '../batch/progress.ts';
import { runBatch } from '../batch/runner.ts';
import { delta, deltaExists } from '../batch/spark.ts';
import { alsBlocks, alsEstimator, linearAlgebra, linearAlgebraLabel } from '../batch/train-als.ts';
import { downService, upService } from '../infra/local/launcher.ts';
import { loadConfig } from '../lib/config.ts';
import type { Scale } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { type ALSParams, SparkSession } from '../lib/spark-connect/index.ts';
import { benchDataRoot, ensureGenerated, lakeEnv } from './generated-data.ts';
import { median, recordResult } from './results.ts';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: 'small' },
    runs: { type: 'string', default: '3' },
    experiment: { type: 'string', default: 'all' },
  },
});
const scale = args.scale as Scale;
const runs = Number(args.runs);
const root = benchDataRoot(scale);
const config = loadConfig({ ...process.env, ...lakeEnv(root) });
const logger = createLogger({ level: 'warn' });

/** Server settings (Java system properties) of an arm; `{}` is the local launcher's server. */
type ServerConf = Record<string, string>;
interface Arm {
  label: string;
  server?: ServerConf;
  params?: ALSParams;
  cacheInput?: boolean;
}

const JAVA_LINEAR_ALGEBRA: ServerConf = {
  // A library name that does not exist: the netlib bridge falls back to VectorBLAS / F2jLAPACK.
  'dev.ludovic.netlib.blas.nativeLib': 'libnone.so.0',
  'dev.ludovic.netlib.lapack.nativeLib': 'libnone.so.0',
};
const KRYO: ServerConf = { 'spark.serializer': 'org.apache.spark.serializer.KryoSerializer' };

const EXPERIMENTS: Record<string, Arm[]> = {
  'linear-algebra': [
    { label: 'Java (VectorBLAS, F2jLAPACK)', server: JAVA_LINEAR_ALGEBRA },
    { label: 'native (system BLAS/LAPACK)' },
  ],
  serializer: [{ label: 'Java serializer' }, { label: 'Kryo', server: KRYO }],
  blocks: [
    { label: '10×10 blocks (Spark default)', params: { numUserBlocks: 10, numItemBlocks: 10 } },
    { label: '4×4 blocks', params: { numUserBlocks: 4, numItemBlocks: 4 } },
    { label: '2×2 blocks', params: { numUserBlocks: 2, numItemBlocks: 2 } },
  ],
  checkpoint: [
    { label: 'checkpointInterval 10' },
    { label: 'no checkpoint', params: { checkpointInterval: -1 } },
  ],
  'storage-level': [
    { label: 'intermediate MEMORY_AND_DISK (default)' },
    { label: 'intermediate MEMORY_ONLY', params: { intermediateStorageLevel: 'MEMORY_ONLY' } },
    {
      label: 'intermediate MEMORY_AND_DISK_SER',
      params: { intermediateStorageLevel: 'MEMORY_AND_DISK_SER' },
    },
  ],
  'cached-input': [
    { label: 'input read from Delta' },
    { label: 'input cached, 2 partitions', cacheInput: true },
  ],
};

const selected = args.experiment === 'all' ? Object.keys(EXPERIMENTS) : args.experiment!.split(',');
for (const name of selected) {
  if (!EXPERIMENTS[name])
    throw new Error(`unknown experiment ${name}; one of all, ${Object.keys(EXPERIMENTS).join(', ')}`);
}

// The data: the same lake `als-peer` prepares.
await ensureGenerated(scale);
{
  const spark = new SparkSession({ remote: config.spark.remote });
  const ctx = createContext(config, spark, logger, {}, { note: () => {}, print: () => {} });
  for (const step of ['csv-to-delta', 'preprocess']) {
    if (await deltaExists(spark, ctx.lake.silver.holdout)) break;
    const result = await runBatch({
      config,
      logger,
      printer: new ProgressPrinter(),
      protocol: 'holdout',
      step,
    });
    if (result.failure) throw result.failure;
  }
  await spark.stop();
}

/**
 * Servers by their settings; the launcher's own for `{}`. Another server is the local launcher's
 * (`upService`) on a spare port with its own run directory, the extra settings given to its JVM
 * as `JAVA_TOOL_OPTIONS`.
 */
const servers = new Map<string, { remote: string; port?: number; env?: Record<string, string> }>();
let nextPort = config.spark.endpoint.port + 11;

/** Runs `fn` with `vars` set in this process's environment (the launcher reads it). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function serverConfig(port: number) {
  return loadConfig({ ...process.env, SPARK_REMOTE: `sc://localhost:${port}` });
}

async function serverFor(conf: ServerConf = {}): Promise<string> {
  const key = JSON.stringify(conf);
  const known = servers.get(key);
  if (known) return known.remote;
  if (Object.keys(conf).length === 0) {
    servers.set(key, { remote: config.spark.remote });
    return config.spark.remote;
  }
  const port = nextPort++;
  const extra = Object.entries(conf).map(([k, v]) => `-D${k}=${v}`);
  const env = {
    INFRA_RUN_DIR: join(tmpdir(), `recsys-als-fit-${port}`),
    JAVA_TOOL_OPTIONS: extra.join(' '),
  };
  await withEnv(env, () => upService(serverConfig(port), 'spark'));
  const remote = `sc://localhost:${port}`;
  servers.set(key, { remote, port, env });
  console.log(`started a Spark Connect server on :${port} with ${extra.join(' ')}`);
  return remote;
}

async function stopServers(): Promise<void> {
  for (const { port, env } of servers.values()) {
    if (port === undefined || !env) continue;
    await withEnv(env, () => downService(serverConfig(port), 'spark'));
  }
}

async function fitOnce(arm: Arm): Promise<{ seconds: number; algebra: string }> {
  const spark = new SparkSession({ remote: await serverFor(arm.server) });
  try {
    const ctx = createContext(config, spark, logger, {}, { note: () => {}, print: () => {} });
    let df = delta(spark, ctx.lake.silver.interactions).select('user_idx', 'item_idx', 'weight');
    if (arm.cacheInput) {
      df = await df.repartition(2).persist();
      await df.count();
    }
    const blocks = await alsBlocks(spark, config.model.blocks);
    const la = await linearAlgebra(spark);
    const started = performance.now();
    const model = await alsEstimator(config.model, blocks)
      .setParams(arm.params ?? {})
      .fit(df);
    const seconds = (performance.now() - started) / 1000;
    await model.dispose();
    if (arm.cacheInput) await df.unpersist();
    return { seconds, algebra: linearAlgebraLabel(la) };
  } finally {
    await spark.stop();
  }
}

const results: Record<string, unknown>[] = [];
try {
  for (const name of selected) {
    const arms = EXPERIMENTS[name]!;
    console.log(`\n${name}: ${arms.map((a) => a.label).join(' vs ')} (${runs} alternating runs each)`);
    for (const arm of arms) {
      const warm = await fitOnce(arm);
      console.log(`  warm-up ${arm.label}: ${warm.seconds.toFixed(1)} s (${warm.algebra})`);
    }
    const fits = arms.map(() => [] as number[]);
    const algebra = arms.map(() => '');
    for (let run = 0; run < runs; run++) {
      for (const [i, arm] of arms.entries()) {
        const fit = await fitOnce(arm);
        fits[i]!.push(fit.seconds);
        algebra[i] = fit.algebra;
        console.log(`  run ${run + 1} ${arm.label}: ${fit.seconds.toFixed(1)} s`);
      }
    }
    const base = median(fits[0]!);
    const rows = arms.map((arm, i) => ({
      label: arm.label,
      server: arm.server ?? {},
      params: arm.params ?? {},
      cacheInput: arm.cacheInput ?? false,
      linearAlgebra: algebra[i],
      fitSeconds: fits[i]!.map((s) => Number(s.toFixed(2))),
      medianSeconds: Number(median(fits[i]!).toFixed(2)),
      ratio: Number((median(fits[i]!) / base).toFixed(3)),
    }));
    for (const r of rows) console.log(`  ${r.label}: median ${r.medianSeconds} s (×${r.ratio})`);
    results.push({ experiment: name, arms: rows });
  }
} finally {
  await stopServers();
}

recordResult(`als-fit-${scale}`, {
  scale,
  params: config.model,
  runs,
  experiments: results,
});
