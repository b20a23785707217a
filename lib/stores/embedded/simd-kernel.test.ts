import { describe, expect, it } from 'vitest';
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

  it('scores nothing for an empty batch', () => {
    const kernel = createSimdKernel(new Float32Array(8), 2, 4)!;
    kernel.scores[0] = 42;
    kernel.score(0);
    expect(kernel.scores[0]).toBe(42);
  });
});
