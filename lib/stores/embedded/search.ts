/**
 * Exact top-k by inner product over an ItemTable, pruned by its partitions when it has them
 * (see partitions.ts for the bound). The bit test of the filter is inlined
 * in the loops; this is the hot path of every recommendation.
 */

import { dotAt } from '../../vectors.ts';
import { anyInRange } from './bitset.ts';
import type { ItemTable } from './item-table.ts';
import { scanTopK } from './scan.ts';
import { TopK } from './top-k.ts';
import { widenQuery } from './widen.ts';

export interface SearchStats {
  cellsVisited: number;
  /** Rows scored exactly in float64 (after the float32 first pass, when there is one). */
  rowsScored: number;
}

/**
 * Relative slack added to every bound before it is compared with the k-th score: the bound and
 * the scores are float64 sums of float32 products whose rounding differs, and a bound must never
 * come out below a score it should cover.
 */
const BOUND_SLACK = 1e-9;

/**
 * Absolute slack on the float32 first pass: the relative margin covers rounding of normal
 * numbers; products that fall into float32's subnormal range can add up to 2^-149 each.
 */
const SUBNORMAL_SLACK = 1e-30;

export function searchTopK(
  table: ItemTable,
  query: Float32Array,
  k: number,
  eligible: Uint32Array | null,
  stats?: SearchStats,
): Array<{ score: number; row: number }> {
  const p = table.partitions;
  if (p === null) return scanTopK(table, query, k, eligible);
  const d = table.dimension;
  const { vectors, ids } = table;
  const { axes, along, across, acrossSuffixMax, alongMax, alongMin, acrossMax, cellStart, cells } = p;

  // The query in float64 (one conversion instead of one per product), then |q|².
  const q = widenQuery(query);
  const qq = dotAt(q, 0, q, 0, d);
  const slack = BOUND_SLACK * Math.sqrt(qq) * (table.maxNorm + 1) + 1e-12;

  // Per cell: t = q·a, s = |q − t·a| (rounded up), and the cell bound; best bound first.
  // Scratch arrays are shared by all searches (a search runs synchronously to its end):
  // allocating typed arrays per query cost more than the scan of a typical query.
  const { t, s, bound, queue } = scratchFor(cells);
  const { kernel, norms } = table;
  if (kernel !== null) kernel.setQuery(query);
  // The kernel also scores exactly (float64, the same sums as dotAt, so bit for bit the same
  // scores and bounds) when it holds the rows unpadded: rows and axes then stay in its memory.
  const kernelExact = kernel !== null && kernel.vectors !== null && kernel.axisCount === cells;
  for (let c = 0; c < cells; c++) {
    const dotA = kernelExact ? kernel.dotAxis(c) : dotAt(q, 0, axes, c * d, d);
    const perp = Math.sqrt(Math.max(0, qq - dotA * dotA) + qq * 1e-12);
    t[c] = dotA;
    s[c] = perp;
    bound[c] = (dotA >= 0 ? dotA * alongMax[c]! : dotA * alongMin[c]!) + perp * acrossMax[c]! + slack;
  }
  const cellQueue = queue.reset(cells);
  const batch = kernel?.batch ?? 0;
  const candidates = kernel?.rows ?? new Int32Array(0);
  const firstPass = kernel?.scores ?? new Float32Array(0);
  // Float32 first-pass error margin per unit of |x| (see simd-kernel.ts), plus the bound slack.
  const margin = (kernel?.margin ?? 0) * Math.sqrt(qq);

  const gatherInKernel = kernel?.canGather(eligible) === true;

  const heap = TopK.shared(Math.min(k, table.size));
  let cellsVisited = 0;
  let rowsScored = 0;
  while (cellQueue.size > 0) {
    const c = cellQueue.pop();
    if (heap.full && bound[c]! < heap.threshold) break;
    const start = cellStart[c]!;
    const end = cellStart[c + 1]!;
    if (eligible !== null && !anyInRange(eligible, start, end)) continue;
    cellsVisited++;
    const tc = t[c]!;
    const sc = s[c]!;
    // Rows are sorted by along descending and acrossSuffixMax never grows, so with t ≥ 0 the
    // bound t·along + s·acrossSuffixMax only falls from a row on: the rest of the cell can go.
    const monotone = tc >= 0;
    if (kernel !== null) {
      // Gather a batch of rows that pass the bounds and the filter, score them in float32 SIMD,
      // and score exactly only those whose float32 score (plus its error margin) can still win.
      let row = start;
      let stopped = false;
      while (row < end && !stopped) {
        const threshold = heap.full ? heap.threshold - slack : Number.NEGATIVE_INFINITY;
        let count = 0;
        if (gatherInKernel) {
          // The same row filter as the loop below, run in the kernel.
          count = kernel.gather(eligible, row, end, tc, sc, threshold);
          row = kernel.gatheredTo;
          stopped = kernel.gatherStopped;
        } else
          for (; row < end && count < batch; row++) {
            // The filter first: it is the cheaper test, and skipping an ineligible row only
            // delays the monotone stop to the next eligible one.
            if (eligible !== null && (eligible[row >>> 5]! & (1 << (row & 31))) === 0) continue;
            const a = tc * along[row]!;
            if (monotone && a + sc * acrossSuffixMax[row]! < threshold) {
              stopped = true;
              break;
            }
            if (a + sc * across[row]! < threshold) continue;
            candidates[count++] = row;
          }
        if (count === 0) continue;
        kernel.score(count);
        let cutoff = heap.full ? heap.threshold : Number.NEGATIVE_INFINITY;
        for (let i = 0; i < count; i++) {
          const r = candidates[i]!;
          if (firstPass[i]! + margin * norms[r]! + SUBNORMAL_SLACK < cutoff) continue;
          const score = kernelExact ? kernel.dotRow(r) : dotAt(q, 0, vectors, r * d, d);
          rowsScored++;
          heap.push(score, r, ids[r]!);
          if (heap.full) cutoff = heap.threshold;
        }
      }
      continue;
    }
    for (let row = start; row < end; row++) {
      if (heap.full) {
        const threshold = heap.threshold - slack;
        const a = tc * along[row]!;
        if (monotone && a + sc * acrossSuffixMax[row]! < threshold) break;
        if (a + sc * across[row]! < threshold) continue;
      }
      if (eligible !== null && (eligible[row >>> 5]! & (1 << (row & 31))) === 0) continue;
      const score = dotAt(q, 0, vectors, row * d, d);
      rowsScored++;
      heap.push(score, row, ids[row]!);
    }
  }
  if (stats) {
    stats.cellsVisited = cellsVisited;
    stats.rowsScored = rowsScored;
  }
  return heap.sorted();
}

