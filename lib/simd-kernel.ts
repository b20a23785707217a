/**
 * A WebAssembly SIMD kernel that scores many item rows against one query in float32
 * (f32x4 multiply-add into four independent accumulators, summed at the end): about ten times the speed of the scalar
 * float64 loop in JavaScript. The search uses it as a first pass only: a row whose float32
 * score, raised by a rigorous rounding-error margin, cannot reach the current k-th best score is
 * dropped; every other row is scored again exactly in float64 before it enters the top k, so
 * results stay identical to the exhaustive scan.
 *
 * Error bound: each product and each addition in float32 has relative error at most u = 2^-24;
 * with at most d/4 sequential additions per lane and five more to combine accumulators and
 * lanes, the computed score s32
 * satisfies |s32 − q·x| ≤ γ·Σ|q_j·x_j| ≤ γ·|q|·|x| with γ = m·u/(1 − m·u), m = d/4 + 6. The
 * search uses 4γ (and never less than 1e-6) as its margin.
 *
 * The same module scores exactly too: `dot_row` (float32 row) and `dot_row64` (float64 cell axis)
 * take the query in float64 and add the products in exactly the order of `dotAt` in
 * lib/vectors.ts, so their results are bit for bit the JavaScript ones, at a fraction of the
 * cost, and the rows are read from the memory the first pass just brought into the cache. The
 * table then keeps no second copy of its vectors (see `vectors`).
 *
 * The module is a few hundred bytes assembled below (no toolchain, no binary in the repository);
 * hosts without WebAssembly SIMD get `null` from `createSimdKernel` and the search falls back to
 * the scalar loop.
 */

import { dotAt } from './vectors.ts';

