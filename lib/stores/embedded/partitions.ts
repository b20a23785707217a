/**
 * Partitioning for exact maximum-inner-product search with pruning.
 *
 * Items are clustered by direction (spherical k-means on a sample; every item then goes to the
 * cell whose unit axis a it has the largest inner product with) and stored cell by cell. Each
 * item x splits into a part along its cell's axis and a part across it: x = (x·a)·a + x⊥. For
 * a query q with q·a = t and |q − t·a| = s, Cauchy-Schwarz on the across parts gives
 *
 *     q·x = t·(x·a) + (q − t·a)·x⊥ ≤ t·(x·a) + s·|x⊥|,
 *
 * and over a whole cell ≤ max(t·alongMax, t·alongMin) + s·acrossMax. Ranked by norm, ALS item
 * vectors of a cell fan out along its axis (popular items are long), which a ball around a
 * centroid fits badly and this cylinder fits well.
 *
 * A search visits cells in decreasing order of their bound and stops when the next bound cannot
 * beat the current k-th best score; inside a cell, members are sorted by x·a descending, so the
 * bound also ends a cell early, and a per-member bound skips most dot products. Nothing that
 * could enter the top k is skipped, so results are exact; how much is skipped depends on how
 * clustered the vectors are (the benchmark reports it).
 *
 * The build is deterministic for a given seed. It is written as a generator so it can run in
 * slices that yield to the event loop (activation) or in one go (a search that needs it now).
 * Cell assignment need not be the true best axis for correctness (bounds are computed from the
 * actual members), so it scores all axes at once in float32 with the SIMD kernel, or, on hosts
 * without WebAssembly SIMD, searches only the axes of the best few axis groups.
 */

import { createSimdKernel, type SimdKernel } from '../../simd-kernel.ts';
import { seededRandom } from '../random.ts';

export interface Partitioning {
  /** Cell count (cells are non-empty). */
  cells: number;
  /** New row order: `order[newRow] = oldRow`. */
  order: Int32Array;
  /** Row range of cell c: [cellStart[c], cellStart[c + 1]). */
  cellStart: Int32Array;
  /** Unit axis of each cell, cells × dimension, float64. */
  axes: Float64Array;
  /** x·a of each row (new order), descending within a cell. */
  along: Float64Array;
  /** |x − (x·a)·a| of each row (new order). */
  across: Float64Array;
  /** Largest `across` from this row to the end of its cell: makes the in-cell bound monotone. */
  acrossSuffixMax: Float64Array;
  alongMax: Float64Array;
  alongMin: Float64Array;
  acrossMax: Float64Array;
}

export interface PartitionOptions {
  /** Target cell count. @default ≈ 0.4·√n (130 for 105,000 items), at most 1024 */
  cells?: number;
  /** Points k-means trains on. @default 24 × cells */
  sampleSize?: number;
  /** Lloyd iterations on the sample. @default 6 */
  iterations?: number;
  /** @default 1 */
  seed?: number;
  /** Yield to the event loop after this much continuous work (async build). @default 20 */
  yieldEveryMs?: number;
  /** Smallest collection that gets partitions; smaller ones are scanned. @default 2048 */
  minItems?: number;
}

export const MIN_ITEMS_TO_PARTITION = 2048;

/**
 * Fewer, larger cells than √n: measured on the serving catalogue (105,000 × 64), 0.4·√n cells
 * search as fast as √n and build in a third of the time (bench/vector-search.bench.ts).
 */
export function defaultCellCount(n: number): number {
  return Math.max(1, Math.min(1024, Math.round(0.4 * Math.sqrt(n))));
}

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Builds without blocking the event loop for more than `yieldEveryMs` at a time. */
export async function buildPartitions(
  vectors: Float32Array,
  n: number,
  d: number,
  options: PartitionOptions = {},
): Promise<Partitioning> {
  const yieldEveryMs = options.yieldEveryMs ?? 20;
  const steps = partitionSteps(vectors, n, d, options);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= yieldEveryMs) {
      await yieldNow();
      sliceStart = performance.now();
    }
  }
}

/** Builds in one go (when a search needs the index right now). */
export function buildPartitionsSync(
  vectors: Float32Array,
  n: number,
  d: number,
  options: PartitionOptions = {},
): Partitioning {
  const steps = partitionSteps(vectors, n, d, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The axis (among `candidates[0..count)`, or all k when `candidates` is null) with the largest
 * inner product with the row at `base`.
 */
function bestAxis(
  vectors: Float32Array,
  base: number,
  d: number,
  axes: Float64Array,
  k: number,
  candidates: Int32Array | null = null,
  count = k,
): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const c = candidates === null ? i : candidates[i]!;
    const cb = c * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += vectors[base + j]! * axes[cb + j]!;
    if (s > bestScore) {
      bestScore = s;
      best = c;
    }
  }
  return best;
}

/** Normalises each d-long row of `m` in place; zero rows stay zero. */
function normaliseRows(m: Float64Array, rows: number, d: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += m[r * d + j]! ** 2;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) m[r * d + j]! *= inv;
  }
}

