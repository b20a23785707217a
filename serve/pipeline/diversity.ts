/**
 * Intra-list diversity: the mean pairwise cosine distance (1 - cosine similarity) of the items in
 * a list. 0 means every item points the same way; it grows as the list spreads out.
 */
import { cosine } from '../../lib/vectors.ts';

/** Undefined for fewer than two items, where diversity has no meaning. */
export function intraListDiversity(vectors: ReadonlyArray<ArrayLike<number>>): number | undefined {
  if (vectors.length < 2) return undefined;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      sum += 1 - cosine(vectors[i]!, vectors[j]!);
      pairs++;
    }
  }
  return sum / pairs;
}
