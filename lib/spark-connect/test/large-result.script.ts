/**
 * Streams a large `(id bigint, v array<float>[64])` result through `toBatches()` and prints a
 * JSON summary. Run under `node --max-old-space-size=512` by large-result.int.test.ts (and the
 * benchmark) to show the iterator keeps memory bounded. Exits 1 if the V8 heap goes past the
 * limit given in HEAP_LIMIT_MIB.
 */
import { SparkSession } from '../index.ts';

const rows = Number(process.env['ROWS'] ?? 5_000_000);
const heapLimit = Number(process.env['HEAP_LIMIT_MIB'] ?? 512) * 2 ** 20;

/** `id` and `v = [id, id + 1, ..., id + 63]` as floats: 264 bytes of data per row. */
export function largeResultQuery(spark: SparkSession, n: number) {
  const elements = Array.from({ length: 64 }, (_, i) => `CAST(id + ${i} AS FLOAT)`).join(', ');
  // Many small partitions: the driver buffers fewer out-of-order task results.
  return spark.range(0, n, 1, 20).selectExpr('id', `array(${elements}) AS v`);
}

async function main() {
  const spark = new SparkSession();
  let maxHeap = 0;
  let maxExternal = 0;
  const sample = () => {
    const m = process.memoryUsage();
    maxHeap = Math.max(maxHeap, m.heapUsed);
    maxExternal = Math.max(maxExternal, m.external + m.arrayBuffers);
  };
  const timer = setInterval(sample, 50);
  let count = 0;
  let idSum = 0n;
  let lastSum = 0;
  let bad = 0;
  let batches = 0;
  const started = performance.now();
  try {
    for await (const batch of largeResultQuery(spark, rows).toBatches()) {
      batches++;
      const idData = batch.getChild('id')!.data[0]!;
      const ids = idData.values as BigInt64Array;
      const list = batch.getChild('v')!.data[0]!;
      const offsets = list.valueOffsets as Int32Array;
      const floats = list.children[0]!.values as Float32Array;
      for (let r = 0; r < batch.numRows; r++) {
        const id = ids[idData.offset + r]!;
        idSum += id;
        const start = offsets[list.offset + r]!;
        const end = offsets[list.offset + r + 1]!;
        if (end - start !== 64 || floats[start] !== Number(id)) bad++;
        lastSum += floats[end - 1]!;
      }
      count += batch.numRows;
      if (batches % 20 === 0) sample();
    }
  } finally {
    clearInterval(timer);
    await spark.stop();
  }
  sample();
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    rows: count,
    batches,
    badRows: bad,
    idSum: idSum.toString(),
    lastSum,
    seconds,
    maxHeapMiB: maxHeap / 2 ** 20,
    maxExternalMiB: maxExternal / 2 ** 20,
    heapLimitMiB: heapLimit / 2 ** 20,
  };
  console.log(JSON.stringify(summary));
  if (maxHeap >= heapLimit) process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
