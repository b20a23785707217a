/**
 * Offline ranking metrics at a cut-off k (12 in the H&M competition), pure functions.
 *
 * - MAP@k as the competition defines it: AP@k = Σ_{i≤k} P(i)·rel(i) / min(|actual|, k), averaged
 *   over users (a user with no relevant item in the list scores 0).
 * - Recall@k: relevant items found in the list / |actual|.
 * - NDCG@k with binary relevance: DCG = Σ rel(i) / log2(i + 1), divided by the DCG of a perfect list.
 * - Coverage: distinct items recommended to anyone / catalogue size.
 *
 * Users with no actual items are left out (they cannot be scored). Duplicates in a list count once.
 */

export interface UserLists {
  /** Ranked recommendations, best first (only the first k count). */
  recommended: readonly number[];
  /** Items the user actually bought in the hold-out period. */
  actual: readonly number[];
}

export interface RankingMetrics {
  map: number;
  recall: number;
  ndcg: number;
  coverage: number;
  users: number;
}

export function averagePrecision(
  recommended: readonly number[],
  actual: ReadonlySet<number>,
  k: number,
): number {
  if (actual.size === 0) return 0;
  let hits = 0;
  let sum = 0;
  const seen = new Set<number>();
  const n = Math.min(k, recommended.length);
  for (let i = 0; i < n; i++) {
    const item = recommended[i]!;
    if (seen.has(item)) continue;
    seen.add(item);
    if (actual.has(item)) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / Math.min(actual.size, k);
}

export function recall(recommended: readonly number[], actual: ReadonlySet<number>, k: number): number {
  if (actual.size === 0) return 0;
  const found = new Set(recommended.slice(0, k).filter((item) => actual.has(item)));
  return found.size / actual.size;
}

export function ndcg(recommended: readonly number[], actual: ReadonlySet<number>, k: number): number {
  if (actual.size === 0) return 0;
  let dcg = 0;
  const seen = new Set<number>();
  const n = Math.min(k, recommended.length);
  for (let i = 0; i < n; i++) {
    const item = recommended[i]!;
    if (seen.has(item)) continue;
    seen.add(item);
    if (actual.has(item)) dcg += 1 / Math.log2(i + 2);
  }
  let ideal = 0;
  for (let i = 0; i < Math.min(actual.size, k); i++) ideal += 1 / Math.log2(i + 2);
  return dcg / ideal;
}

/** Mean MAP@k, Recall@k, NDCG@k over users, and catalogue coverage of the top-k lists. */
export function rankingMetrics(lists: Iterable<UserLists>, k: number, catalogueSize: number): RankingMetrics {
  let users = 0;
  let map = 0;
  let rec = 0;
  let gain = 0;
  const shown = new Set<number>();
  for (const { recommended, actual } of lists) {
    if (actual.length === 0) continue;
    const truth = new Set(actual);
    users++;
    map += averagePrecision(recommended, truth, k);
    rec += recall(recommended, truth, k);
    gain += ndcg(recommended, truth, k);
    for (const item of recommended.slice(0, k)) shown.add(item);
  }
  const mean = (total: number) => (users === 0 ? 0 : total / users);
  return {
    map: mean(map),
    recall: mean(rec),
    ndcg: mean(gain),
    coverage: catalogueSize > 0 ? shown.size / catalogueSize : 0,
    users,
  };
}

/** The first `k` items of `ranked` that are not in `exclude`. */
export function topKExcluding(ranked: readonly number[], exclude: ReadonlySet<number>, k: number): number[] {
  const out: number[] = [];
  for (const item of ranked) {
    if (out.length === k) break;
    if (!exclude.has(item)) out.push(item);
  }
  return out;
}
