import { describe, expect, it } from 'vitest';
import { cosine } from '../../lib/vectors.ts';
import { intraListDiversity } from './diversity.ts';
import { type MmrCandidate, mmrSelect } from './mmr.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomCandidates(n: number, dim: number, seed: number): MmrCandidate[] {
  const random = rng(seed);
  return Array.from({ length: n }, () => ({
    score: random() * 4 - 1,
    vector: Float32Array.from({ length: dim }, () => random() * 2 - 1),
  }));
}

describe('mmrSelect', () => {
  it('with lambda = 1 is the plain ranking by score, whatever the input order', () => {
    const candidates = randomCandidates(40, 8, 1);
    const byScore = candidates
      .map((c, i) => ({ i, score: c.score }))
      .sort((a, b) => b.score - a.score)
      .map((x) => x.i);
    expect(mmrSelect(candidates, 10, 1)).toEqual(byScore.slice(0, 10));
  });

  it('picks the higher score first and spreads the rest when lambda = 0', () => {
    const candidates: MmrCandidate[] = [
      { score: 1.0, vector: [1, 0] },
      { score: 0.99, vector: [0.99, 0.14] }, // nearly a copy of the first
      { score: 0.5, vector: [0, 1] },
    ];
    expect(mmrSelect(candidates, 3, 1)).toEqual([0, 1, 2]);
    expect(mmrSelect(candidates, 3, 0)).toEqual([0, 2, 1]);
  });

  it('matches hand-computed trade-offs for intermediate lambdas', () => {
    // Relevance rescales to 1, 0.9, 0. At lambda 0.5 the duplicate scores 0.45 - 0.5 < 0 = the
    // orthogonal item; at lambda 0.7 it scores 0.63 - 0.3 > 0.
    const candidates: MmrCandidate[] = [
      { score: 3, vector: [1, 0] },
      { score: 2.8, vector: [2, 0] },
      { score: 1, vector: [0, 1] },
    ];
    expect(mmrSelect(candidates, 3, 0.5)).toEqual([0, 2, 1]);
    expect(mmrSelect(candidates, 3, 0.7)).toEqual([0, 1, 2]);
  });

  it('with lambda = 0 each pick is the remaining item least similar to the picks so far', () => {
    const candidates = randomCandidates(30, 6, 7);
    const chosen = mmrSelect(candidates, 8, 0);
    for (let step = 1; step < chosen.length; step++) {
      const picked = chosen.slice(0, step);
      const redundancy = (i: number) =>
        Math.max(...picked.map((p) => cosine(candidates[i]!.vector, candidates[p]!.vector)));
      const remaining = candidates.map((_, i) => i).filter((i) => !picked.includes(i));
      const least = Math.min(...remaining.map(redundancy));
      expect(redundancy(chosen[step]!)).toBeCloseTo(least, 10);
    }
  });

  it('raises intra-list diversity as lambda falls on clustered candidates', () => {
    const random = rng(3);
    const centers = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    // The first cluster has the highest scores, so pure ranking takes only from it.
    const candidates: MmrCandidate[] = centers.flatMap((center, c) =>
      Array.from({ length: 10 }, () => ({
        score: 3 - c + random() * 0.5,
        vector: center.map((x) => x + random() * 0.1),
      })),
    );
    const diversity = (lambda: number) =>
      intraListDiversity(mmrSelect(candidates, 6, lambda).map((i) => candidates[i]!.vector))!;
    expect(diversity(1)).toBeLessThan(0.05);
    expect(diversity(0.5)).toBeGreaterThan(diversity(1));
    expect(diversity(0)).toBeGreaterThanOrEqual(diversity(0.5));
  });

  it('returns at most k distinct items and handles edge sizes', () => {
    const candidates = randomCandidates(5, 4, 11);
    expect(mmrSelect(candidates, 0, 0.5)).toEqual([]);
    expect(mmrSelect([], 3, 0.5)).toEqual([]);
    const all = mmrSelect(candidates, 50, 0.3);
    expect(all).toHaveLength(5);
    expect(new Set(all).size).toBe(5);
  });

  it('treats equal scores as equally relevant and zero vectors as unrelated', () => {
    const candidates: MmrCandidate[] = [
      { score: 1, vector: [0, 0] },
      { score: 1, vector: [1, 0] },
      { score: 1, vector: [1, 0] },
    ];
    expect(mmrSelect(candidates, 3, 0.5)).toEqual([0, 1, 2]);
  });

  it('picks exactly what a plain eager MMR picks, over many random cases', () => {
    // Reference: the textbook greedy loop, recomputing every similarity at every step.
    const eager = (candidates: MmrCandidate[], k: number, lambda: number): number[] => {
      const scores = candidates.map((c) => c.score);
      const max = Math.max(...scores);
      const min = Math.min(...scores);
      const relevance = (i: number) => (max > min ? (scores[i]! - min) / (max - min) : 1);
      const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
      const chosen: number[] = [];
      while (chosen.length < Math.min(k, candidates.length)) {
        let best = -1;
        let bestValue = Number.NEGATIVE_INFINITY;
        for (const i of order) {
          if (chosen.includes(i)) continue;
          const redundancy =
            chosen.length === 0
              ? 0
              : Math.max(...chosen.map((c) => cosine(candidates[i]!.vector, candidates[c]!.vector)));
          const value = lambda * relevance(i) - (1 - lambda) * redundancy;
          if (value > bestValue + 1e-12) {
            bestValue = value;
            best = i;
          }
        }
        chosen.push(best);
      }
      return chosen;
    };
    const random = rng(99);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(random() * 60);
      // Two or more dimensions: in one, every similarity is ±1 and picks among exact ties depend on rounding.
      const dim = 2 + Math.floor(random() * 15);
      const candidates = randomCandidates(n, dim, trial + 1000);
      if (trial % 5 === 0) for (const c of candidates) c.score = Math.round(c.score); // many ties
      const lambda = [0, 0.3, 0.5, 0.8, 0.95][trial % 5]!;
      const k = 1 + Math.floor(random() * 20);
      expect(mmrSelect(candidates, k, lambda), `trial ${trial} n ${n} dim ${dim}`).toEqual(
        eager(candidates, k, lambda),
      );
    }
  });

  it('rejects a lambda outside [0, 1]', () => {
    expect(() => mmrSelect([], 1, 1.5)).toThrow(/lambda/);
    expect(() => mmrSelect([], 1, Number.NaN)).toThrow(/lambda/);
  });
});
