import { describe, expect, it } from 'vitest';
import { dotAt } from '../../vectors.ts';
import { gaussianVector, seededRandom } from '../random.ts';
import { createSimdKernel } from './simd-kernel.ts';

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
    const kernel = createSimdKernel(new Float32Array(10 * d), 10, d, 256, axes)!;
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
