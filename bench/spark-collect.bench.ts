/**
 * Collect throughput of a large Spark Connect result, ours against PySpark's Connect client.
 *
 * The result: `id bigint, v array<float>[64]`, BENCH_ROWS rows (default 5 million, 264 bytes of
 * data per row, 1.3 GB). Both clients run the same query on the same server, interleaved run by
 * run, and materialize the whole result as an Arrow table (`toArrow()` on both sides); ours is
 * also measured through the bounded-memory batch iterator, and once more under
 * `--max-old-space-size=512` to record its heap.
 *
 *   npm run bench -- spark-collect
 *   SPARK_REMOTE=sc://host:15002 BENCH_ROWS=1000000 BENCH_RUNS=3 PYSPARK_PYTHON=/path/to/python npm run bench -- spark-collect
 *
 * The peer needs `pyspark-client` (pip install pyspark-client==<server version>) in the Python
 * given by PYSPARK_PYTHON (default python3); without it the peer is skipped with a message.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SparkSession } from '../lib/spark-connect/index.ts';
import { largeResultQuery } from '../lib/spark-connect/test/large-result.script.ts';
import { median, recordResult } from './results.ts';

const remote = process.env['SPARK_REMOTE'] ?? 'sc://localhost:15002';
const rows = Number(process.env['BENCH_ROWS'] ?? 5_000_000);
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const python = process.env['PYSPARK_PYTHON'] ?? 'python3';
const BYTES_PER_ROW = 8 + 64 * 4;
const dataMB = (rows * BYTES_PER_ROW) / 1e6;

/** The same query as largeResultQuery(), for PySpark. */
const PEER = `
import json, os, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
n = int(os.environ["BENCH_ROWS"])
elements = ", ".join(f"CAST(id + {i} AS FLOAT)" for i in range(64))
df = spark.range(0, n, 1, 20).selectExpr("id", f"array({elements}) AS v")
times, cpu = [], []
for _ in range(int(os.environ["BENCH_RUNS"])):
    t, c = time.perf_counter(), time.process_time()
    table = df.toArrow()
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
    got = table.num_rows
    del table
print(json.dumps({"seconds": times, "cpuSeconds": cpu, "rows": got}))
`;

