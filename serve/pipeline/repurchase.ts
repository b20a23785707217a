/**
 * Repurchase candidates: the items of a user's own recent purchases that are worth showing again.
 *
 * Fashion customers buy again what they bought — another size, the colour-mate, a second one as
 * a gift — most often within days of the first purchase, and less and less often over the
 * months after: on real H&M weeks the chance that a purchase is bought again in the next week
 * falls about as 1 / age (6.9 % at 0–3 days, 2.3 % at 8–14, 0.5 % at 29–56, 0.1 % after a
 * year). So each purchase of an item counts `h / (h + age)` (h = `halfLifeDays`, the age at which
 * it counts half), `age` being the days between the purchase and now (the request's clock; the
 * evaluation sets it to the first test day); purchases older than `windowDays` do not count.
 * How far back purchases are worth offering depends on the shop — on how well its model finds
 * new items — so `REPURCHASE_WINDOW_DAYS=auto` lets the evaluation choose the window from
 * `REPURCHASE_WINDOW_CANDIDATES` by the hold-out MAP@12 of each (`tunedWindowDays`). Items are ranked by that recency weight, heaviest first;
 * ties — one basket's items share a day — go to the higher model score (`rankRepurchase`), then
 * to the later purchase, then to the lower id.
 */
import type { Purchase } from '../../lib/stores/types.ts';

/** How purchased items are treated: a repurchase stage, ordinary candidates, or left out. */
export const REPURCHASE_MODES = ['auto', 'include', 'exclude'] as const;
export type RepurchaseMode = (typeof REPURCHASE_MODES)[number];

/** The windows `REPURCHASE_WINDOW_DAYS=auto` chooses from (policies `window_<days>`). */
export const REPURCHASE_WINDOW_CANDIDATES = [7, 28, 90, 365, 730] as const;
/** The window of `auto` while the served version has no evaluated windows. */
export const AUTO_WINDOW_FALLBACK_DAYS = 28;

/** The evaluation policy that measures one window. */
export function windowPolicyName(days: number): string {
  return `window_${days}`;
}

/**
 * The window `auto` serves for a version: the candidate with the best MAP@12 in the version's
 * evaluated figures (hold-out, else prequential without the replay), the shorter on a tie;
 * `AUTO_WINDOW_FALLBACK_DAYS` when the version has none.
 */
export function tunedWindowDays(metrics: Readonly<Record<string, number>> | undefined): number {
  for (const prefix of ['holdout', 'prequential_static']) {
    let best: number | null = null;
    let bestMap = -1;
    for (const days of REPURCHASE_WINDOW_CANDIDATES) {
      const map = metrics?.[`${prefix}_${windowPolicyName(days)}_map_at_12`];
      if (typeof map === 'number' && Number.isFinite(map) && map > bestMap) {
        best = days;
        bestMap = map;
      }
    }
    if (best !== null) return best;
  }
  return AUTO_WINDOW_FALLBACK_DAYS;
}

export interface RepurchaseOptions {
  /**
   * Purchases this many days old or less are candidates; `auto`: the window the served
   * version's evaluation chose (`tunedWindowDays`).
   */
  windowDays: number | 'auto';
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
  /** Σ h / (h + age) over the item's purchases in the window (h: the half-life). */
  weight: number;
  /** Purchases of the item in the window. */
  times: number;
  last_purchased_at: string;
}

const DAY_MS = 86_400_000;

/** Candidates from `recent` (newest first, as the feature store returns them), in no order. */
export function repurchaseCandidates(
  recent: readonly Purchase[],
  options: { windowDays: number; halfLifeDays: number },
  nowMs: number,
): RepurchaseCandidate[] {
  if (recent.length === 0 || options.windowDays < 0) return [];
  const byItem = new Map<number, RepurchaseCandidate>();
  for (const p of recent) {
    const at = Date.parse(p.ts);
    // A purchase stamped after now (clock skew between hosts) counts as just made.
    const age = Math.max(0, (nowMs - at) / DAY_MS);
    if (!(age <= options.windowDays)) continue;
    const weight = options.halfLifeDays > 0 ? options.halfLifeDays / (options.halfLifeDays + age) : 1;
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
