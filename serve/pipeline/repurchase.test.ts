import { describe, expect, it } from 'vitest';
import { tunedSegments } from '../services/recommendations.ts';
import {
  AUTO_WINDOW_FALLBACK_DAYS,
  REPURCHASE_WINDOW_CANDIDATES,
  rankRepurchase,
  repurchaseCandidates,
  repurchasePlans,
  tunedRepurchase,
  windowPolicyName,
} from './repurchase.ts';

const NOW = Date.parse('2020-09-23T00:00:00.000Z');
const day = (d: number) => new Date(NOW - d * 86_400_000).toISOString();
const options = { windowDays: 14, halfLifeDays: 7 };

describe('repurchase candidates', () => {
  it("weighs each purchase h / (h + age) and sums repeats, leaving out the window's outside", () => {
    const recent = [
      { item_idx: 1, ts: day(0) },
      { item_idx: 2, ts: day(7) },
      { item_idx: 1, ts: day(7) },
      { item_idx: 3, ts: day(14) },
      { item_idx: 4, ts: day(15) },
    ];
    const byId = new Map(repurchaseCandidates(recent, options, NOW).map((c) => [c.item_idx, c]));
    expect([...byId.keys()].sort()).toEqual([1, 2, 3]);
    expect(byId.get(1)).toEqual({
      item_idx: 1,
      weight: 1.5,
      times: 2,
      last_purchased_at: day(0),
      last_purchased_ms: Date.parse(day(0)),
    });
    expect(byId.get(2)!.weight).toBeCloseTo(0.5, 12);
    expect(byId.get(3)!.weight).toBeCloseTo(1 / 3, 12);
  });

  it('counts a purchase stamped after now as just made, and nothing when the history is empty', () => {
    const future = new Date(NOW + 3_600_000).toISOString();
    expect(repurchaseCandidates([{ item_idx: 9, ts: future }], options, NOW)[0]!.weight).toBe(1);
    expect(repurchaseCandidates([], options, NOW)).toEqual([]);
  });

  it('a half-life of 0 weighs every purchase in the window 1', () => {
    const recent = [
      { item_idx: 1, ts: day(1) },
      { item_idx: 2, ts: day(10) },
    ];
    const weights = repurchaseCandidates(recent, { windowDays: 14, halfLifeDays: 0 }, NOW).map(
      (c) => c.weight,
    );
    expect(weights).toEqual([1, 1]);
  });

  it('ranks by weight, then model score, then the later purchase, then the lower id', () => {
    const basket = [
      { item_idx: 5, ts: day(2) },
      { item_idx: 6, ts: day(2) },
      { item_idx: 7, ts: day(2) },
      { item_idx: 8, ts: day(0) },
      { item_idx: 4, ts: day(2) },
    ];
    const scores = new Map([
      [5, 0.1],
      [6, 0.9],
      [7, 0.5],
    ]);
    const ranked = rankRepurchase(repurchaseCandidates(basket, options, NOW), (id) => scores.get(id));
    // 8 is newest; the day-2 basket by score; 4 has no score (not in the model's view) and comes last.
    expect(ranked.map((c) => c.item_idx)).toEqual([8, 6, 7, 5, 4]);
  });
});

