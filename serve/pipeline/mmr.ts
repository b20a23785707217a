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

  // Relevance rescaled to [0, 1]. Unit vectors are packed in score order into one scratch array
  // (a dot product over contiguous memory per similarity), each normalised the first time it is
  // needed. Scratch arrays are reused across calls: this runs synchronously, once per request.
  const dim = candidates[0]!.vector.length;
  const s = scratch(n, dim);
  const { unit, relevance, redundancy, bound, compared, flags } = s;
  const top = candidates[byScore[0]!]!.score;
  const span = top - candidates[byScore[n - 1]!]!.score;
  // Lazy greedy: a candidate's value can only fall as picks accumulate (its redundancy is a
  // running maximum), so a value computed against fewer picks is an upper bound. Each step
  // brings only the candidate with the highest bound up to date, until the best one is current.
  // The picks are exactly those of the eager algorithm, with far fewer similarity computations.
  // Before any comparison the redundancy is at least -1 (cosine), so the first bound holds; the
  // margin covers rounding in the dot products of unit vectors.
  const diversityWeight = 1 - lambda;
  for (let r = 0; r < n; r++) {
    relevance[r] = span > 0 ? 1 - (top - candidates[byScore[r]!]!.score) / span : 1;
    bound[r] = lambda * relevance[r]! + diversityWeight * (1 + 1e-6);
    redundancy[r] = Number.NEGATIVE_INFINITY;
    compared[r] = 0;
    flags[r] = 0;
  }
  const normalise = (r: number) => {
    const v = candidates[byScore[r]!]!.vector;
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += v[j]! * v[j]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    const offset = r * dim;
    for (let j = 0; j < dim; j++) unit[offset + j] = v[j]! * scale;
    flags[r] = flags[r]! | NORMALISED;
  };
  const taken = (r: number) => (flags[r]! & TAKEN) !== 0;
  normalise(0);
  flags[0] = flags[0]! | TAKEN;
  const picks: number[] = [0]; // ranks
  taken[0] = 1;
  while (picks.length < take) {
    for (;;) {
      // The highest bound, the best-scored candidate on ties.
      let best = -1;
      let bestBound = Number.NEGATIVE_INFINITY;
      for (let r = 1; r < n; r++) {
        if (!taken(r) && bound[r]! > bestBound) {
          bestBound = bound[r]!;
          best = r;
        }
      }
      if (compared[best] === picks.length) {
        flags[best] = flags[best]! | TAKEN;
        picks.push(best);
        break;
      }
      if ((flags[best]! & NORMALISED) === 0) normalise(best);
      const offset = best * dim;
      for (let p = compared[best]!; p < picks.length; p++) {
        const pickOffset = picks[p]! * dim;
        let sim = 0;
        for (let j = 0; j < dim; j++) sim += unit[offset + j]! * unit[pickOffset + j]!;
        if (sim > redundancy[best]!) redundancy[best] = sim;
      }
      compared[best] = picks.length;
      bound[best] = lambda * relevance[best]! - diversityWeight * redundancy[best]!;
    }
  }
  return picks.map((r) => byScore[r]!);
}

const NORMALISED = 1;
const TAKEN = 2;

interface Scratch {
  unit: Float64Array;
  relevance: Float64Array;
  redundancy: Float64Array;
  bound: Float64Array;
  compared: Int32Array;
  flags: Uint8Array;
}

let shared: Scratch = allocate(64, 64);

function allocate(n: number, dim: number): Scratch {
  return {
    unit: new Float64Array(n * dim),
    relevance: new Float64Array(n),
    redundancy: new Float64Array(n),
    bound: new Float64Array(n),
    compared: new Int32Array(n),
    flags: new Uint8Array(n),
  };
}

/** Scratch arrays for `n` candidates of `dim` dimensions, grown when too small. */
function scratch(n: number, dim: number): Scratch {
  if (shared.relevance.length < n) shared = { ...allocate(n, 0), unit: shared.unit };
  if (shared.unit.length < n * dim) shared.unit = new Float64Array(n * dim);
  return shared;
}

function rankByScore(candidates: readonly MmrCandidate[]): number[] {
  const order = Array.from({ length: candidates.length }, (_, i) => i);
  return order.sort((a, b) => candidates[b]!.score - candidates[a]!.score || a - b);
}
