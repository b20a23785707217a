import { describe, expect, it } from 'vitest';
import { Random, WeightedSampler } from './random.ts';

describe('Random', () => {
  it('repeats the same sequence for the same seed and stream, and differs otherwise', () => {
    const draw = (seed: number, stream: string) => {
      const r = new Random(seed, stream);
      return Array.from({ length: 5 }, () => r.uint32());
    };
    expect(draw(1, 'a')).toEqual(draw(1, 'a'));
    expect(draw(1, 'a')).not.toEqual(draw(2, 'a'));
    expect(draw(1, 'a')).not.toEqual(draw(1, 'b'));
  });

  it('draws distributions with the right means', () => {
    const r = new Random(3);
    const n = 50_000;
    let u = 0;
    let g = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      u += r.next();
      g += r.gamma(0.5);
      b += r.beta(2, 6);
    }
    expect(u / n).toBeCloseTo(0.5, 1);
    expect(g / n).toBeCloseTo(0.5, 1);
    expect(b / n).toBeCloseTo(0.25, 1);
    expect(r.hex64()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('samples by weight and never draws a zero weight', () => {
    const r = new Random(4);
    const sampler = new WeightedSampler([0, 1, 0, 3, 0]);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[sampler.sample(r)]! += 1;
    expect(counts[0]! + counts[2]! + counts[4]!).toBe(0);
    expect(counts[3]! / counts[1]!).toBeGreaterThan(2.7);
    expect(counts[3]! / counts[1]!).toBeLessThan(3.3);
    expect(() => new WeightedSampler([1, -1])).toThrow(/weight 1/);
  });
});
