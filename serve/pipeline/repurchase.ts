/**
 * Repurchase candidates: the items of a user's own recent purchases that are worth showing again.
 *
 * Fashion customers buy again what they bought — another size, the colour-mate, a second one as
 * a gift — mostly within days of the first purchase, rarely months later. Each purchase of an
 * item counts `0.5^(age / halfLifeDays)`, `age` being the days between the purchase and now (the
 * request's clock; the evaluation sets it to the first test day); purchases older than
 * `windowDays` do not count. Items are ranked by that recency weight, heaviest first;
 * ties — one basket's items share a day — go to the higher model score (`rankRepurchase`), then
 * to the later purchase, then to the lower id.
 */
import type { Purchase } from '../../lib/stores/types.ts';

/** How purchased items are treated: a repurchase stage, ordinary candidates, or left out. */
export const REPURCHASE_MODES = ['auto', 'include', 'exclude'] as const;
export type RepurchaseMode = (typeof REPURCHASE_MODES)[number];

export interface RepurchaseOptions {
  /** Purchases this many days or less before the user's newest one are candidates. */
  windowDays: number;
  /** Age at which a purchase counts half. */
  halfLifeDays: number;
  /** At most this many repurchase items enter a list. */
  maxItems: number;
  /**
   * How much recency lifts a purchased item against the model's new items: its score is the
   * model score + boost × recency weight × the best new item's score (see the recommender's
   * merge rule).
   */
  boost: number;
}

export interface RepurchaseCandidate {
  item_idx: number;
  /** Σ 0.5^(age / half-life) over the item's purchases in the window. */
  weight: number;
  /** Purchases of the item in the window. */
  times: number;
  last_purchased_at: string;
}

const DAY_MS = 86_400_000;

/** Candidates from `recent` (newest first, as the feature store returns them), in no order. */
export function repurchaseCandidates(
  recent: readonly Purchase[],
  options: Pick<RepurchaseOptions, 'windowDays' | 'halfLifeDays'>,
  nowMs: number,
): RepurchaseCandidate[] {
  if (recent.length === 0 || options.windowDays < 0) return [];
  const byItem = new Map<number, RepurchaseCandidate>();
  for (const p of recent) {
    const at = Date.parse(p.ts);
    // A purchase stamped after now (clock skew between hosts) counts as just made.
    const age = Math.max(0, (nowMs - at) / DAY_MS);
    if (!(age <= options.windowDays)) continue;
    const weight = options.halfLifeDays > 0 ? 0.5 ** (age / options.halfLifeDays) : 1;
    const entry = byItem.get(p.item_idx);
    if (entry === undefined) {
      byItem.set(p.item_idx, { item_idx: p.item_idx, weight, times: 1, last_purchased_at: p.ts });
    } else {
      entry.weight += weight;
      entry.times++;
      if (at > Date.parse(entry.last_purchased_at)) entry.last_purchased_at = p.ts;
    }
  }
  return [...byItem.values()];
}

/**
 * Ranks candidates: recency weight, then `score` (the model's user–item score; missing = −∞),
 * then the later purchase, then the lower id. Sorts in place and returns the array.
 */
export function rankRepurchase(
  candidates: RepurchaseCandidate[],
  score: (itemIdx: number) => number | undefined = () => undefined,
): RepurchaseCandidate[] {
  const scoreOf = (c: RepurchaseCandidate) => score(c.item_idx) ?? Number.NEGATIVE_INFINITY;
  return candidates.sort(
    (a, b) =>
      b.weight - a.weight ||
      compareDesc(scoreOf(a), scoreOf(b)) ||
      Date.parse(b.last_purchased_at) - Date.parse(a.last_purchased_at) ||
      a.item_idx - b.item_idx,
  );
}

function compareDesc(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}
