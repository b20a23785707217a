import { describe, expect, it } from 'vitest';
import { createSimdKernel, VectorBlock } from './simd-kernel.ts';
import { gaussianVector, seededRandom } from './stores/random.ts';
import { dotAt } from './vectors.ts';

describe('SIMD scoring kernel', () => {
  for (const d of [64, 13, 4, 1]) {
    it(`scores rows within its error margin of the float64 dot product (d = ${d})`, () => {
      const random = seededRandom(d);
      const n = 700;
      const vectors = new Float32Array(n * d);
      for (let r = 0; r < n; r++) vectors.set(gaussianVector(random, d, r % 7 === 0 ? 1000 : 1), r * d);
      const kernel = createSimdKernel(vectors, n, d);
      expect(kernel, 'Node 20 has WebAssembly SIMD').not.toBeNull();
      const query = gaussianVector(random, d, 3);
      kernel!.setQuery(query);
      let qNorm = 0;
      for (const x of query) qNorm += x * x;
      qNorm = Math.sqrt(qNorm);
      let worst = 0;
      for (let start = 0; start < n; start += kernel!.batch) {
        const count = Math.min(kernel!.batch, n - start);
        for (let i = 0; i < count; i++) kernel!.rows[i] = n - 1 - (start + i); // any order
        kernel!.score(count);
        for (let i = 0; i < count; i++) {
          const row = kernel!.rows[i]!;
          let exact = 0;
          let norm = 0;
          for (let j = 0; j < d; j++) {
            exact += query[j]! * vectors[row * d + j]!;
            norm += vectors[row * d + j]! ** 2;
          }
          const bound = kernel!.margin * qNorm * Math.sqrt(norm);
          const error = Math.abs(kernel!.scores[i]! - exact);
          expect(error).toBeLessThanOrEqual(bound);
          worst = Math.max(worst, error / bound);
        }
      }
      expect(worst).toBeGreaterThan(0);
    });
  }

  for (const d of [16, 64, 128]) {
    it(`dotRow equals dotAt bit for bit on unpadded rows (d = ${d})`, () => {
      const random = seededRandom(100 + d);
      const n = 300;
      const vectors = new Float32Array(n * d);
      for (let r = 0; r < n; r++) vectors.set(gaussianVector(random, d, r % 5 === 0 ? 1e4 : 1), r * d);
      vectors[7 * d + 3] = 0;
      vectors[9 * d] = -0;
      const kernel = createSimdKernel(vectors, n, d)!;
      expect(kernel.vectors).not.toBeNull();
      expect(kernel.vectors!.subarray(0, n * d)).toEqual(vectors);
      const query = gaussianVector(random, d, 3);
      kernel.setQuery(query);
      const wide = Float64Array.from(query);
      for (let row = 0; row < n; row++) {
        expect(Object.is(kernel.dotRow(row), dotAt(wide, 0, vectors, row * d, d)), `row ${row}`).toBe(true);
      }
    });
  }

  it('dotAxis equals dotAt bit for bit on float64 axes', () => {
    const random = seededRandom(7);
    const d = 64;
    const cells = 37;
    const axes = new Float64Array(cells * d);
    for (let i = 0; i < axes.length; i++) axes[i] = random.gaussian() / 8;
    const zeros = new Float64Array(10);
    const partitions = { axes, along: zeros, across: zeros, acrossSuffixMax: zeros };
    const kernel = createSimdKernel(new Float32Array(10 * d), 10, d, { partitions })!;
    expect(kernel.axisCount).toBe(cells);
    const query = gaussianVector(random, d, 2);
    kernel.setQuery(query);
    const wide = Float64Array.from(query);
    for (let c = 0; c < cells; c++)
      expect(Object.is(kernel.dotAxis(c), dotAt(wide, 0, axes, c * d, d))).toBe(true);
  });

  it('holds padded rows apart from the caller (no shared vectors)', () => {
    const kernel = createSimdKernel(new Float32Array(13 * 3), 3, 13)!;
    expect(kernel.vectors).toBeNull();
  });

  it('scores nothing for an empty batch', () => {
    const kernel = createSimdKernel(new Float32Array(8), 2, 4)!;
    kernel.scores[0] = 42;
    kernel.score(0);
    expect(kernel.scores[0]).toBe(42);
  });
});

describe('VectorBlock', () => {
  for (const d of [64, 8, 6]) {
    it(`dot equals dotAt over the float32 rows bit for bit (d = ${d})`, () => {
      const random = seededRandom(d);
      for (const n of [3, 40, 150, 10]) {
        const vectors = Array.from({ length: n }, (_, r) => gaussianVector(random, d, r % 4 === 0 ? 1e3 : 1));
        const block = VectorBlock.load(vectors);
        expect(block.count).toBe(n);
        const norms = block.norms();
        for (let i = 0; i < n; i++)
          expect(norms[i]).toBe(Math.sqrt(dotAt(vectors[i]!, 0, vectors[i]!, 0, d)));
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j += 7) {
            expect(Object.is(block.dot(i, j), dotAt(vectors[i]!, 0, vectors[j]!, 0, d))).toBe(true);
          }
        }
      }
    });
  }

  it('maxSimilarity is the largest weighted inner product over the listed picks', () => {
    for (const d of [64, 6]) {
      const random = seededRandom(40 + d);
      const vectors = Array.from({ length: 30 }, () => gaussianVector(random, d, 1));
      const block = VectorBlock.load(vectors);
      for (let r = 0; r < 30; r++) block.weights[r] = 0.5 + random.next();
      const picks = [3, 17, 0, 29, 8];
      block.picks.set(picks);
      for (const row of [1, 3, 20]) {
        for (const [from, to] of [
          [0, 5],
          [2, 4],
          [1, 2],
        ] as const) {
          let want = Number.NEGATIVE_INFINITY;
          for (const pick of picks.slice(from, to))
            want = Math.max(want, dotAt(vectors[row]!, 0, vectors[pick]!, 0, d) * block.weights[pick]!);
          expect(block.maxSimilarity(row, from, to)).toBe(want);
        }
        expect(block.maxSimilarity(row, 2, 2)).toBe(Number.NEGATIVE_INFINITY);
      }
    }
  });

  it('stores plain number arrays as float32 and rejects rows of another length', () => {
    const block = VectorBlock.load([
      [0.1, 0.2, 0.3, 0.4],
      [1, 1, 1, 1],
    ]);
    expect(block.dot(0, 1)).toBe(Math.fround(0.1) + Math.fround(0.2) + (Math.fround(0.3) + Math.fround(0.4)));
    expect(() =>
      VectorBlock.load([
        [1, 2, 3, 4],
        [1, 2, 3],
      ]),
    ).toThrow(/vector 1 has 3 values, expected 4/);
  });
});
