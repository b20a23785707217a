/**
 * Maximal marginal relevance (MMR) re-ranking.
 *
 * Greedily picks, from candidates already ranked by the user–item score, the item that maximises
 * `lambda * relevance - (1 - lambda) * redundancy`, where relevance is the candidate's score
 * rescaled to [0, 1] over the candidate list (so lambda weighs two quantities on the same scale)
 * and redundancy is the highest cosine similarity to any item picked so far. `lambda = 1` is the
 * plain ranking; `lambda = 0` spreads the list as far as the candidates allow.
 */

export interface MmrCandidate {
  /** User–item relevance (inner product); larger is better. */
  score: number;
  vector: ArrayLike<number>;
}

/**
 * Returns the indexes of the chosen candidates, in the order they should be shown. Ties go to the
 * higher score, then to the earlier candidate, so the result is deterministic.
 */
export function mmrSelect(candidates: readonly MmrCandidate[], k: number, lambda: number): number[] {
  if (!(lambda >= 0 && lambda <= 1))
    throw new RangeError(`mmrSelect: lambda must be in [0, 1], got ${lambda}`);
  const n = candidates.length;
  const take = Math.max(0, Math.min(k, n));
  const byScore = rankByScore(candidates);
  if (lambda === 1 || take <= 1) return byScore.slice(0, take);

  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    if (c.score < min) min = c.score;
    if (c.score > max) max = c.score;
  }
  const span = max - min;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = vectorNorm(candidates[i]!.vector);

  // Highest similarity of each remaining candidate to the selection; -Infinity marks "taken".
  const redundancy = new Float64Array(n);
  const taken = new Uint8Array(n);
  const chosen: number[] = [];
  let last = -1;
  while (chosen.length < take) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    // Walk in score order so the first candidate with the best value also has the best score.
    for (const i of byScore) {
      if (taken[i] === 1) continue;
      if (last >= 0) {
        const sim = cosineWithNorms(candidates[i]!.vector, candidates[last]!.vector, norms[i]!, norms[last]!);
        if (chosen.length === 1 || sim > redundancy[i]!) redundancy[i] = sim;
      }
      const relevance = span > 0 ? (candidates[i]!.score - min) / span : 1;
      const value = lambda * relevance - (1 - lambda) * (chosen.length === 0 ? 0 : redundancy[i]!);
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    taken[best] = 1;
    chosen.push(best);
    last = best;
  }
  return chosen;
}

function rankByScore(candidates: readonly MmrCandidate[]): number[] {
  const order = Array.from({ length: candidates.length }, (_, i) => i);
  return order.sort((a, b) => candidates[b]!.score - candidates[a]!.score || a - b);
}

function vectorNorm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  return Math.sqrt(sum);
}

function cosineWithNorms(a: ArrayLike<number>, b: ArrayLike<number>, normA: number, normB: number): number {
  if (normA === 0 || normB === 0) return 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum / (normA * normB);
}
