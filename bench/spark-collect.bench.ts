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
df = spark.range(0, n, 1, 4).selectExpr("id", f"array({elements}) AS v")
times = []
for _ in range(int(os.environ["BENCH_RUNS"])):
    t = time.perf_counter()
    table = df.toArrow()
    times.append(time.perf_counter() - t)
    got = table.num_rows
    del table
print(json.dumps({"seconds": times, "rows": got, "version": __import__("pyspark").__version__}))
`;

function peerAvailable(): string | null {
  const probe = spawnSync(python, ['-c', 'import pyspark, pyarrow; print(pyspark.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0) return null;
  return probe.stdout.trim();
}

function runPeer(n: number, count: number): { seconds: number[]; rows: number } {
  const result = spawnSync(python, ['-c', PEER], {
    encoding: 'utf8',
    env: { ...process.env, SPARK_REMOTE: remote, BENCH_ROWS: String(n), BENCH_RUNS: String(count) },
    maxBuffer: 16 * 2 ** 20,
  });
  if (result.status !== 0) throw new Error(`PySpark peer failed: ${result.stderr.slice(-2000)}`);
  const line = result.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line) as { seconds: number[]; rows: number };
}

async function timeToArrow(spark: SparkSession, n: number): Promise<number> {
  const started = performance.now();
  const table = await largeResultQuery(spark, n).toArrow();
  const seconds = (performance.now() - started) / 1000;
  if (table.numRows !== n) throw new Error(`expected ${n} rows, got ${table.numRows}`);
  return seconds;
}

async function timeIterator(spark: SparkSession, n: number): Promise<number> {
  const started = performance.now();
  let count = 0;
  for await (const batch of largeResultQuery(spark, n).toBatches()) count += batch.numRows;
  if (count !== n) throw new Error(`expected ${n} rows, got ${count}`);
  return (performance.now() - started) / 1000;
}

function heapRun(n: number): Record<string, unknown> {
  const script = fileURLToPath(new URL('../lib/spark-connect/test/large-result.script.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--max-old-space-size=512', '--import', 'tsx', script], {
    encoding: 'utf8',
    env: { ...process.env, SPARK_REMOTE: remote, ROWS: String(n), HEAP_LIMIT_MIB: '512' },
  });
  if (result.status !== 0) throw new Error(`bounded-memory run failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

const rate = (seconds: number) => ({
  seconds: Number(seconds.toFixed(2)),
  rowsPerSecond: Math.round(rows / seconds),
  mbPerSecond: Number((dataMB / seconds).toFixed(1)),
});

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

const ours: number[] = [];
const oursIterator: number[] = [];
const peer: number[] = [];
for (let run = 0; run < runs; run++) {
  ours.push(await timeToArrow(spark, rows));
  oursIterator.push(await timeIterator(spark, rows));
  if (peerVersion) peer.push(...runPeer(rows, 1).seconds);
  console.log(
    `run ${run + 1}: ours toArrow ${ours.at(-1)!.toFixed(1)} s, ours iterator ${oursIterator.at(-1)!.toFixed(1)} s` +
      (peerVersion ? `, PySpark toArrow ${peer.at(-1)!.toFixed(1)} s` : ''),
  );
}
await spark.stop();
const heap = heapRun(rows);

const result = {
  remote,
  rows,
  bytesPerRow: BYTES_PER_ROW,
  runs,
  ours: {
    toArrow: { runs: ours, ...rate(median(ours)) },
    iterator: { runs: oursIterator, ...rate(median(oursIterator)) },
  },
  peer: peerVersion
    ? { client: `pyspark-client ${peerVersion}`, toArrow: { runs: peer, ...rate(median(peer)) } }
    : null,
  /** > 1 means ours is faster. */
  speedRatio: peerVersion ? Number((median(peer) / median(ours)).toFixed(2)) : null,
  boundedMemory: heap,
};
console.log(JSON.stringify(result, null, 2));
recordResult('spark-collect', result);
