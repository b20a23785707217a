import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { userEventSchema } from '../../lib/events.ts';
import { seededRandom } from '../../lib/stores/random.ts';
import { syntheticCatalog } from './catalog.ts';
import { createEventSimulator, withNewCustomers, zipfSampler } from './simulator.ts';

const catalog = syntheticCatalog(2000, 500);

function draw(n: number, seed = 7) {
  let counter = 0;
  const sim = createEventSimulator(catalog, {
    seed,
    newEventId: () => `00000000-0000-4000-8000-${String(counter++).padStart(12, '0')}`,
  });
  const t = new Date('2026-05-01T12:00:00.000Z');
  return Array.from({ length: n }, () => sim.next(t));
}

describe('event simulator', () => {
  it('emits valid v1 events naming catalog ids', () => {
    const users = new Set(catalog.users);
    const items = new Set(catalog.items.map((i) => i.item_idx));
    for (const event of draw(2000)) {
      expect(userEventSchema.safeParse(event).success).toBe(true);
      expect(users.has(event.user_idx)).toBe(true);
      expect(items.has(event.item_idx)).toBe(true);
      expect(event.source).toBe('simulator');
    }
  });

  it('is deterministic for a seed', () => {
    expect(draw(500, 3)).toEqual(draw(500, 3));
    expect(draw(500, 3)).not.toEqual(draw(500, 4));
  });

  it('mixes mostly clicks, fewer add-to-carts, fewest purchases', () => {
    const events = draw(20_000);
    const share = (t: string) => events.filter((e) => e.event_type === t).length / events.length;
    expect(share('click')).toBeGreaterThan(0.6);
    expect(share('click')).toBeLessThan(0.9);
    expect(share('add_to_cart')).toBeGreaterThan(0.06);
    expect(share('add_to_cart')).toBeLessThan(share('click'));
    expect(share('purchase')).toBeGreaterThan(0.03);
    expect(share('purchase')).toBeLessThan(share('add_to_cart'));
  });

  it('buys only what the same user put in the cart, after clicking it', () => {
    const events = draw(20_000);
    const carted = new Map<number, Set<number>>();
    const clicked = new Map<number, Set<number>>();
    for (const e of events) {
      const of = (m: Map<number, Set<number>>) =>
        m.get(e.user_idx) ?? m.set(e.user_idx, new Set()).get(e.user_idx)!;
      if (e.event_type === 'click') of(clicked).add(e.item_idx);
      if (e.event_type === 'add_to_cart') {
        expect(of(clicked).has(e.item_idx)).toBe(true);
        of(carted).add(e.item_idx);
      }
      if (e.event_type === 'purchase') expect(of(carted).has(e.item_idx)).toBe(true);
    }
  });

  it('has heavy users and popular items (skewed, not uniform)', () => {
    const events = draw(20_000);
    const perUser = new Map<number, number>();
    for (const e of events) perUser.set(e.user_idx, (perUser.get(e.user_idx) ?? 0) + 1);
    const counts = [...perUser.values()].sort((a, b) => b - a);
    const top = counts.slice(0, Math.ceil(catalog.users.length / 10)).reduce((a, b) => a + b, 0);
    expect(top / events.length).toBeGreaterThan(0.3);
    // Within a group, the first (most popular) item beats the median one by far.
    const group0 = events.filter((e) => e.item_idx % 10 === 0 && e.event_type === 'click');
    const first = group0.filter((e) => e.item_idx === 0).length;
    const middle = group0.filter((e) => e.item_idx === 250).length;
    expect(first).toBeGreaterThan(5 * Math.max(1, middle));
  });

  it('uses unique event ids by default', () => {
    const sim = createEventSimulator(catalog);
    const ids = new Set(Array.from({ length: 1000 }, () => sim.next().event_id));
    expect(ids.size).toBe(1000);
    expect(randomUUID()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('zipfSampler', () => {
  it('draws every index with probability proportional to 1/(i+1)^s', () => {
    const pick = zipfSampler(4, 1, seededRandom(1));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[pick()]!++;
    const total = 1 + 1 / 2 + 1 / 3 + 1 / 4;
    counts.forEach((c, i) => {
      expect(c / 100_000).toBeCloseTo(1 / (i + 1) / total, 2);
    });
  });
});

describe('new customers mixed into the stream', () => {
  function mixed(fraction: number, supply = Number.POSITIVE_INFINITY) {
    let next = 10_000;
    const sim = withNewCustomers(createEventSimulator(catalog, { seed: 5 }), {
      fraction,
      seed: 9,
      newCustomer: () =>
        next - 10_000 >= supply
          ? null
          : { customer_id: next.toString(16).padStart(64, '0'), user_idx: next++ },
    });
    const t = new Date('2026-05-01T12:00:00.000Z');
    return { events: Array.from({ length: 20_000 }, () => sim.next(t)), stats: sim.stats };
  }

  it('sends the given share from new customers, each starting with a purchase and coming back', () => {
    const { events, stats } = mixed(0.2);
    const fresh = events.filter((e) => e.user_idx >= 10_000);
    expect(fresh.length / events.length).toBeGreaterThan(0.18);
    expect(fresh.length / events.length).toBeLessThan(0.22);
    expect(stats.events).toBe(fresh.length);
    const byCustomer = new Map<number, typeof fresh>();
    for (const e of fresh) byCustomer.set(e.user_idx, [...(byCustomer.get(e.user_idx) ?? []), e]);
    expect(stats.customers).toBe(byCustomer.size);
    for (const [idx, own] of byCustomer) {
      expect(own[0]!.event_type).toBe('purchase');
      expect(own.length).toBeLessThanOrEqual(4);
      expect(own.every((e) => e.customer_id === idx.toString(16).padStart(64, '0'))).toBe(true);
    }
    // Most come back at least once (1..3 follow-ups; only the last few sessions are cut short).
    const returning = [...byCustomer.values()].filter((own) => own.length > 1).length;
    expect(returning / byCustomer.size).toBeGreaterThan(0.9);
    for (const e of events) expect(userEventSchema.safeParse(e).success).toBe(true);
  });

  it('leaves the stream as it is at 0, falls back to known users when none are at hand, rejects a bad share', () => {
    const base = createEventSimulator(catalog, { seed: 5 });
    const plain = Array.from({ length: 200 }, () => base.next(new Date('2026-05-01T12:00:00.000Z')));
    expect(
      mixed(0)
        .events.slice(0, 200)
        .map((e) => [e.user_idx, e.item_idx]),
    ).toEqual(plain.map((e) => [e.user_idx, e.item_idx]));
    const { events, stats } = mixed(0.5, 10);
    expect(stats.customers).toBe(10);
    expect(stats.fallbacks).toBeGreaterThan(0);
    expect(events.filter((e) => e.user_idx >= 10_000).length).toBe(stats.events);
    expect(() => withNewCustomers(base, { fraction: 1.5, newCustomer: () => null })).toThrow(RangeError);
  });
});