/** Bytes of the module, built from readable opcodes. */
function assembleModule(): Uint8Array {
  const leb = (value: number): number[] => {
    const out: number[] = [];
    let v = value >>> 0;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      out.push(byte);
    } while (v !== 0);
    return out;
  };
  const str = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];

  const I32 = 0x7f;
  const V128 = 0x7b;
  // Opcodes used by the function.
  const block = [0x02, 0x40];
  const loop = [0x03, 0x40];
  const end = [0x0b];
  const brIf = (depth: number) => [0x0d, depth];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32Const = (n: number) => [0x41, ...(n < 64 ? [n] : [(n & 0x7f) | 0x80, n >> 7])]; // 0 ≤ n < 8192
  const i32Eqz = [0x45];
  const i32LtU = [0x49];
  const i32Add = [0x6a];
  const i32Mul = [0x6c];
  const i32Shl = [0x74];
  const i32Load = [0x28, 0x02, 0x00];
  const f32Store = [0x38, 0x02, 0x00];
  const f32Add = [0x92];
  const v128Load = [0xfd, 0x00, 0x04, 0x00];
  const v128LoadAt = (offset: number) => [0xfd, 0x00, 0x04, ...leb(offset)];
  const v128Zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const f32x4Lane = (lane: number) => [0xfd, 0x1f, lane];
  const f32x4Add = [0xfd, ...leb(0xe4)];
  const f32x4Mul = [0xfd, ...leb(0xe6)];

  // score_rows(q, base, stride, rows, count, out): out[i] = Σ q · row(rows[i]) in float32.
  const [q, base, stride, rows, count, out] = [0, 1, 2, 3, 4, 5];
  const [i, p, qp, stop, acc, acc1, acc2, acc3] = [6, 7, 8, 9, 10, 11, 12, 13];
  // biome-ignore format: one line per step of the algorithm
  const code = [
    ...block,
    ...get(count), ...i32Eqz, ...brIf(0), // nothing to do for an empty batch
    ...loop, // for each listed row i
    // p = base + rows[i] * stride; stop = p + stride; qp = q; acc = 0
    ...get(base), ...get(rows), ...get(i), ...i32Const(2), ...i32Shl, ...i32Add, ...i32Load,
    ...get(stride), ...i32Mul, ...i32Add, ...tee(p),
    ...get(stride), ...i32Add, ...set(stop),
    ...get(q), ...set(qp),
    ...v128Zero, ...tee(acc), ...tee(acc1), ...tee(acc2), ...set(acc3),
    ...loop, // four independent accumulators over 16 floats per step, until p reaches stop
    ...get(acc), ...get(p), ...v128Load, ...get(qp), ...v128Load, ...f32x4Mul, ...f32x4Add, ...set(acc),
    ...get(acc1), ...get(p), ...v128LoadAt(16), ...get(qp), ...v128LoadAt(16), ...f32x4Mul, ...f32x4Add, ...set(acc1),
    ...get(acc2), ...get(p), ...v128LoadAt(32), ...get(qp), ...v128LoadAt(32), ...f32x4Mul, ...f32x4Add, ...set(acc2),
    ...get(acc3), ...get(p), ...v128LoadAt(48), ...get(qp), ...v128LoadAt(48), ...f32x4Mul, ...f32x4Add, ...set(acc3),
    ...get(qp), ...i32Const(64), ...i32Add, ...set(qp),
    ...get(p), ...i32Const(64), ...i32Add, ...tee(p),
    ...get(stop), ...i32LtU, ...brIf(0),
    ...end,
    // acc = (acc + acc1) + (acc2 + acc3)
    ...get(acc), ...get(acc1), ...f32x4Add, ...get(acc2), ...get(acc3), ...f32x4Add, ...f32x4Add, ...set(acc),
    // out[i] = (lane0 + lane1) + (lane2 + lane3)
    ...get(out), ...get(i), ...i32Const(2), ...i32Shl, ...i32Add,
    ...get(acc), ...f32x4Lane(0), ...get(acc), ...f32x4Lane(1), ...f32Add,
    ...get(acc), ...f32x4Lane(2), ...get(acc), ...f32x4Lane(3), ...f32Add,
    ...f32Add, ...f32Store,
    ...get(i), ...i32Const(1), ...i32Add, ...tee(i), // i += 1, loop while i < count
    ...get(count), ...i32LtU, ...brIf(0),
    ...end,
    ...end,
  ];
  const locals = [0x02, 0x04, I32, 0x04, V128];
  const body = [...locals, ...code, ...end];

  // dot_row(q64, base, stride, row) -> f64 (float32 rows) and dot_row64 (float64 rows): the
  // float64 inner product of the float64 query at q64 with row `row`, summed exactly like `dotAt` in lib/vectors.ts (four partial sums s0..s3 over
  // the indexes j mod 4, then (s0 + s1) + (s2 + s3)): lanes (s0, s1) and (s2, s3) of two f64x2
  // accumulators. Products of float32 values are exact in float64 and every addition happens in
  // the same order, so the result is bit for bit the JavaScript one.
  const F64 = 0x7c;
  const v128Load64Zero = (offset: number) => [0xfd, 0x5d, 0x03, ...leb(offset)];
  const f64x2PromoteLow = [0xfd, 0x5f];
  const f64x2Add = [0xfd, ...leb(0xf0)];
  const f64x2Mul = [0xfd, ...leb(0xf2)];
  const f64x2Lane = (lane: number) => [0xfd, 0x21, lane];
  const f64Add = [0xa0];
  const [dq, dbase, dstride, drow] = [0, 1, 2, 3];
  const [dp, dqp, dstop, lo, hi] = [4, 5, 6, 7, 8];
  // Operands of float32 (`dot_row`, both of `dot_pair`): two floats per half, widened to
  // float64; of float64 (the query, and the rows of `dot_row64`, the cell axes): two doubles.
  type Halves = { lo: number[]; hi: number[]; step: number };
  const f32: Halves = {
    lo: [...v128Load64Zero(0), ...f64x2PromoteLow],
    hi: [...v128Load64Zero(8), ...f64x2PromoteLow],
    step: 16,
  };
  const f64: Halves = { lo: v128Load, hi: v128LoadAt(16), step: 32 };
  // biome-ignore format: one line per step of the algorithm
  const dotBody = (a: Halves, row: Halves) => [
    0x02, 0x03, I32, 0x02, V128, // locals: p, qp, stop; lo, hi
    // p = base + row * stride; stop = p + stride; qp = a (the other operand); lo = hi = 0
    ...get(dbase), ...get(drow), ...get(dstride), ...i32Mul, ...i32Add, ...tee(dp),
    ...get(dstride), ...i32Add, ...set(dstop),
    ...get(dq), ...set(dqp),
    ...v128Zero, ...tee(lo), ...set(hi),
    ...loop, // four elements per step: lo += a[j..j+1]·x[j..j+1], hi += a[j+2..j+3]·x[j+2..j+3]
    ...get(lo), ...get(dqp), ...a.lo, ...get(dp), ...row.lo, ...f64x2Mul, ...f64x2Add, ...set(lo),
    ...get(hi), ...get(dqp), ...a.hi, ...get(dp), ...row.hi, ...f64x2Mul, ...f64x2Add, ...set(hi),
    ...get(dqp), ...i32Const(a.step), ...i32Add, ...set(dqp),
    ...get(dp), ...i32Const(row.step), ...i32Add, ...tee(dp),
    ...get(dstop), ...i32LtU, ...brIf(0),
    ...end,
    // (s0 + s1) + (s2 + s3)
    ...get(lo), ...f64x2Lane(0), ...get(lo), ...f64x2Lane(1), ...f64Add,
    ...get(hi), ...f64x2Lane(0), ...get(hi), ...f64x2Lane(1), ...f64Add,
    ...f64Add,
    ...end,
  ];
  const dot32Body = dotBody(f64, f32);
  const dot64Body = dotBody(f64, f64);
  const pairBody = dotBody(f32, f32);

  // gather_rows(along, across, suffix, eligible, start, end, tc, sc, threshold, out, max, state)
  //   -> count: the in-cell row filter of the search (see search.ts), rows start..end of one
  // cell: skip rows whose eligible bit is clear (when `eligible` is not 0), stop at the first
  // eligible row whose monotone bound a + sc·suffix falls below `threshold` (when tc ≥ 0), skip
  // rows whose own bound a + sc·across does, where a = tc·along; list the others in `out`, at most
  // `max`. Writes the row it stopped at to state[0] and 1 to state[1] when the bound ended the cell.
  const F64Load = (offset = 0) => [0x2b, 0x03, ...leb(offset)];
  const f64Mul = [0xa2];
  const f64Lt = [0x63];
  const f64Ge = [0x66];
  const f64Const0 = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
  const i32GeU = [0x4f];
  const i32And = [0x71];
  const i32ShrU = [0x76];
  const ifVoid = [0x04, 0x40];
  const br = (depth: number) => [0x0c, depth];
  const i32StoreAt = (offset: number) => [0x36, 0x02, offset];
  const [gAlong, gAcross, gSuffix, gElig, gStart, gEnd, gTc, gSc, gThreshold, gOut, gMax, gState] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ];
  const [gRow, gCount, gStopped, gMonotone, gA] = [12, 13, 14, 15, 16];
  const rowOffset8 = (ptr: number) => [...get(ptr), ...get(gRow), ...i32Const(3), ...i32Shl, ...i32Add];
  // biome-ignore format: one line per step of the algorithm
  const gatherCode = [
    ...get(gStart), ...set(gRow),
    ...get(gTc), ...f64Const0, ...f64Ge, ...set(gMonotone),
    ...block, // $done
    ...loop, // $next
    ...get(gRow), ...get(gEnd), ...i32GeU, ...brIf(1),
    ...get(gCount), ...get(gMax), ...i32GeU, ...brIf(1),
    ...block, // $skip: leave it to go on with the next row
    ...get(gElig), ...ifVoid,
    ...get(gElig), ...get(gRow), ...i32Const(5), ...i32ShrU, ...i32Const(2), ...i32Shl, ...i32Add, ...i32Load,
    ...i32Const(1), ...get(gRow), ...i32Shl, ...i32And, ...i32Eqz, ...brIf(1),
    ...end,
    ...get(gTc), ...rowOffset8(gAlong), ...F64Load(), ...f64Mul, ...set(gA),
    ...get(gMonotone), ...ifVoid,
    ...get(gA), ...get(gSc), ...rowOffset8(gSuffix), ...F64Load(), ...f64Mul, ...f64Add, ...get(gThreshold), ...f64Lt,
    ...ifVoid, ...i32Const(1), ...set(gStopped), ...br(4), ...end, // stop: out to $done
    ...end,
    ...get(gA), ...get(gSc), ...rowOffset8(gAcross), ...F64Load(), ...f64Mul, ...f64Add, ...get(gThreshold), ...f64Lt,
    ...brIf(0),
    ...get(gOut), ...get(gCount), ...i32Const(2), ...i32Shl, ...i32Add, ...get(gRow), ...i32StoreAt(0),
    ...get(gCount), ...i32Const(1), ...i32Add, ...set(gCount),
    ...end, // $skip
    ...get(gRow), ...i32Const(1), ...i32Add, ...set(gRow),
    ...br(0),
    ...end, // $next
    ...end, // $done
    ...get(gState), ...get(gRow), ...i32StoreAt(0),
    ...get(gState), ...get(gStopped), ...i32StoreAt(4),
    ...get(gCount),
  ];
  const gatherBody = [0x02, 0x04, I32, 0x01, F64, ...gatherCode, ...end];

  // max_sim(base, stride, row, picks, from, to, inv) -> f64: the largest dot_pair(row, pick) ·
  // inv[pick] over pick = picks[from..to) (int32 list, float64 weights), -Infinity when empty;
  // MMR's redundancy of one candidate against the picks it has not been compared with yet.
  const call = (index: number) => [0x10, index];
  const f64Gt = [0x64];
  const f64NegInf = [0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0xff];
  const [mBase, mStride, mRow, mPicks, mFrom, mTo, mInv] = [0, 1, 2, 3, 4, 5, 6];
  const [mP, mA, mPick, mBest, mSim] = [7, 8, 9, 10, 11];
  // biome-ignore format: one line per step of the algorithm
  const maxSimCode = [
    ...get(mBase), ...get(mRow), ...get(mStride), ...i32Mul, ...i32Add, ...set(mA),
    ...f64NegInf, ...set(mBest),
    ...get(mFrom), ...set(mP),
    ...block,
    ...loop,
    ...get(mP), ...get(mTo), ...i32GeU, ...brIf(1),
    ...get(mPicks), ...get(mP), ...i32Const(2), ...i32Shl, ...i32Add, ...i32Load, ...set(mPick),
    ...get(mA), ...get(mBase), ...get(mStride), ...get(mPick), ...call(3),
    ...get(mInv), ...get(mPick), ...i32Const(3), ...i32Shl, ...i32Add, ...F64Load(), ...f64Mul, ...set(mSim),
    ...get(mSim), ...get(mBest), ...f64Gt, ...ifVoid, ...get(mSim), ...set(mBest), ...end,
    ...get(mP), ...i32Const(1), ...i32Add, ...set(mP),
    ...br(0),
    ...end,
    ...end,
    ...get(mBest),
  ];
  const maxSimBody = [0x02, 0x03, I32, 0x02, F64, ...maxSimCode, ...end];

  // biome-ignore format: header, then one line per section
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x04, 0x60, 0x06, I32, I32, I32, I32, I32, I32, 0x00, // type 0: (i32 × 6) -> ()
      0x60, 0x04, I32, I32, I32, I32, 0x01, F64, // type 1: (i32 × 4) -> f64
      0x60, 0x0c, I32, I32, I32, I32, I32, I32, F64, F64, F64, I32, I32, I32, 0x01, I32, // type 2: gather_rows
      0x60, 0x07, I32, I32, I32, I32, I32, I32, I32, 0x01, F64]), // type 3: max_sim
    // score_rows: type 0; dot_row, dot_row64, dot_pair: type 1; gather_rows: type 2; max_sim: type 3
    ...section(3, [0x06, 0x00, 0x01, 0x01, 0x01, 0x02, 0x03]),
    ...section(5, [0x01, 0x00, 0x01]), // one memory, one page to start
    ...section(7, [0x07, ...str('memory'), 0x02, 0x00, ...str('score_rows'), 0x00, 0x00,
      ...str('dot_row'), 0x00, 0x01, ...str('dot_row64'), 0x00, 0x02, ...str('dot_pair'), 0x00, 0x03,
      ...str('gather_rows'), 0x00, 0x04, ...str('max_sim'), 0x00, 0x05]), // exports
    ...section(10, [0x06, ...leb(body.length), ...body, ...leb(dot32Body.length), ...dot32Body,
      ...leb(dot64Body.length), ...dot64Body, ...leb(pairBody.length), ...pairBody,
      ...leb(gatherBody.length), ...gatherBody, ...leb(maxSimBody.length), ...maxSimBody]), // code
  ]);
}