/**
 * Spherical k-means over the rows listed in `sample` of `data`: returns k unit axes. Empty
 * cells restart at a random sample row. Yields between passes.
 */
function* sphericalKMeans(
  data: Float32Array,
  sample: Int32Array,
  d: number,
  k: number,
  iterations: number,
  random: ReturnType<typeof seededRandom>,
): Generator<void, Float64Array, void> {
  const axes = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    const base = sample[c % sample.length]! * d;
    for (let j = 0; j < d; j++) axes[c * d + j] = data[base + j]!;
  }
  normaliseRows(axes, k, d);
  const assignment = new Int32Array(sample.length).fill(-1);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (let iteration = 0; iteration < iterations; iteration++) {
    let changed = 0;
    const scorer = axisScorer(axes, k, d);
    for (let from = 0; from < sample.length; from += 256) {
      const to = Math.min(sample.length, from + 256);
      if (scorer) {
        for (let s = from; s < to; s++) {
          const c = bestAxisSimd(scorer, data, sample[s]! * d, d, k);
          if (c !== assignment[s]) changed++;
          assignment[s] = c;
        }
      } else {
        changed += assignSample(data, sample, from, to, d, axes, k, assignment);
      }
      yield;
    }
    sums.fill(0);
    counts.fill(0);
    for (let s = 0; s < sample.length; s++) {
      const c = assignment[s]!;
      const base = sample[s]! * d;
      let norm = 0;
      for (let j = 0; j < d; j++) norm += data[base + j]! ** 2;
      if (norm === 0) continue;
      const inv = 1 / Math.sqrt(norm);
      counts[c]!++;
      for (let j = 0; j < d; j++) sums[c * d + j]! += data[base + j]! * inv;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        const base = sample[random.int(sample.length)]! * d;
        for (let j = 0; j < d; j++) sums[c * d + j] = data[base + j]!;
      }
    }
    axes.set(sums);
    normaliseRows(axes, k, d);
    if (changed === 0) break;
  }
  return axes;
}

/** Assigns sample rows [from, to) to their best axes; returns how many changed. */
function assignSample(
  data: Float32Array,
  sample: Int32Array,
  from: number,
  to: number,
  d: number,
  axes: Float64Array,
  k: number,
  assignment: Int32Array,
): number {
  let changed = 0;
  for (let s = from; s < to; s++) {
    const c = bestAxis(data, sample[s]! * d, d, axes, k);
    if (c !== assignment[s]) changed++;
    assignment[s] = c;
  }
  return changed;
}

/**
 * Assigns rows [from, to) through the axis groups: score the groups, then only the axes of the
 * `probe` best groups.
 */
function assignRows(
  vectors: Float32Array,
  from: number,
  to: number,
  d: number,
  axes: Float64Array,
  k: number,
  groupAxes: Float64Array,
  members: Int32Array[],
  probe: number,
  assignment: Int32Array,
): void {
  const groups = members.length;
  const groupScores = new Float64Array(groups);
  const candidates = new Int32Array(k);
  for (let row = from; row < to; row++) {
    const base = row * d;
    for (let g = 0; g < groups; g++) {
      let s = 0;
      const gb = g * d;
      for (let j = 0; j < d; j++) s += vectors[base + j]! * groupAxes[gb + j]!;
      groupScores[g] = s;
    }
    let count = 0;
    for (let p = 0; p < probe; p++) {
      let best = 0;
      for (let g = 1; g < groups; g++) if (groupScores[g]! > groupScores[best]!) best = g;
      groupScores[best] = Number.NEGATIVE_INFINITY;
      const m = members[best]!;
      for (let i = 0; i < m.length; i++) candidates[count++] = m[i]!;
    }
    assignment[row] = count === 0 ? 0 : bestAxis(vectors, base, d, axes, k, candidates, count);
  }
}

/** A float32 SIMD scorer of every axis at once, or null without WebAssembly SIMD. */
function axisScorer(axes: Float64Array, k: number, d: number): SimdKernel | null {
  const kernel = createSimdKernel(Float32Array.from(axes), k, d, { batch: k });
  if (kernel) for (let c = 0; c < k; c++) kernel.rows[c] = c;
  return kernel;
}

/** Best axis of the row at `base` with the SIMD scorer (float32 is plenty for a cell choice). */
function bestAxisSimd(kernel: SimdKernel, vectors: Float32Array, base: number, d: number, k: number): number {
  kernel.setQuery(vectors.subarray(base, base + d));
  kernel.score(k);
  const scores = kernel.scores;
  let best = 0;
  for (let c = 1; c < k; c++) if (scores[c]! > scores[best]!) best = c;
  return best;
}