describe('the tuned repurchase window (REPURCHASE_WINDOW_DAYS=auto)', () => {
  it('takes the best evaluated window, the shorter on a tie, hold-out before prequential', () => {
    expect(tunedRepurchase(undefined).windowDays).toBe(AUTO_WINDOW_FALLBACK_DAYS);
    expect(tunedRepurchase({ holdout_default_map_at_12: 0.3 }).windowDays).toBe(AUTO_WINDOW_FALLBACK_DAYS);
    expect(
      tunedRepurchase({
        holdout_window_7_map_at_12: 0.01,
        holdout_window_90_map_at_12: 0.02,
        holdout_window_365_map_at_12: 0.02,
        prequential_static_window_730_map_at_12: 0.5,
      }).windowDays,
    ).toBe(90);
    expect(tunedRepurchase({ prequential_static_window_730_map_at_12: 0.5 }).windowDays).toBe(730);
    expect(tunedRepurchase({ holdout_window_28_map_at_12: Number.NaN }).windowDays).toBe(
      AUTO_WINDOW_FALLBACK_DAYS,
    );
    expect(REPURCHASE_WINDOW_CANDIDATES.map((d) => windowPolicyName(d))).toContain('window_730');
  });

  it('tunes window, boost and fill together, within what the configuration allows', () => {
    const metrics = {
      holdout_window_7_map_at_12: 0.02,
      holdout_window_7_first_map_at_12: 0.01,
      holdout_window_730_map_at_12: 0.012,
      holdout_window_730_first_map_at_12: 0.03,
    };
    expect(windowPolicyName(730, 'first')).toBe('window_730_first');
    expect(windowPolicyName(7, 1)).toBe('window_7');
    expect(tunedRepurchase(metrics)).toEqual({ windowDays: 730, boost: 'first', fill: 'model' });
    // A configured boost allows only its own figures (`window_<d>` for a number).
    expect(tunedRepurchase(metrics, { windowDays: 'auto', boost: 0.3 })).toEqual({
      windowDays: 7,
      boost: 0.3,
      fill: 'model',
    });
    expect(tunedRepurchase(metrics, { windowDays: 7, boost: 'auto' })).toEqual({
      windowDays: 7,
      boost: 1,
      fill: 'model',
    });
    // Ties: the shorter window, then the earlier boost candidate.
    expect(
      tunedRepurchase({ holdout_window_28_first_map_at_12: 0.1, holdout_window_28_map_at_12: 0.1 }),
    ).toEqual({ windowDays: 28, boost: 1, fill: 'model' });
    // The trending fill wins when it scores better, and only where it is allowed.
    const withTrending = { ...metrics, holdout_window_730_trending_map_at_12: 0.031 };
    expect(tunedRepurchase(withTrending)).toEqual({ windowDays: 730, boost: 1, fill: 'trending' });
    expect(tunedRepurchase(withTrending, { windowDays: 'auto', boost: 'auto', fill: 'model' }).fill).toBe(
      'model',
    );
    // Without figures: the fallbacks, or what is configured.
    expect(tunedRepurchase(undefined)).toEqual({
      windowDays: AUTO_WINDOW_FALLBACK_DAYS,
      boost: 1,
      fill: 'model',
    });
    expect(tunedRepurchase(undefined, { windowDays: 14, boost: 'first', fill: 'trending' })).toEqual({
      windowDays: 14,
      boost: 'first',
      fill: 'trending',
    });
  });

  it('lists the plans a configuration allows: one trending plan per window', () => {
    const all = repurchasePlans({ windowDays: 'auto', boost: 'auto', fill: 'auto' });
    expect(all).toHaveLength(REPURCHASE_WINDOW_CANDIDATES.length * 3);
    expect(all.filter((p) => p.fill === 'trending').map((p) => [p.windowDays, p.boost])).toEqual(
      REPURCHASE_WINDOW_CANDIDATES.map((d) => [d, 1]),
    );
    expect(new Set(all.map((p) => windowPolicyName(p.windowDays, p.boost, p.fill))).size).toBe(all.length);
    expect(repurchasePlans({ windowDays: 14, boost: 'first', fill: 'model' })).toEqual([
      { windowDays: 14, boost: 'first', fill: 'model' },
    ]);
    expect(repurchasePlans({ windowDays: 14, boost: 'first', fill: 'trending' })).toEqual([
      { windowDays: 14, boost: 'first', fill: 'trending' },
    ]);
  });

  it('turns segment lists on only when the hold-out measured them better (TRENDING_SEGMENTS=auto)', () => {
    expect(tunedSegments(undefined, 'auto')).toBe(false);
    expect(
      tunedSegments({ holdout_segments_on_map_at_12: 0.2, holdout_segments_off_map_at_12: 0.1 }, 'auto'),
    ).toBe(true);
    expect(
      tunedSegments({ holdout_segments_on_map_at_12: 0.1, holdout_segments_off_map_at_12: 0.1 }, 'auto'),
    ).toBe(false);
    expect(
      tunedSegments({ holdout_segments_on_map_at_12: 0.2, holdout_segments_off_map_at_12: 0.1 }, 'off'),
    ).toBe(false);
    expect(tunedSegments(undefined, 'on')).toBe(true);
  });
});