/** The slice of the WebAssembly JS API used here (the project compiles without DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
type WasmModule = { readonly __brand?: 'WebAssembly.Module' };

const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: WasmModule | null | undefined;

function module(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bytes = assembleModule();
      compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled ?? null;
}

const PAGE = 65_536;

/**
 * A new instance of the module with its memory grown to at least `bytes` (the module declares one
 * page); take views of `buffer` only after this, since growing replaces the buffer.
 */
function instantiate(
  wasm: WasmModule,
  bytes: number,
): { exports: Record<string, unknown>; buffer: ArrayBuffer } {
  const { exports } = new wasmApi!.Instance(wasm, {});
  const memory = exports['memory'] as WasmMemory;
  const needed = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
  if (needed > 0) memory.grow(needed);
  return { exports, buffer: memory.buffer };
}

export interface KernelOptions {
  /** Rows a `score` call takes at most. @default 256 */
  batch?: number;
  /**
   * The search partitions of the rows: their float64 cell axes (for `dotAxis`) and per-row
   * bounds (for `gather`) are copied into the kernel's memory.
   */
  partitions?: {
    axes: Float64Array;
    along: Float64Array;
    across: Float64Array;
    acrossSuffixMax: Float64Array;
  };
}

/** The rows of one table in WebAssembly memory, padded to a multiple of sixteen floats. */
export class SimdKernel {
  readonly dimension: number;
  /** Rows a single `score` call takes at most. */
  readonly batch: number;
  /** Relative error margin of a float32 score (see the module comment). */
  readonly margin: number;
  /** Write candidate row numbers here, then call `score(count)`. */
  readonly rows: Int32Array;
  /** float32 scores of the last `score` call, in the order of `rows`. */
  readonly scores: Float32Array;
  /**
   * The rows as n × dimension float32, when the dimension is a multiple of sixteen (no padding):
   * a view of the kernel's memory that the table can use in place of its own copy, so the exact
   * rescoring reads rows the first pass just brought into the cache, and the vectors are held
   * once. Null when rows are padded.
   */
  readonly vectors: Float32Array | null;
  private readonly query: Float32Array;
  private readonly query64: Float64Array;
  /** Row bitsets in the kernel's memory, for filters the search hands to `gather`. */
  readonly bitsets: Uint32Array[];
  private readonly gathers: boolean;
  private readonly memory: ArrayBuffer;
  private readonly gatherState: Int32Array;
  private readonly gatherRows: (
    along: number,
    across: number,
    suffix: number,
    eligible: number,
    start: number,
    end: number,
    tc: number,
    sc: number,
    threshold: number,
    out: number,
    max: number,
    state: number,
  ) => number;
  private readonly dot: (q64: number, base: number, stride: number, row: number) => number;
  private readonly dot64: (q64: number, base: number, stride: number, row: number) => number;
  private readonly run: (
    q: number,
    base: number,
    stride: number,
    rows: number,
    count: number,
    out: number,
  ) => void;
  private readonly offsets: {
    q: number;
    q64: number;
    base: number;
    stride: number;
    axes: number;
    rows: number;
    out: number;
    along: number;
    across: number;
    suffix: number;
    state: number;
  };

