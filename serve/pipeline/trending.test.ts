import { describe, expect, it } from 'vitest';
import { interleave, trendingScore } from './trending.ts';

describe('interleave', () => {
  it('takes rank by rank across lists and drops repeats', () => {
    expect(interleave([[1, 2, 3], [10, 2, 11], [20]])).toEqual([1, 10, 20, 2, 3, 11]);
    expect(interleave([])).toEqual([]);
    expect(interleave([[5, 5, 6]])).toEqual([5, 6]);
  });
});

describe('trendingScore', () => {
  it('is 1 at the top and falls with rank', () => {
    expect(trendingScore(0)).toBe(1);
    expect(trendingScore(1)).toBeLessThan(trendingScore(0));
    expect(trendingScore(9)).toBeGreaterThan(0);
  });
});