/** A max-heap of cell indices keyed by their bounds: O(C) to build, O(log C) per cell visited. */
class CellQueue {
  private readonly heap: Int32Array;
  size = 0;

  constructor(
    private readonly key: Float64Array,
    capacity: number,
  ) {
    this.heap = new Int32Array(capacity);
  }

  /** Refills the queue with cells 0..cells-1 keyed by the current contents of `key`. */
  reset(cells: number): this {
    this.size = cells;
    for (let i = 0; i < cells; i++) this.heap[i] = i;
    for (let i = (cells >> 1) - 1; i >= 0; i--) this.siftDown(i);
    return this;
  }

  pop(): number {
    const top = this.heap[0]!;
    this.size--;
    if (this.size > 0) {
      this.heap[0] = this.heap[this.size]!;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const { heap, key } = this;
    let i = start;
    const item = heap[i]!;
    const itemKey = key[item]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && key[heap[child + 1]!]! > key[heap[child]!]!) child++;
      if (key[heap[child]!]! <= itemKey) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = item;
  }
}

interface Scratch {
  t: Float64Array;
  s: Float64Array;
  bound: Float64Array;
  queue: CellQueue;
}

let scratch: Scratch | undefined;

/** Per-cell scratch arrays for at least `cells` cells, grown when a table has more. */
function scratchFor(cells: number): Scratch {
  if (scratch === undefined || scratch.t.length < cells) {
    const bound = new Float64Array(cells);
    scratch = {
      t: new Float64Array(cells),
      s: new Float64Array(cells),
      bound,
      queue: new CellQueue(bound, cells),
    };
  }
  return scratch;
}