  /** Number of float64 axes held for `dotAxis` (0 when none were given). */
  readonly axisCount: number;

  constructor(
    wasm: WasmModule,
    vectors: Float32Array,
    n: number,
    dimension: number,
    options: KernelOptions = {},
  ) {
    const batch = options.batch ?? 256;
    const bounds = options.partitions;
    this.dimension = dimension;
    this.batch = batch;
    this.axisCount = bounds ? bounds.axes.length / dimension : 0;
    this.gathers = bounds !== undefined;
    const padded = Math.ceil(dimension / 16) * 16;
    const stride = padded * 4;
    // Regions of the module's memory, each 16-byte aligned.
    let top = 0;
    const take = (bytes: number) => {
      const at = top;
      top = Math.ceil((top + bytes) / 16) * 16;
      return at;
    };
    const q = take(stride);
    const q64 = take(padded * 8);
    const rows = take(batch * 4);
    const out = take(batch * 4);
    const state = take(8);
    const base = take(n * stride);
    const axesBase = take(this.axisCount * padded * 8);
    const rowBounds = bounds ? n * 8 : 0;
    const along = take(rowBounds);
    const across = take(rowBounds);
    const suffix = take(rowBounds);
    const words = (n + 31) >>> 5;
    const bitsets = [take(bounds ? words * 4 : 0), take(bounds ? words * 4 : 0)];
    const { exports, buffer: heap } = instantiate(wasm, top);
    this.memory = heap;
    const table = new Float32Array(heap, base, n * padded);
    if (padded === dimension) table.set(vectors.subarray(0, n * dimension));
    else
      for (let r = 0; r < n; r++) table.set(vectors.subarray(r * dimension, (r + 1) * dimension), r * padded);
    this.vectors = padded === dimension ? table : null;
    if (bounds) {
      const axisTable = new Float64Array(heap, axesBase, this.axisCount * padded);
      for (let c = 0; c < this.axisCount; c++)
        axisTable.set(bounds.axes.subarray(c * dimension, (c + 1) * dimension), c * padded);
      new Float64Array(heap, along, n).set(bounds.along.subarray(0, n));
      new Float64Array(heap, across, n).set(bounds.across.subarray(0, n));
      new Float64Array(heap, suffix, n).set(bounds.acrossSuffixMax.subarray(0, n));
    }
    this.bitsets = bounds ? bitsets.map((at) => new Uint32Array(heap, at, words)) : [];
    this.query = new Float32Array(heap, q, padded);
    this.query64 = new Float64Array(heap, q64, padded);
    this.gatherState = new Int32Array(heap, state, 2);
    this.rows = new Int32Array(heap, rows, batch);
    this.scores = new Float32Array(heap, out, batch);
    this.run = exports['score_rows'] as SimdKernel['run'];
    this.dot = exports['dot_row'] as SimdKernel['dot'];
    this.dot64 = exports['dot_row64'] as SimdKernel['dot64'];
    this.gatherRows = exports['gather_rows'] as SimdKernel['gatherRows'];
    this.offsets = {
      q,
      q64,
      base,
      stride,
      axes: axesBase,
      rows,
      out,
      along,
      across,
      suffix,
      state,
    };
    const steps = padded / 4 + 6;
    const u = 2 ** -24;
    this.margin = Math.max(1e-6, (4 * steps * u) / (1 - steps * u));
  }

