/**
 * Fixed-size bitsets over item rows (Uint32Array words), used to evaluate search filters as a few
 * word-wise ANDs/ORs before the scan instead of per-item payload checks inside it.
 */
export type Bitset = Uint32Array;

export function createBitset(size: number): Bitset {
  return new Uint32Array((size + 31) >>> 5);
}

export function fillBitset(bits: Bitset, size: number): Bitset {
  bits.fill(0xffffffff);
  const tail = size & 31;
  if (tail !== 0 && bits.length > 0) bits[bits.length - 1] = (1 << tail) - 1;
  return bits;
}

export function setBit(bits: Bitset, i: number): void {
  bits[i >>> 5]! |= 1 << (i & 31);
}

export function clearBit(bits: Bitset, i: number): void {
  bits[i >>> 5]! &= ~(1 << (i & 31));
}

export function hasBit(bits: Bitset, i: number): boolean {
  return (bits[i >>> 5]! & (1 << (i & 31))) !== 0;
}

/** target |= source */
export function orInto(target: Bitset, source: Bitset): void {
  for (let w = 0; w < target.length; w++) target[w]! |= source[w]!;
}

/** target &= source */
export function andInto(target: Bitset, source: Bitset): void {
  for (let w = 0; w < target.length; w++) target[w]! &= source[w]!;
}

/** target &= ~source */
export function andNotInto(target: Bitset, source: Bitset): void {
  for (let w = 0; w < target.length; w++) target[w]! &= ~source[w]!;
}

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function countBits(bits: Bitset): number {
  let n = 0;
  for (let w = 0; w < bits.length; w++) n += popcount32(bits[w]!);
  return n;
}

/** Whether any bit in rows [start, end) is set. */
export function anyInRange(bits: Bitset, start: number, end: number): boolean {
  if (start >= end) return false;
  const first = start >>> 5;
  const last = (end - 1) >>> 5;
  const headMask = ~0 << (start & 31);
  const tailMask = (end & 31) === 0 ? ~0 : (1 << (end & 31)) - 1;
  if (first === last) return (bits[first]! & headMask & tailMask) !== 0;
  if ((bits[first]! & headMask) !== 0) return true;
  for (let w = first + 1; w < last; w++) if (bits[w] !== 0) return true;
  return (bits[last]! & tailMask) !== 0;
}
