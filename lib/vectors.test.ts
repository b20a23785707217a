import { describe, expect, it } from 'vitest';
import {
  addScaled,
  bufferToVector,
  cosine,
  dot,
  emaBlend,
  mean,
  norm,
  normalize,
  toFloat32,
  vectorToBuffer,
} from './vectors.ts';

describe('vector math', () => {
  it('dot and norm', () => {
    expect(dot([1, 2, 3], [4, -5, 6])).toBe(12);
    expect(norm([3, 4])).toBe(5);
    expect(() => dot([1], [1, 2])).toThrow(/lengths differ/);
  });

  it('cosine is scale-free and 0 for zero vectors', () => {
    expect(cosine([1, 0], [5, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1);
    expect(cosine([0, 0], [1, 2])).toBe(0);
  });

  it('normalize gives unit length and leaves zeros alone', () => {
    const n = normalize([3, 4]);
    expect(n).toBeInstanceOf(Float32Array);
    expect(Array.from(n)).toEqual([expect.closeTo(0.6), expect.closeTo(0.8)]);
    expect(Array.from(normalize([0, 0]))).toEqual([0, 0]);
  });

  it('emaBlend moves towards the target by weight, without mutating inputs', () => {
    const current = new Float32Array([1, 1]);
    const target = new Float32Array([3, -1]);
    const blended = emaBlend(current, target, 0.25);
    expect(Array.from(blended)).toEqual([1.5, 0.5]);
    expect(Array.from(current)).toEqual([1, 1]);
    expect(Array.from(emaBlend(current, target, 0))).toEqual([1, 1]);
    expect(Array.from(emaBlend(current, target, 1))).toEqual([3, -1]);
    expect(() => emaBlend(current, target, 1.5)).toThrow(/weight/);
  });

  it('addScaled and mean', () => {
    expect(Array.from(addScaled([1, 2], [1, 1], -2))).toEqual([-1, 0]);
    expect(
      Array.from(
        mean([
          [1, 2],
          [3, 6],
        ]),
      ),
    ).toEqual([2, 4]);
    expect(() => mean([])).toThrow(/no vectors/);
  });

  it('toFloat32 keeps Float32Arrays and converts other lists', () => {
    const f = new Float32Array([1, 2]);
    expect(toFloat32(f)).toBe(f);
    expect(toFloat32([0.5, 2])).toEqual(new Float32Array([0.5, 2]));
  });
});

describe('binary encoding', () => {
  it('round-trips float32 values bit-exactly, little-endian', () => {
    const v = new Float32Array([1.5, -0.1, 3.4028234663852886e38, 0, -0]);
    const buf = vectorToBuffer(v);
    expect(buf.length).toBe(20);
    expect(buf.readFloatLE(0)).toBe(1.5);
    expect(Object.is(bufferToVector(buf)[4], -0)).toBe(true);
    expect(bufferToVector(buf)).toEqual(v);
  });

  it('does not alias the input and decodes unaligned slices', () => {
    const v = new Float32Array([1, 2, 3]);
    const buf = vectorToBuffer(v);
    v[0] = 9;
    expect(buf.readFloatLE(0)).toBe(1);
    const padded = Buffer.concat([Buffer.from([7]), buf]);
    expect(Array.from(bufferToVector(padded.subarray(1)))).toEqual([1, 2, 3]);
  });

  it('encodes plain number arrays and rejects ragged byte counts', () => {
    expect(Array.from(bufferToVector(vectorToBuffer([0.25, 4])))).toEqual([0.25, 4]);
    expect(() => bufferToVector(Buffer.alloc(5))).toThrow(/multiple of 4/);
  });
});