  /**
   * Whether `gather` can read `eligible` (null, or one of the kernel's own `bitsets`), so the
   * search can run its in-cell row filter here.
   */
  canGather(eligible: Uint32Array | null): boolean {
    return this.gathers && (eligible === null || eligible.buffer === this.memory);
  }

  /**
   * Lists in `rows` (at most `batch`) the rows from `start` to `end` of one cell that pass the
   * filter and the per-row bounds against `threshold`, exactly as the scalar loop of search.ts
   * does; `gatheredTo` is the row it stopped at and `gatherStopped` whether the monotone bound
   * ended the cell. Needs `canGather(eligible)`.
   */
  gather(
    eligible: Uint32Array | null,
    start: number,
    end: number,
    tc: number,
    sc: number,
    threshold: number,
  ): number {
    const o = this.offsets;
    return this.gatherRows(
      o.along,
      o.across,
      o.suffix,
      eligible === null ? 0 : eligible.byteOffset,
      start,
      end,
      tc,
      sc,
      threshold,
      o.rows,
      this.batch,
      o.state,
    );
  }

  get gatheredTo(): number {
    return this.gatherState[0]!;
  }

  get gatherStopped(): boolean {
    return this.gatherState[1] === 1;
  }

  /** Sets the query of `score` and `dotRow` (rows of its dimension; padding stays zero). */
  setQuery(query: Float32Array): void {
    this.query.set(query);
    this.query64.set(query);
  }

