import { describe, expect, it } from 'vitest';
import { averagePrecision, ndcg, rankingMetrics, recall, topKExcluding } from './metrics.ts';

describe('averagePrecision (H&M MAP@12 definition)', () => {
  it('scores hits by the precision at their rank, over min(|actual|, k)', () => {
    // hits at ranks 1 and 3: (1/1 + 2/3) / min(3, 12)
    expect(averagePrecision([10, 20, 30, 40], new Set([10, 30, 99]), 12)).toBeCloseTo((1 + 2 / 3) / 3, 12);
  });

  it('caps the denominator at k', () => {
    const actual = new Set(Array.from({ length: 20 }, (_, i) => i));
    // a perfect list of 12 out of 20 relevant items scores 1
    expect(averagePrecision([...Array(12).keys()], actual, 12)).toBe(1);
  });

  it('ignores hits after position k and repeated items', () => {
    expect(averagePrecision([1, 2, 3], new Set([3]), 2)).toBe(0);
    expect(averagePrecision([5, 5, 6], new Set([5, 6]), 12)).toBeCloseTo((1 / 1 + 2 / 3) / 2, 12);
  });

  it('is 0 without relevant items', () => {
    expect(averagePrecision([1, 2], new Set(), 12)).toBe(0);
    expect(averagePrecision([], new Set([1]), 12)).toBe(0);
  });
});

describe('recall and ndcg', () => {
  it('recall counts distinct hits in the top k over all actual items', () => {
    expect(recall([1, 2, 3, 4], new Set([2, 4, 8, 9]), 3)).toBe(0.25);
  });

  it('ndcg is 1 for a perfect ordering and lower when hits come later', () => {
    expect(ndcg([7, 8, 1], new Set([7, 8]), 12)).toBeCloseTo(1, 12);
    const late = ndcg([1, 7], new Set([7]), 12);
    expect(late).toBeCloseTo(1 / Math.log2(3), 12);
  });
});

describe('rankingMetrics', () => {
  it('averages over users with actual items and measures coverage', () => {
    const result = rankingMetrics(
      [
        { recommended: [1, 2], actual: [1] },
        { recommended: [3, 4], actual: [4] },
        { recommended: [5, 6], actual: [] }, // not scored
      ],
      12,
      10,
    );
    expect(result.users).toBe(2);
    expect(result.map).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(result.recall).toBe(1);
    expect(result.coverage).toBeCloseTo(4 / 10, 12);
  });
});

describe('topKExcluding', () => {
  it('skips excluded items and keeps order', () => {
    expect(topKExcluding([9, 8, 7, 6, 5], new Set([8, 6]), 2)).toEqual([9, 7]);
    expect(topKExcluding([1], new Set(), 3)).toEqual([1]);
  });
});
