/**
 * Maximal marginal relevance (MMR) re-ranking.
 *
 * Greedily picks, from candidates already ranked by the user–item score, the item that maximises
 * `lambda * relevance - (1 - lambda) * redundancy`, where relevance is the candidate's score
 * rescaled to [0, 1] over the candidate list (so lambda weighs two quantities on the same scale)
 * and redundancy is the highest cosine similarity to any item picked so far. `lambda = 1` is the
 * plain ranking; `lambda = 0` spreads the list as far as the candidates allow.
 */
import { VectorBlock } from '../../lib/simd-kernel.ts';

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

  // Relevance rescaled to [0, 1]. A similarity is the dot product of the two vectors times their
  // inverse norms. Scratch arrays are reused across calls: this runs synchronously, once per
  // request.
  const { relevance, redundancy, bound, compared, picks } = scratch(n);
  const vectors: Array<ArrayLike<number>> = new Array(n);
  const top = candidates[byScore[0]!]!.score;
  const span = top - candidates[byScore[n - 1]!]!.score;
  // Lazy greedy: a candidate's value can only fall as picks accumulate (its redundancy is a
  // running maximum), so a value computed against fewer picks is an upper bound. Each step
  // brings only the candidate with the highest bound up to date, until the best one is current.
  // The picks are exactly those of the eager algorithm, with far fewer similarity computations.
  // Before any comparison the redundancy is at least -1 (cosine), so the first bound holds; the
  // margin covers rounding in the dot products. `compared` is -1 once a candidate is taken.
  const diversityWeight = 1 - lambda;
  for (let r = 0; r < n; r++) {
    vectors[r] = candidates[byScore[r]!]!.vector;
    relevance[r] = span > 0 ? 1 - (top - candidates[byScore[r]!]!.score) / span : 1;
    bound[r] = lambda * relevance[r]! + diversityWeight * (1 + 1e-6);
    redundancy[r] = Number.NEGATIVE_INFINITY;
    compared[r] = 0;
  }
  // The vectors as float32 rows in rank order, compared in WebAssembly where the host has it:
  // the block holds the picks and every row's inverse norm, so bringing a candidate up to date
  // against the picks it has not seen yet is one call.
  const block = VectorBlock.load(vectors);
  const { picks: blockPicks, weights: inverseNorms } = block;
  const norms = block.norms();
  for (let r = 0; r < n; r++) inverseNorms[r] = norms[r]! > 0 ? 1 / norms[r]! : 0;
  blockPicks[0] = 0;
  picks[0] = 0;
  compared[0] = -1;
  let picked = 1;
  while (picked < take) {
    for (;;) {
      // The highest bound, the best-scored candidate on ties.
      let best = -1;
      let bestBound = Number.NEGATIVE_INFINITY;
      for (let r = 1; r < n; r++) {
        if (compared[r]! >= 0 && bound[r]! > bestBound) {
          bestBound = bound[r]!;
          best = r;
        }
      }
      if (compared[best] === picked) {
        compared[best] = -1;
        blockPicks[picked] = best;
        picks[picked++] = best;
        break;
      }
      // max over the new picks of cos = dot · (1/|pick|) · (1/|best|); 1/|best| ≥ 0 factors out.
      const newest = block.maxSimilarity(best, compared[best]!, picked) * inverseNorms[best]!;
      let most = redundancy[best]!;
      if (newest > most) most = newest;
      redundancy[best] = most;
      compared[best] = picked;
      bound[best] = lambda * relevance[best]! - diversityWeight * most;
    }
  }
  const order = new Array<number>(picked);
  for (let p = 0; p < picked; p++) order[p] = byScore[picks[p]!]!;
  return order;
}

interface Scratch {
  relevance: Float64Array;
  redundancy: Float64Array;
  bound: Float64Array;
  compared: Int32Array;
  picks: Int32Array;
}

let shared: Scratch = allocate(64);

function allocate(n: number): Scratch {
  return {
    relevance: new Float64Array(n),
    redundancy: new Float64Array(n),
    bound: new Float64Array(n),
    compared: new Int32Array(n),
    picks: new Int32Array(n),
  };
}

/** Scratch arrays for `n` candidates, grown when too small. */
function scratch(n: number): Scratch {
  if (shared.relevance.length < n) shared = allocate(Math.max(n, 2 * shared.relevance.length));
  return shared;
}

/** Candidate indexes by score, best first, ties to the earlier one (search results come sorted). */
function rankByScore(candidates: readonly MmrCandidate[]): number[] {
  const n = candidates.length;
  const order = new Array<number>(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && candidates[i]!.score > candidates[i - 1]!.score) sorted = false;
  }
  if (sorted) return order;
  return order.sort((a, b) => candidates[b]!.score - candidates[a]!.score || a - b);
}