  /**
   * The exact float64 inner product of the query with `row`, equal bit for bit to
   * `dotAt(widenQuery(query), 0, vectors, row * d, d)` when `vectors` is not null (rows unpadded,
   * so the four partial sums see the same elements in the same order).
   */
  dotRow(row: number): number {
    const o = this.offsets;
    return this.dot(o.q64, o.base, o.stride, row);
  }

  /** The same for float64 axis `c` of those given at construction: bit for bit `dotAt`. */
  dotAxis(c: number): number {
    const o = this.offsets;
    return this.dot64(o.q64, o.axes, o.stride * 2, c);
  }

  /** Scores `rows[0..count)` into `scores[0..count)`. */
  score(count: number): void {
    const o = this.offsets;
    this.run(o.q, o.base, o.stride, o.rows, count, o.out);
  }
}

/**
 * A kernel over `n` rows of `vectors` taking up to `batch` rows per call (and, when given, float64
 * `axes` of the same dimension for `dotAxis`), or null when this host has no WebAssembly SIMD.
 */
export function createSimdKernel(
  vectors: Float32Array,
  n: number,
  dimension: number,
  options: KernelOptions = {},
): SimdKernel | null {
  const wasm = module();
  if (!wasm || n === 0) return null;
  return new SimdKernel(wasm, vectors, n, dimension, options);
}

