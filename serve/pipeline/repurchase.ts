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
 * `REPURCHASE_WINDOW_CANDIDATES` by the hold-out MAP@12 of each, and `REPURCHASE_BOOST=auto`
 * whether repurchases compete with the model's items or go ahead of them (`tunedRepurchase`).
 * Items are ranked by that recency weight, heaviest first;
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

/**
 * How a repurchase enters the list: a number is the boost of the merge rule (it competes with the
 * model's items on a lifted score); `first` puts the repurchases ahead of the model's items.
 */
export type RepurchaseBoost = number | 'first';
/** The boosts `REPURCHASE_BOOST=auto` chooses from; the first one is the fallback. */
export const REPURCHASE_BOOST_CANDIDATES: readonly RepurchaseBoost[] = [1, 'first'];

/**
 * What fills the list after (or among) the repurchases: the model's nearest items, or the
 * trending list — for a shop whose model does not yet find new items better than popularity.
 * With `trending` the repurchases lead (trending items have no model score to compete on),
 * ordered by the merge score of the numeric boost (1 under `first`).
 */
export const REPURCHASE_FILLS = ['model', 'trending'] as const;
export type RepurchaseFill = (typeof REPURCHASE_FILLS)[number];

/** The repurchase settings a plain request gets: the window, the merge, what fills the list. */
export interface RepurchasePlan {
  windowDays: number;
  boost: RepurchaseBoost;
  fill: RepurchaseFill;
}

/**
 * The evaluation policy that measures one plan: `window_<days>` with the numeric boost the
 * evaluation runs with, `window_<days>_first` with `first`, `window_<days>_trending` with the
 * trending fill (whose repurchases always lead).
 */
export function windowPolicyName(
  days: number,
  boost: RepurchaseBoost = 1,
  fill: RepurchaseFill = 'model',
): string {
  if (fill === 'trending') return `window_${days}_trending`;
  return boost === 'first' ? `window_${days}_first` : `window_${days}`;
}

/**
 * Where the choices `auto` makes read their figures, in order: the hold-out, else the prequential
 * protocol without the replay (a version evaluated only that way).
 */
export const TUNING_PROTOCOLS = ['holdout', 'prequential_static'] as const;

/** The plans `tunedRepurchase` may choose from under a configuration (`auto` = every candidate). */
export function repurchasePlans(configured: {
  windowDays: number | 'auto';
  boost: RepurchaseBoost | 'auto';
  fill: RepurchaseFill | 'auto';
}): RepurchasePlan[] {
  const windows = configured.windowDays === 'auto' ? REPURCHASE_WINDOW_CANDIDATES : [configured.windowDays];
  const boosts = configured.boost === 'auto' ? REPURCHASE_BOOST_CANDIDATES : [configured.boost];
  const fills = configured.fill === 'auto' ? REPURCHASE_FILLS : [configured.fill];
  const plans: RepurchasePlan[] = [];
  for (const windowDays of windows) {
    for (const fill of fills) {
      for (const boost of boosts) {
        // Under the trending fill the repurchases lead whatever the boost: one plan per window.
        if (fill === 'trending' && boosts.length > 1 && boost === 'first') continue;
        plans.push({ windowDays, boost, fill });
      }
    }
  }
  return plans;
}

/**
 * The plan `auto` serves for a version: among the allowed plans (`repurchasePlans`: a configured
 * value allows only itself), the one with the best MAP@12 in the version's evaluated figures
 * (hold-out, else prequential without the replay); on a tie the earlier plan (shorter window,
 * model fill, boost 1 before `first`). A numeric boost's figures are those of `window_<days>`,
 * measured with the boost the evaluation was configured with. Without figures: the fallbacks
 * (`AUTO_WINDOW_FALLBACK_DAYS`, the first boost candidate, the model fill).
 */
export function tunedRepurchase(
  metrics: Readonly<Record<string, number>> | undefined,
  configured: {
    windowDays: number | 'auto';
    boost: RepurchaseBoost | 'auto';
    fill?: RepurchaseFill | 'auto';
  } = { windowDays: 'auto', boost: 'auto' },
): RepurchasePlan {
  const plans = repurchasePlans({ ...configured, fill: configured.fill ?? 'auto' });
  for (const prefix of TUNING_PROTOCOLS) {
    let best: RepurchasePlan | null = null;
    let bestMap = -1;
    for (const plan of plans) {
      const map =
        metrics?.[`${prefix}_${windowPolicyName(plan.windowDays, plan.boost, plan.fill)}_map_at_12`];
      if (typeof map === 'number' && Number.isFinite(map) && map > bestMap) {
        best = plan;
        bestMap = map;
      }
    }
    if (best !== null) return best;
  }
  return {
    windowDays: configured.windowDays === 'auto' ? AUTO_WINDOW_FALLBACK_DAYS : configured.windowDays,
    boost: configured.boost === 'auto' ? REPURCHASE_BOOST_CANDIDATES[0]! : configured.boost,
    fill: configured.fill === undefined || configured.fill === 'auto' ? 'model' : configured.fill,
  };
}

export interface RepurchaseOptions {
  /**
   * Purchases this many days old or less are candidates; `auto`: the window the served
   * version's evaluation chose (`tunedRepurchase`).
   */
  windowDays: number | 'auto';
  /** Age at which a purchase counts half. */
  halfLifeDays: number;
  /** At most this many repurchase items enter a list. */
  maxItems: number;
  /**
   * How much recency lifts a purchased item against the model's new items: its score is the
   * model score + boost × recency weight × the best new item's score (see the recommender's
   * merge rule); `first`: repurchases ahead of the model's items; `auto`: the boost the served
   * version's evaluation chose (`tunedRepurchase`).
   */
  boost: RepurchaseBoost | 'auto';
  /** What fills the list besides the repurchases; `auto`: what the served version's evaluation chose. */
  fill: RepurchaseFill | 'auto';
}

export interface RepurchaseCandidate {
  item_idx: number;
  /** Σ h / (h + age) over the item's purchases in the window (h: the half-life). */
  weight: number;
  /** Purchases of the item in the window. */
  times: number;
  last_purchased_at: string;
  /** `last_purchased_at` in epoch milliseconds (parsed once, for comparisons). */
  last_purchased_ms: number;
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
      byItem.set(p.item_idx, {
        item_idx: p.item_idx,
        weight,
        times: 1,
        last_purchased_at: p.ts,
        last_purchased_ms: at,
      });
    } else {
      entry.weight += weight;
      entry.times++;
      if (at > entry.last_purchased_ms) {
        entry.last_purchased_at = p.ts;
        entry.last_purchased_ms = at;
      }
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
      b.last_purchased_ms - a.last_purchased_ms ||
      a.item_idx - b.item_idx,
  );
}

function compareDesc(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}
