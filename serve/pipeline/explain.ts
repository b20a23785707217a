/**
 * Explanations: which of the user's recent purchases make an item a good recommendation.
 *
 * For a recommended item, the recent purchases most similar to it (cosine similarity of item
 * vectors) are listed with their share of the total similarity. Purchases that are not similar
 * at all (cosine <= 0) explain nothing and are left out; shares are given with one decimal and
 * always sum to exactly 100 when the list is not empty.
 */
import { VectorBlock } from '../../lib/simd-kernel.ts';

export interface PurchasedItem {
  item_idx: number;
  item_name: string;
  vector: ArrayLike<number>;
}

export interface Explanation {
  item_idx: number;
  item_name: string;
  /** Cosine similarity to the recommended item, rounded to 4 decimals. */
  similarity: number;
  /** Share of this purchase in the explanation, in percent with one decimal; the list sums to 100. */
  contribution_pct: number;
}

export function explainItem(
  itemVector: ArrayLike<number>,
  purchases: readonly PurchasedItem[],
  topK: number,
): Explanation[] {
  return explainItems([itemVector], purchases, topK)[0]!;
}

/**
 * `explainItem` for each of `itemVectors` at once: the items and the distinct purchases go into
 * one `VectorBlock`, so each norm is computed once and each similarity is one inner product.
 */
export function explainItems(
  itemVectors: ReadonlyArray<ArrayLike<number>>,
  purchases: readonly PurchasedItem[],
  topK: number,
): Explanation[][] {
  // A user may buy the same item twice; it explains the same thing once.
  const distinct: PurchasedItem[] = [];
  const seen = new Set<number>();
  for (const purchase of purchases) {
    if (seen.has(purchase.item_idx)) continue;
    seen.add(purchase.item_idx);
    distinct.push(purchase);
  }
  const n = itemVectors.length;
  if (distinct.length === 0 || n === 0) return itemVectors.map(() => []);
  const block = VectorBlock.load([...itemVectors, ...distinct.map((p) => p.vector)]);
  const norms = block.norms();
  return itemVectors.map((_, i) => {
    const scored: Array<{ purchase: PurchasedItem; similarity: number }> = [];
    for (let j = 0; j < distinct.length; j++) {
      const scale = norms[i]! * norms[n + j]!;
      // A zero vector has no direction and explains nothing.
      const similarity = scale > 0 ? block.dot(i, n + j) / scale : 0;
      if (similarity > 0) scored.push({ purchase: distinct[j]!, similarity });
    }
    scored.sort((a, b) => b.similarity - a.similarity || a.purchase.item_idx - b.purchase.item_idx);
    const top = scored.slice(0, Math.max(0, topK));
    const shares = sharesSummingTo100(top.map((t) => t.similarity));
    return top.map((t, k) => ({
      item_idx: t.purchase.item_idx,
      item_name: t.purchase.item_name,
      similarity: Math.round(t.similarity * 10_000) / 10_000,
      contribution_pct: shares[k]!,
    }));
  });
}

/**
 * Percentages with one decimal that sum to exactly 100, by the largest-remainder method over
 * tenths of a percent (so 1/3 each becomes 33.4, 33.3, 33.3 rather than 33.3 three times).
 */
export function sharesSummingTo100(weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const total = weights.reduce((sum, w) => sum + Math.max(0, w), 0);
  const exact = weights.map((w) => (total > 0 ? (Math.max(0, w) / total) * 1000 : 1000 / weights.length));
  const units = exact.map(Math.floor);
  let missing = 1000 - units.reduce((sum, u) => sum + u, 0);
  const byRemainder = exact
    .map((e, i) => ({ i, rest: e - Math.floor(e) }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of byRemainder) {
    if (missing <= 0) break;
    units[i]! += 1;
    missing--;
  }
  return units.map((u) => u / 10);
}