/**
 * A small block of float32 vectors to compare with each other: MMR similarities, list diversity.
 * `dot(i, j)` is bit for bit `dotAt` over the two stored (float32) rows. With WebAssembly SIMD
 * and a dimension that is a multiple of four, the rows live in the module's memory and each inner
 * product is one call; otherwise `dotAt` runs over a JavaScript copy. `VectorBlock.load` refills
 * one shared block per dimension: it is scratch space, used synchronously (never across an await).
 */
export class VectorBlock {
  private static readonly shared = new Map<number, VectorBlock>();
  readonly dimension: number;
  /** Row indexes for `maxSimilarity` (the caller writes them). */
  readonly picks: Int32Array;
  /** Per-row weights for `maxSimilarity`, e.g. inverse norms (the caller writes them). */
  readonly weights: Float64Array;
  private rowCount = 0;
  private readonly rows: Float32Array;
  private rowNorms = new Float64Array(0);
  private readonly pair: ((a: number, base: number, stride: number, row: number) => number) | null;
  private readonly maxSim:
    | ((
        base: number,
        stride: number,
        row: number,
        picks: number,
        from: number,
        to: number,
        inv: number,
      ) => number)
    | null;

  private constructor(capacity: number, dimension: number) {
    this.dimension = dimension;
    const wasm = dimension % 4 === 0 ? module() : null;
    if (wasm === null) {
      this.rows = new Float32Array(capacity * dimension);
      this.picks = new Int32Array(capacity);
      this.weights = new Float64Array(capacity);
      this.pair = null;
      this.maxSim = null;
      return;
    }
    const rowBytes = capacity * dimension * 4;
    const picksAt = Math.ceil(rowBytes / 16) * 16;
    const weightsAt = picksAt + Math.ceil((capacity * 4) / 16) * 16;
    const { exports, buffer } = instantiate(wasm, weightsAt + capacity * 8);
    this.rows = new Float32Array(buffer, 0, capacity * dimension);
    this.picks = new Int32Array(buffer, picksAt, capacity);
    this.weights = new Float64Array(buffer, weightsAt, capacity);
    this.pair = exports['dot_pair'] as VectorBlock['pair'];
    this.maxSim = exports['max_sim'] as VectorBlock['maxSim'];
  }