/** The build as a generator that yields at points where it may pause. */
function* partitionSteps(
  vectors: Float32Array,
  n: number,
  d: number,
  options: PartitionOptions,
): Generator<void, Partitioning, void> {
  const random = seededRandom(options.seed ?? 1);
  const k = Math.max(1, Math.min(n, options.cells ?? defaultCellCount(n)));
  const assignment = new Int32Array(n);

  if (k > 1) {
    // Train on a random sample of rows (partial Fisher-Yates).
    const sampleSize = Math.max(k, Math.min(n, options.sampleSize ?? 24 * k));
    const pool = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < sampleSize; i++) {
      const j = i + random.int(n - i);
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
    }
    const axes = yield* sphericalKMeans(
      vectors,
      pool.subarray(0, sampleSize),
      d,
      k,
      options.iterations ?? 6,
      random,
    );

    const scorer = axisScorer(axes, k, d);
    if (scorer) {
      // Every axis scored at once in float32 SIMD.
      for (let row = 0; row < n; row++) {
        assignment[row] = bestAxisSimd(scorer, vectors, row * d, d, k);
        if ((row & 1023) === 0) yield;
      }
    } else {
      // Without SIMD: group the axes, then search only the best groups' axes.
      const groups = Math.max(1, Math.round(Math.sqrt(k)));
      const axes32 = Float32Array.from(axes);
      const everyAxis = Int32Array.from({ length: k }, (_, i) => i);
      const groupAxes = yield* sphericalKMeans(axes32, everyAxis, d, groups, 10, random);
      const memberLists: number[][] = Array.from({ length: groups }, () => []);
      for (let c = 0; c < k; c++) memberLists[bestAxis(axes32, c * d, d, groupAxes, groups)]!.push(c);
      const members = memberLists.map((m) => Int32Array.from(m));
      const probe = Math.min(groups, 3);
      for (let from = 0; from < n; from += 1024) {
        assignRows(
          vectors,
          from,
          Math.min(n, from + 1024),
          d,
          axes,
          k,
          groupAxes,
          members,
          probe,
          assignment,
        );
        yield;
      }
    }
  }

  // Final axes: the normalised mean direction of each cell's members; empty cells are dropped.
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (let row = 0; row < n; row++) {
    const c = assignment[row]!;
    counts[c]!++;
    const base = row * d;
    let norm = 0;
    for (let j = 0; j < d; j++) norm += vectors[base + j]! ** 2;
    if (norm === 0) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < d; j++) sums[c * d + j]! += vectors[base + j]! * inv;
  }
  const remap = new Int32Array(k).fill(-1);
  let cells = 0;
  for (let c = 0; c < k; c++) if (counts[c]! > 0) remap[c] = cells++;
  const axes = new Float64Array(cells * d);
  const cellStart = new Int32Array(cells + 1);
  for (let c = 0; c < k; c++) {
    const m = remap[c]!;
    if (m < 0) continue;
    let norm = 0;
    for (let j = 0; j < d; j++) norm += sums[c * d + j]! ** 2;
    // A cell of zero vectors has no direction: any unit axis will do.
    if (norm === 0) axes[m * d] = 1;
    else for (let j = 0; j < d; j++) axes[m * d + j] = sums[c * d + j]! / Math.sqrt(norm);
    cellStart[m + 1] = counts[c]!;
  }
  for (let m = 0; m < cells; m++) cellStart[m + 1]! += cellStart[m]!;
  yield;

  // Along and across parts of every row, relative to its cell's axis.
  const rowAlong = new Float64Array(n);
  const rowAcross = new Float64Array(n);
  for (let row = 0; row < n; row++) {
    const m = remap[assignment[row]!]!;
    assignment[row] = m;
    const base = row * d;
    const ab = m * d;
    let a = 0;
    for (let j = 0; j < d; j++) a += vectors[base + j]! * axes[ab + j]!;
    // Computed from the differences (not |x|² − a²), so no cancellation shrinks it.
    let p = 0;
    for (let j = 0; j < d; j++) p += (vectors[base + j]! - a * axes[ab + j]!) ** 2;
    rowAlong[row] = a;
    rowAcross[row] = Math.sqrt(p);
    if ((row & 1023) === 0) yield;
  }

  // Rows by (cell, along descending, old row); per-cell extremes.
  const order = Int32Array.from({ length: n }, (_, i) => i).sort(
    (x, y) => assignment[x]! - assignment[y]! || rowAlong[y]! - rowAlong[x]! || x - y,
  );
  const along = new Float64Array(n);
  const across = new Float64Array(n);
  const alongMax = new Float64Array(cells).fill(Number.NEGATIVE_INFINITY);
  const alongMin = new Float64Array(cells).fill(Number.POSITIVE_INFINITY);
  const acrossMax = new Float64Array(cells);
  for (let row = 0; row < n; row++) {
    const old = order[row]!;
    const m = assignment[old]!;
    along[row] = rowAlong[old]!;
    across[row] = rowAcross[old]!;
    if (along[row]! > alongMax[m]!) alongMax[m] = along[row]!;
    if (along[row]! < alongMin[m]!) alongMin[m] = along[row]!;
    if (across[row]! > acrossMax[m]!) acrossMax[m] = across[row]!;
  }
  const acrossSuffixMax = new Float64Array(n);
  for (let m = 0; m < cells; m++) {
    let running = 0;
    for (let row = cellStart[m + 1]! - 1; row >= cellStart[m]!; row--) {
      if (across[row]! > running) running = across[row]!;
      acrossSuffixMax[row] = running;
    }
  }
  return { cells, order, cellStart, axes, along, across, acrossSuffixMax, alongMax, alongMin, acrossMax };
}
