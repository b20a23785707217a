/**
 * Trending lists for cold-start users and fallbacks: merging per-group lists and picking the
 * first `k` items that pass the request's filters.
 */

/**
 * Interleaves several ranked lists (rank 1 of each, then rank 2 of each, ...), keeping the first
 * occurrence of an id, so no single group crowds out the others.
 */
export function interleave(lists: ReadonlyArray<readonly number[]>): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const longest = lists.reduce((max, list) => Math.max(max, list.length), 0);
  for (let rank = 0; rank < longest; rank++) {
    for (const list of lists) {
      const id = list[rank];
      if (id !== undefined && !seen.has(id)) {
        seen.add(id);
        out.push(id);
      }
    }
  }
  return out;
}

/**
 * The score shown for the item at `position` (0-based) of a trending response: 1 for the top
 * item, decreasing with rank, so clients can treat both sources alike.
 */
export function trendingScore(position: number): number {
  return 1 / (1 + position);
}
