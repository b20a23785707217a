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

  // Unit vectors packed in score order into one typed array, so each similarity is a dot product
  // over contiguous memory; relevance rescaled to [0, 1] once.
  const dim = candidates[0]!.vector.length;
  const unit = new Float64Array(n * dim);
  const relevance = new Float64Array(n);
  const top = candidates[byScore[0]!]!.score;
  const span = top - candidates[byScore[n - 1]!]!.score;
  for (let r = 0; r < n; r++) {
    const candidate = candidates[byScore[r]!]!;
    const v = candidate.vector;
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += v[j]! * v[j]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    const offset = r * dim;
    for (let j = 0; j < dim; j++) unit[offset + j] = v[j]! * scale;
    relevance[r] = span > 0 ? 1 - (top - candidate.score) / span : 1;
  }

  // Highest similarity of each remaining candidate (by rank) to the picks so far.
  const redundancy = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const taken = new Uint8Array(n);
  const chosen: number[] = [byScore[0]!];
  taken[0] = 1;
  let last = 0;
  const diversityWeight = 1 - lambda;
  while (chosen.length < take) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    const lastOffset = last * dim;
    // Walk in score order so the first candidate with the best value also has the best score.
    for (let r = 1; r < n; r++) {
      if (taken[r] === 1) continue;
      const offset = r * dim;
      let sim = 0;
      for (let j = 0; j < dim; j++) sim += unit[offset + j]! * unit[lastOffset + j]!;
      if (sim > redundancy[r]!) redundancy[r] = sim;
      const value = lambda * relevance[r]! - diversityWeight * redundancy[r]!;
      if (value > bestValue) {
        bestValue = value;
        best = r;
      }
    }
    taken[best] = 1;
    chosen.push(byScore[best]!);
    last = best;
  }
  return chosen;
}

function rankByScore(candidates: readonly MmrCandidate[]): number[] {
  const order = Array.from({ length: candidates.length }, (_, i) => i);
  return order.sort((a, b) => candidates[b]!.score - candidates[a]!.score || a - b);
}