function peerAvailable(): string | null {
  const probe = spawnSync(python, ['-c', 'import pyspark, pyarrow; print(pyspark.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0) return null;
  return probe.stdout.trim();
}

interface Timing {
  seconds: number;
  /** CPU time of the client process (all its threads): robust to other load on the machine. */
  cpuSeconds: number;
}

function runPeer(n: number, count: number): { seconds: number[]; cpuSeconds: number[]; rows: number } {
  const result = spawnSync(python, ['-c', PEER], {
    encoding: 'utf8',
    env: { ...process.env, SPARK_REMOTE: remote, BENCH_ROWS: String(n), BENCH_RUNS: String(count) },
    maxBuffer: 16 * 2 ** 20,
  });
  if (result.status !== 0) throw new Error(`PySpark peer failed: ${result.stderr.slice(-2000)}`);
  const line = result.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line) as { seconds: number[]; cpuSeconds: number[]; rows: number };
}

async function timed(fn: () => Promise<number>, n: number): Promise<Timing> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const count = await fn();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (count !== n) throw new Error(`expected ${n} rows, got ${count}`);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

const timeToArrow = (spark: SparkSession, n: number) =>
  timed(async () => (await largeResultQuery(spark, n).toArrow()).numRows, n);

const timeIterator = (spark: SparkSession, n: number) =>
  timed(async () => {
    let count = 0;
    for await (const batch of largeResultQuery(spark, n).toBatches()) count += batch.numRows;
    return count;
  }, n);

function heapRun(n: number): Record<string, unknown> {
  const script = fileURLToPath(new URL('../lib/spark-connect/test/large-result.script.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--max-old-space-size=512', '--import', 'tsx', script], {
    encoding: 'utf8',
    env: { ...process.env, SPARK_REMOTE: remote, ROWS: String(n), HEAP_LIMIT_MIB: '512' },
  });
  if (result.status !== 0) throw new Error(`bounded-memory run failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

const summarize = (timings: Timing[]) => {
  const seconds = median(timings.map((t) => t.seconds));
  const cpuSeconds = median(timings.map((t) => t.cpuSeconds));
  return {
    runs: timings.map((t) => ({
      seconds: Number(t.seconds.toFixed(2)),
      cpuSeconds: Number(t.cpuSeconds.toFixed(2)),
    })),
    seconds: Number(seconds.toFixed(2)),
    rowsPerSecond: Math.round(rows / seconds),
    mbPerSecond: Number((dataMB / seconds).toFixed(1)),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    mbPerCpuSecond: Number((dataMB / cpuSeconds).toFixed(1)),
  };
};

const spark = new SparkSession({ remote });
const peerVersion = peerAvailable();
console.log(
  `server ${remote} (Spark ${await spark.version()}), ${rows} rows × (bigint, array<float>[64]) = ${dataMB.toFixed(0)} MB`,
);
if (!peerVersion)
  console.log(`peer skipped: ${python} cannot import pyspark and pyarrow (pip install pyspark-client)`);

// Warm-up: JIT on both sides, server code generation, Python imports.
await timeIterator(spark, Math.min(rows, 500_000));
if (peerVersion) runPeer(Math.min(rows, 500_000), 1);

const ours: Timing[] = [];
const oursIterator: Timing[] = [];
const peer: Timing[] = [];
const show = (t: Timing | undefined) =>
  t ? `${t.seconds.toFixed(1)} s (cpu ${t.cpuSeconds.toFixed(1)} s)` : '-';
// The three measurements take turns going first: the server's garbage from one large result
// otherwise lands on whichever measurement always follows it.
const steps: (() => Promise<void>)[] = [
  async () => {
    ours.push(await timeToArrow(spark, rows));
  },
  async () => {
    oursIterator.push(await timeIterator(spark, rows));
  },
  async () => {
    if (!peerVersion) return;
    const p = runPeer(rows, 1);
    peer.push({ seconds: p.seconds[0]!, cpuSeconds: p.cpuSeconds[0]! });
  },
];
for (let run = 0; run < runs; run++) {
  for (let k = 0; k < steps.length; k++) await steps[(run + k) % steps.length]!();
  console.log(
    `run ${run + 1}: ours toArrow ${show(ours.at(-1))}, ours iterator ${show(oursIterator.at(-1))}` +
      (peerVersion ? `, PySpark toArrow ${show(peer.at(-1))}` : ''),
  );
}
await spark.stop();
const heap = heapRun(rows);

const result = {
  remote,
  rows,
  bytesPerRow: BYTES_PER_ROW,
  runs,
  loadAverage: loadavg(),
  ours: { toArrow: summarize(ours), iterator: summarize(oursIterator) },
  peer: peerVersion ? { client: `pyspark-client ${peerVersion}`, toArrow: summarize(peer) } : null,
  /** Wall-clock speed, peer toArrow median / ours toArrow median: > 1 means ours is faster. */
  speedRatio: peerVersion
    ? Number((median(peer.map((t) => t.seconds)) / median(ours.map((t) => t.seconds))).toFixed(2))
    : null,
  /** Same, against our batch iterator (the way to consume large results). */
  iteratorSpeedRatio: peerVersion
    ? Number((median(peer.map((t) => t.seconds)) / median(oursIterator.map((t) => t.seconds))).toFixed(2))
    : null,
  /** Client CPU per run, peer / ours: > 1 means ours spends less CPU on the same result. */
  cpuRatio: peerVersion
    ? Number((median(peer.map((t) => t.cpuSeconds)) / median(ours.map((t) => t.cpuSeconds))).toFixed(2))
    : null,
  boundedMemory: heap,
};
console.log(JSON.stringify(result, null, 2));
recordResult('spark-collect', result);
