import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { EVENT_HEADERS, type EventType, type UserEvent } from '../../lib/events.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { sleep } from '../../lib/retry.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import type { BusMessage } from '../../lib/stores/event-bus.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../../lib/stores/memory/feature-store.ts';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import { emaBlend } from '../../lib/vectors.ts';
import { createUpdater, UNKNOWN_GROUP, type Updater } from './updater.ts';

const VERSION = 'v20260101-000000';
const RANK = 4;
const GROUPS = ['Garment Upper body', 'Garment Lower body', 'Shoes'];

function itemVector(i: number): Float32Array {
  return Float32Array.from({ length: RANK }, (_, d) => Math.cos(i * 1.7 + d) * (1 + (i % 3)));
}
function payload(i: number): ItemMetadata {
  return {
    item_idx: i,
    article_id: String(100000000 + i).padStart(10, '0'),
    prod_name: `item ${i}`,
    product_type_name: `type ${i % 5}`,
    product_group_name: GROUPS[i % GROUPS.length]!,
    colour_group_name: 'Black',
    section_name: 'Womens',
    garment_group_name: 'Jersey',
    index_name: 'Ladieswear',
  };
}
const userVector = (u: number) => Float32Array.from({ length: RANK }, (_, d) => (d === u % RANK ? 1 : 0.1));

const ITEMS = 20;
/** Users 0..9 are known; 0..5 have vectors; 6..9 are known without one. */
const KNOWN_USERS = 10;
const USERS_WITH_VECTORS = 6;

interface World {
  featureStore: FeatureStore;
  vectorIndex: EmbeddedVectorIndex;
  bus: MemoryEventBus;
  metrics: ReturnType<typeof createMetrics>;
  topics: { events: string; deadLetter: string };
  updater(overrides?: { debounceMs?: number; store?: FeatureStore; groupId?: string }): Updater;
}

const stoppers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stoppers.splice(0).reverse()) await stop();
});

async function world(options: { activate?: boolean } = {}): Promise<World> {
  const featureStore = new MemoryFeatureStore();
  const vectorIndex = new EmbeddedVectorIndex();
  await featureStore.start();
  await vectorIndex.start();
  await featureStore.putVersionInfo({
    version: VERSION,
    rank: RANK,
    created_at: new Date().toISOString(),
    users: USERS_WITH_VECTORS,
    items: ITEMS,
  });
  await featureStore.putUserIds(
    Array.from({ length: KNOWN_USERS }, (_, u) => [u.toString(16).padStart(64, '0'), u] as [string, number]),
  );
  await featureStore.putUserVectors(
    VERSION,
    Array.from({ length: USERS_WITH_VECTORS }, (_, u) => [u, userVector(u)] as [number, Float32Array]),
  );
  await vectorIndex.createVersion(VERSION, RANK);
  await vectorIndex.upsert(
    VERSION,
    Array.from({ length: ITEMS }, (_, i) => ({ id: i, vector: itemVector(i), payload: payload(i) })),
  );
  await vectorIndex.activateVersion(VERSION);
  if (options.activate ?? true) await featureStore.activateVersion(VERSION);

  const topics = { events: `events-${randomUUID()}`, deadLetter: `dlq-${randomUUID()}` };
  const bus = new MemoryEventBus({ topics, partitions: 3, retry: { initialDelayMs: 5, maxDelayMs: 20 } });
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = createLogger({ level: 'silent' });
  stoppers.push(() => bus.close());
  return {
    featureStore,
    vectorIndex,
    bus,
    metrics,
    topics,
    updater(overrides = {}) {
      const config = loadConfig({
        KAFKA_TOPIC_EVENTS: topics.events,
        KAFKA_TOPIC_DLQ: topics.deadLetter,
        EVENT_WEIGHT_CLICK: '0.1',
        EVENT_WEIGHT_ADD_TO_CART: '0.2',
        EVENT_WEIGHT_PURCHASE: '0.5',
        UPDATER_DEBOUNCE_MS: String(overrides.debounceMs ?? 0),
      });
      const updater = createUpdater({
        featureStore: overrides.store ?? featureStore,
        vectorIndex,
        bus,
        config,
        metrics,
        logger,
        options: { groupId: overrides.groupId ?? 'updater-test' },
      });
      stoppers.push(() => updater.stop());
      return updater;
    },
  };
}

function event(userIdx: number, itemIdx: number, eventType: EventType, ts = new Date()): UserEvent {
  return {
    event_id: randomUUID(),
    event_type: eventType,
    user_idx: userIdx,
    item_idx: itemIdx,
    ts: ts.toISOString(),
    source: 'test',
  };
}