  /** The shared block of this dimension, holding `vectors` as rows 0..n-1 (float32). */
  static load(vectors: ReadonlyArray<ArrayLike<number>>): VectorBlock {
    const n = vectors.length;
    const dimension = n > 0 ? vectors[0]!.length : 0;
    let block = VectorBlock.shared.get(dimension);
    if (block === undefined || block.rows.length < n * dimension) {
      block = new VectorBlock(Math.max(64, 2 * n), dimension);
      VectorBlock.shared.set(dimension, block);
    }
    for (let r = 0; r < n; r++) {
      const v = vectors[r]!;
      if (v.length !== dimension)
        throw new RangeError(`VectorBlock: vector ${r} has ${v.length} values, expected ${dimension}`);
      block.rows.set(v, r * dimension);
    }
    block.rowCount = n;
    return block;
  }

  /** Rows loaded by the last `load`. */
  get count(): number {
    return this.rowCount;
  }

  /**
   * |row| of every loaded row, as `Math.sqrt(dot(r, r))` (scratch of the block: valid until the
   * next `load`).
   */
  norms(): Float64Array {
    if (this.rowNorms.length < this.rowCount)
      this.rowNorms = new Float64Array(this.rows.length / this.dimension);
    for (let r = 0; r < this.rowCount; r++) this.rowNorms[r] = Math.sqrt(this.dot(r, r));
    return this.rowNorms;
  }

  /** Inner product of rows i and j, summed like `dotAt`. */
  dot(i: number, j: number): number {
    const d = this.dimension;
    if (this.pair !== null) return this.pair(i * d * 4, 0, d * 4, j);
    return dotAt(this.rows, i * d, this.rows, j * d, d);
  }

  /**
   * The largest `dot(row, pick) · weights[pick]` over pick = picks[from..to), -Infinity for an
   * empty range: one call however many picks there are.
   */
  maxSimilarity(row: number, from: number, to: number): number {
    const d = this.dimension;
    if (this.maxSim !== null) {
      return this.maxSim(0, d * 4, row, this.picks.byteOffset, from, to, this.weights.byteOffset);
    }
    let best = Number.NEGATIVE_INFINITY;
    for (let p = from; p < to; p++) {
      const pick = this.picks[p]!;
      const similarity = this.dot(row, pick) * this.weights[pick]!;
      if (similarity > best) best = similarity;
    }
    return best;
  }
}
