/**
 * Pure float32 vector math shared by serving (scoring, MMR, explanations), the online updater
 * (EMA blends) and the store adapters (binary encoding for Redis). No I/O, no allocation beyond
 * the returned arrays.
 *
 * Binary layout: a vector is stored as its float32 values in little-endian order, 4 bytes each,
 * with no header; the length follows from the byte count.
 */

/** Anything readable as a dense list of numbers. */
export type VectorLike = ArrayLike<number>;

function assertSameLength(a: VectorLike, b: VectorLike, what: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${what}: vector lengths differ (${a.length} vs ${b.length})`);
  }
}

/** Inner product (summed like `dotAt`, so it agrees with the embedded index's scores). */
export function dot(a: VectorLike, b: VectorLike): number {
  assertSameLength(a, b, 'dot');
  return dotAt(a, 0, b, 0, a.length);
}

/**
 * Inner product of `length` values of `a` from `aOffset` and of `b` from `bOffset`, in four
 * interleaved partial sums: one running sum waits on the latency of every addition, four keep
 * the floating-point unit busy (about twice as fast on 64 dimensions). The hot loops of serving
 * (exact search scores, MMR similarities) use it; for a given pair of rows it always sums in the
 * same order, so scores agree to the last bit wherever they are computed.
 */
export function dotAt(
  a: VectorLike,
  aOffset: number,
  b: VectorLike,
  bOffset: number,
  length: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < length; j += 4) {
    s0 += a[aOffset + j]! * b[bOffset + j]!;
    s1 += a[aOffset + j + 1]! * b[bOffset + j + 1]!;
    s2 += a[aOffset + j + 2]! * b[bOffset + j + 2]!;
    s3 += a[aOffset + j + 3]! * b[bOffset + j + 3]!;
  }
  for (; j < length; j++) s0 += a[aOffset + j]! * b[bOffset + j]!;
  return s0 + s1 + (s2 + s3);
}

/** Euclidean (L2) norm. */
export function norm(a: VectorLike): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * a[i]!;
  return Math.sqrt(sum);
}

/** Cosine similarity in [-1, 1]; 0 when either vector is all zeros. */
export function cosine(a: VectorLike, b: VectorLike): number {
  assertSameLength(a, b, 'cosine');
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 || bb === 0) return 0;
  return ab / Math.sqrt(aa * bb);
}

/** A new unit-length copy; an all-zero vector comes back as zeros. */
export function normalize(a: VectorLike): Float32Array {
  const out = new Float32Array(a.length);
  const n = norm(a);
  if (n === 0) return out;
  for (let i = 0; i < a.length; i++) out[i] = a[i]! / n;
  return out;
}

/**
 * Exponential moving average step towards `target`: `(1 - weight) * current + weight * target`,
 * as a new array. `weight` must be in [0, 1].
 */
export function emaBlend(current: VectorLike, target: VectorLike, weight: number): Float32Array {
  assertSameLength(current, target, 'emaBlend');
  if (!(weight >= 0 && weight <= 1))
    throw new RangeError(`emaBlend: weight must be in [0, 1], got ${weight}`);
  const out = new Float32Array(current.length);
  const keep = 1 - weight;
  for (let i = 0; i < current.length; i++) out[i] = keep * current[i]! + weight * target[i]!;
  return out;
}

/** `a + scale * b` as a new array (weighted sums of item vectors, e.g. a session profile). */
export function addScaled(a: VectorLike, b: VectorLike, scale: number): Float32Array {
  assertSameLength(a, b, 'addScaled');
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + scale * b[i]!;
  return out;
}

/** The mean of equally long vectors; throws on an empty list. */
export function mean(vectors: readonly VectorLike[]): Float32Array {
  const first = vectors[0];
  if (first === undefined) throw new RangeError('mean: no vectors');
  const sum = new Float64Array(first.length);
  for (const v of vectors) {
    assertSameLength(first, v, 'mean');
    for (let i = 0; i < v.length; i++) sum[i]! += v[i]!;
  }
  const out = new Float32Array(first.length);
  for (let i = 0; i < out.length; i++) out[i] = sum[i]! / vectors.length;
  return out;
}

/** A Float32Array view or copy of any numeric list (returns the input if it already is one). */
export function toFloat32(values: VectorLike | Float32Array): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes as little-endian float32 bytes (a fresh Buffer that does not alias the input). */
export function vectorToBuffer(vector: VectorLike): Buffer {
  const buf = Buffer.allocUnsafe(vector.length * 4);
  if (littleEndianHost && vector instanceof Float32Array) {
    buf.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
    return buf;
  }
  for (let i = 0; i < vector.length; i++) buf.writeFloatLE(vector[i]!, i * 4);
  return buf;
}

/** Decodes little-endian float32 bytes into a new Float32Array (copying, so alignment never matters). */
export function bufferToVector(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`bufferToVector: byte length ${bytes.byteLength} is not a multiple of 4`);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  if (littleEndianHost) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