async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function counter(w: World, labels: Record<string, string>): Promise<number> {
  const { values } = await w.metrics.eventsProcessed.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

async function deadLetters(w: World, expected: number): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const consumer = await w.bus.consume({
    groupId: `dlq-reader-${randomUUID()}`,
    topic: w.topics.deadLetter,
    onBatch: async (m) => {
      got.push(...m);
    },
  });
  await until(`${expected} dead letters`, () => got.length >= expected);
  await sleep(20);
  await consumer.stop();
  return got;
}

describe('updater', () => {
  it('moves a user vector by the EMA of the event weight towards the item', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    await w.bus.publish([event(1, 7, 'click')]);
    await until('applied', () => updater.stats.applied === 1);
    const after = await w.featureStore.getUserVector(VERSION, 1);
    expect(after).toEqual(emaBlend(userVector(1), itemVector(7), 0.1));

    await w.bus.publish([event(2, 7, 'purchase')]);
    await until('applied', () => updater.stats.applied === 2);
    expect(await w.featureStore.getUserVector(VERSION, 2)).toEqual(
      emaBlend(userVector(2), itemVector(7), 0.5),
    );
    expect(await counter(w, { event_type: 'purchase', outcome: 'applied' })).toBe(1);
    expect(await counter(w, { event_type: 'click', outcome: 'applied' })).toBe(1);
  });

  it('weights click < add_to_cart < purchase', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    await w.bus.publish([event(0, 3, 'click'), event(1, 3, 'add_to_cart'), event(2, 3, 'purchase')]);
    await until('applied', () => updater.stats.applied === 3);
    const moved = async (u: number) => {
      const v = (await w.featureStore.getUserVector(VERSION, u))!;
      const before = userVector(u);
      return (
        Math.hypot(...Array.from(v, (x, d) => x - before[d]!)) /
        Math.hypot(...Array.from(itemVector(3), (x, d) => x - before[d]!))
      );
    };
    expect(await moved(0)).toBeCloseTo(0.1, 5);
    expect(await moved(1)).toBeCloseTo(0.2, 5);
    expect(await moved(2)).toBeCloseTo(0.5, 5);
  });

  it('starts a known user without a vector from the item vector', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    expect(await w.featureStore.getUserVector(VERSION, 8)).toBeNull();
    await w.bus.publish([event(8, 11, 'click')]);
    await until('applied', () => updater.stats.applied === 1);
    expect(await w.featureStore.getUserVector(VERSION, 8)).toEqual(itemVector(11));
  });

  it('records purchases in the history and profile counters; clicks do not', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    const t0 = Date.parse('2026-03-01T10:00:00.000Z');
    await w.bus.publish([
      event(3, 4, 'purchase', new Date(t0)),
      event(3, 5, 'click', new Date(t0 + 1000)),
      event(3, 6, 'purchase', new Date(t0 + 2000)),
    ]);
    await until('applied', () => updater.stats.applied === 3);
    const recent = await w.featureStore.getRecentPurchases(3, 10);
    expect(recent.map((p) => p.item_idx)).toEqual([6, 4]);
    const counters = (await w.featureStore.getProfileCounters(3))!;
    expect(counters.total_purchases).toBe(2);
    expect(counters.first_purchase_at).toBe('2026-03-01T10:00:00.000Z');
    expect(counters.last_purchase_at).toBe('2026-03-01T10:00:02.000Z');
    expect(counters.product_groups).toEqual({ [GROUPS[4 % 3]!]: 1, [GROUPS[6 % 3]!]: 1 });
    expect(await w.featureStore.getPurchasedItems(3)).toEqual([6, 4]);
  });

  it('records a purchase of an article numbered since the batch without moving the vector', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    await w.featureStore.putItemIds(
      Array.from({ length: ITEMS }, (_, i) => [String(i).padStart(10, '0'), i]),
    );
    // Numbered live (in the id map), no vector in the model yet.
    const [article] = (await w.featureStore.assignIds('item', ['0999999999'])) ?? [];
    expect(article).toMatchObject({ idx: ITEMS, created: true });
    await w.bus.publish([event(3, ITEMS, 'purchase'), event(3, 4, 'click')]);
    await until('applied', () => updater.stats.applied === 2);
    expect(updater.stats.deadLettered).toBe(0);
    expect((await w.featureStore.getRecentPurchases(3, 5)).map((p) => p.item_idx)).toEqual([ITEMS]);
    expect((await w.featureStore.getProfileCounters(3))!.product_groups).toEqual({ [UNKNOWN_GROUP]: 1 });
    // Only the click moved the vector (EVENT_WEIGHT_CLICK of this world: 0.1).
    expect(await w.featureStore.getUserVector(VERSION, 3)).toEqual(
      emaBlend(userVector(3), itemVector(4), 0.1),
    );
    const { values } = await w.metrics.eventsWithoutItemVector.get();
    expect(values[0]?.value).toBe(1);
  });

  it('coalesces a burst for one user inside the debounce window into one write', async () => {
    const w = await world();
    const updater = w.updater({ debounceMs: 300 }); // generous: the events below are 2 ms apart
    await updater.start();
    const burst = [
      event(4, 1, 'click'),
      event(4, 2, 'add_to_cart'),
      event(4, 3, 'click'),
      event(4, 9, 'purchase'),
    ];
    for (const e of burst) {
      await w.bus.publish([e]);
      await sleep(2);
    }
    await until('applied', () => updater.stats.applied === 4);
    expect(updater.stats.writes).toBe(1);
    expect(updater.stats.debounceHits).toBe(3);
    const { values } = await w.metrics.updaterDebounceHits.get();
    expect(values[0]?.value).toBe(3);
    let expected: Float32Array = userVector(4);
    const weight = { click: 0.1, add_to_cart: 0.2, purchase: 0.5 };
    for (const e of burst) expected = emaBlend(expected, itemVector(e.item_idx), weight[e.event_type]);
    expect(await w.featureStore.getUserVector(VERSION, 4)).toEqual(expected);
  });

  it('without a debounce window, events spread in time are separate writes', async () => {
    const w = await world();
    const updater = w.updater({ debounceMs: 0 });
    await updater.start();
    for (let i = 0; i < 3; i++) {
      await w.bus.publish([event(4, i, 'click')]);
      await until('applied', () => updater.stats.applied === i + 1);
    }
    expect(updater.stats.writes).toBe(3);
    expect(updater.stats.debounceHits).toBe(0);
  });

  it('applies a redelivered event only once', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    const purchase = event(5, 8, 'purchase');
    await w.bus.publish([purchase, purchase]); // the same event twice in one batch
    await until('seen twice', () => updater.stats.applied + updater.stats.duplicates === 2);
    const once = await w.featureStore.getUserVector(VERSION, 5);
    await w.bus.publish([purchase]); // and again later
    await until('seen three times', () => updater.stats.duplicates === 2);
    expect(updater.stats.applied).toBe(1);
    expect(await w.featureStore.getUserVector(VERSION, 5)).toEqual(once);
    expect((await w.featureStore.getProfileCounters(5))?.total_purchases).toBe(1);
    expect(await counter(w, { outcome: 'duplicate' })).toBe(2);

    // A second consumer group replaying the whole topic changes nothing either.
    const replay = w.updater({ groupId: 'replay' });
    await replay.start();
    await until('replayed', () => replay.stats.duplicates === 3);
    expect(replay.stats.applied).toBe(0);
    expect(await w.featureStore.getUserVector(VERSION, 5)).toEqual(once);
  });

  it('dead-letters malformed, invalid and unknown-id events with reasons, and goes on', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    const good = event(0, 1, 'purchase');
    const unknownItem = event(0, 999, 'click');
    const unknownUser = event(4242, 1, 'click');
    w.bus.publishRaw(w.topics.events, [
      { key: '0', value: '{broken', headers: { traceparent: '00-trace-span-01' } },
      { key: '0', value: JSON.stringify({ ...good, event_id: 'not-a-uuid' }) },
      { key: '0', value: JSON.stringify(unknownItem) },
      { key: '4242', value: JSON.stringify(unknownUser) },
      { key: '0', value: JSON.stringify(good) },
    ]);
    await until('all handled', () => updater.stats.applied + updater.stats.deadLettered === 5);
    expect(updater.stats.applied).toBe(1);
    expect((await w.featureStore.getProfileCounters(0))?.total_purchases).toBe(1);

    const dead = await deadLetters(w, 4);
    const reasons = Object.fromEntries(
      dead.map((m) => [m.headers[EVENT_HEADERS.dlqReason], m.headers[EVENT_HEADERS.dlqError]]),
    );
    expect(Object.keys(reasons).sort()).toEqual(['invalid', 'malformed', 'unknown_item', 'unknown_user']);
    expect(reasons['malformed']).toBe('value is not valid JSON');
    expect(reasons['invalid']).toMatch(/event_id/);
    expect(reasons['unknown_item']).toMatch(/item_idx 999/);
    expect(reasons['unknown_user']).toMatch(/user_idx 4242/);
    const broken = dead.find((m) => m.headers[EVENT_HEADERS.dlqReason] === 'malformed')!;
    expect(broken.value.toString()).toBe('{broken');
    expect(broken.headers['traceparent']).toBe('00-trace-span-01');
    expect(broken.headers[EVENT_HEADERS.dlqOriginalTopic]).toBe(w.topics.events);
    const { values } = await w.metrics.eventsDeadLettered.get();
    expect(Object.fromEntries(values.map((v) => [v.labels['reason'], v.value]))).toEqual({
      malformed: 1,
      invalid: 1,
      unknown_item: 1,
      unknown_user: 1,
    });
  });

  it('retries through a store outage without losing or doubling an event', async () => {
    const w = await world();
    let failuresLeft = 5;
    // A real store behind a switch that makes its writes fail, like a Redis outage would.
    const flaky: FeatureStore = new Proxy(w.featureStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'applyUserUpdate') {
          return async (...args: Parameters<FeatureStore['applyUserUpdate']>) => {
            if (failuresLeft-- > 0) throw new Error('ECONNREFUSED (induced)');
            return target.applyUserUpdate(...args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const updater = w.updater({ store: flaky });
    await updater.start();
    const events = Array.from({ length: 30 }, (_, i) => event(i % KNOWN_USERS, i % ITEMS, 'purchase'));
    await w.bus.publish(events);
    await until('all applied', () => updater.stats.applied === 30, 5000);
    expect(updater.stats.failedBatches).toBeGreaterThan(0);
    let total = 0;
    for (let u = 0; u < KNOWN_USERS; u++)
      total += (await w.featureStore.getProfileCounters(u))?.total_purchases ?? 0;
    expect(total).toBe(30);
    expect(await counter(w, { outcome: 'applied' })).toBe(30);
  });

  it('waits for a model version instead of dead-lettering', async () => {
    const w = await world({ activate: false });
    const updater = w.updater();
    await updater.start();
    await w.bus.publish([event(1, 2, 'purchase')]);
    await until('a failed attempt', () => updater.stats.failedBatches > 0);
    expect(updater.stats.deadLettered).toBe(0);
    await w.featureStore.activateVersion(VERSION);
    await until('applied', () => updater.stats.applied === 1);
  });

  it('follows a model version switch between batches', async () => {
    const w = await world();
    const updater = w.updater();
    await updater.start();
    await w.bus.publish([event(1, 2, 'click')]);
    await until('applied', () => updater.stats.applied === 1);

    const V2 = 'v20260201-000000';
    const v2Item = (i: number) => Float32Array.from(itemVector(i), (x) => -x);
    await w.featureStore.putVersionInfo({
      version: V2,
      rank: RANK,
      created_at: new Date().toISOString(),
      users: 1,
      items: ITEMS,
    });
    await w.featureStore.putUserVectors(V2, [[1, userVector(3)]]);
    await w.vectorIndex.createVersion(V2, RANK);
    await w.vectorIndex.upsert(
      V2,
      Array.from({ length: ITEMS }, (_, i) => ({ id: i, vector: v2Item(i), payload: payload(i) })),
    );
    await w.vectorIndex.activateVersion(V2);
    await w.featureStore.activateVersion(V2);

    const v1Before = await w.featureStore.getUserVector(VERSION, 1);
    await w.bus.publish([event(1, 5, 'purchase')]);
    await until('applied', () => updater.stats.applied === 2);
    expect(await w.featureStore.getUserVector(V2, 1)).toEqual(emaBlend(userVector(3), v2Item(5), 0.5));
    expect(await w.featureStore.getUserVector(VERSION, 1)).toEqual(v1Before);
  });

  it('instances in one group share the work and apply each event once', async () => {
    const w = await world();
    const a = w.updater();
    const b = w.updater();
    await a.start();
    await b.start();
    const events = Array.from({ length: 60 }, (_, i) => event(i % KNOWN_USERS, (i * 7) % ITEMS, 'purchase'));
    await w.bus.publish(events);
    await until('all applied', () => a.stats.applied + b.stats.applied === 60);
    expect(a.stats.applied).toBeGreaterThan(0);
    expect(b.stats.applied).toBeGreaterThan(0);
    let total = 0;
    for (let u = 0; u < KNOWN_USERS; u++)
      total += (await w.featureStore.getProfileCounters(u))?.total_purchases ?? 0;
    expect(total).toBe(60);
  });

  it('stop() is idempotent and later events wait for the next instance', async () => {
    const w = await world();
    const first = w.updater();
    await first.start();
    await w.bus.publish([event(1, 1, 'purchase')]);
    await until('applied', () => first.stats.applied === 1);
    await first.stop();
    await first.stop();
    await w.bus.publish([event(1, 2, 'purchase')]);
    await sleep(30);
    expect((await w.featureStore.getProfileCounters(1))?.total_purchases).toBe(1);
    const second = w.updater();
    await second.start();
    await until('applied', () => second.stats.applied === 1);
    expect((await w.featureStore.getProfileCounters(1))?.total_purchases).toBe(2);
  });
});
