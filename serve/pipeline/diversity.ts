/**
 * Intra-list diversity: the mean pairwise cosine distance (1 - cosine similarity) of the items in
 * a list. 0 means every item points the same way; it grows as the list spreads out. Computed on
 * every recommendation (it feeds a histogram), so the vectors go into a `VectorBlock`: each norm
 * once, each pair one inner product.
 */
import { VectorBlock } from '../../lib/simd-kernel.ts';

/** Undefined for fewer than two items, where diversity has no meaning. */
export function intraListDiversity(vectors: ReadonlyArray<ArrayLike<number>>): number | undefined {
  const n = vectors.length;
  if (n < 2) return undefined;
  const block = VectorBlock.load(vectors);
  const norms = block.norms();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // A zero vector has no direction: its cosine with anything counts as 0, as in `cosine`.
      const cosine = norms[i] === 0 || norms[j] === 0 ? 0 : block.dot(i, j) / (norms[i]! * norms[j]!);
      sum += 1 - cosine;
    }
  }
  return sum / ((n * (n - 1)) / 2);
}
