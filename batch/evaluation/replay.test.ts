/**
 * The prequential replay moves user vectors and histories exactly as the online updater does:
 * a known event sequence is replayed onto a small bundle, and the result is compared with the
 * updater's fold of the same steps (the oracle) and with a live in-process stream fed the same
 * events through the API's event bus.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { sleep } from '../../lib/retry.ts';
import { BundleWriter } from '../../lib/stores/bundle.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import { SERVE_DEFAULTS } from '../../serve/deps.ts';
import { startEmbeddedStream } from '../../stream/embedded.ts';
import { foldUserVector } from '../../stream/updater/fold.ts';
import { type ReplayEvent, replayEventId, replayThroughUpdater } from './replay.ts';
import { openEvaluationStores } from './stores.ts';

const VERSION = 'v20200915-000000';
const logger = createLogger({ level: 'silent' });
// Weights of their own, so the test shows the configured ones are used.
const config = loadConfig({
  EVENT_WEIGHT_CLICK: '0.07',
  EVENT_WEIGHT_ADD_TO_CART: '0.2',
  EVENT_WEIGHT_PURCHASE: '0.45',
  UPDATER_DEBOUNCE_MS: '5',
});

const item = (i: number): Float32Array => Float32Array.from([i + 1, (i * 7) % 5, 1 - i / 10, 0.5]);
const USER_WARM = Float32Array.from([0.3, -0.2, 0.9, 0.1]);

/** Items 0..5; user 0 has a vector, user 1 is known (id map) without one. */
async function writeBundle(dir: string): Promise<string> {
  const writer = await BundleWriter.create(dir, {
    version: VERSION,
    rank: 4,
    created_at: '2020-09-15T00:00:00Z',
  });
  await writer.appendItems(
    Array.from({ length: 6 }, (_, i) => ({
      id: i,
      vector: item(i),
      payload: {
        item_idx: i,
        article_id: `010877500${i}`,
        prod_name: `item ${i}`,
        product_type_name: i % 2 === 0 ? 'T-shirt' : 'Trousers',
        product_group_name: i % 2 === 0 ? 'Garment Upper body' : 'Garment Lower body',
        colour_group_name: 'Black',
        section_name: 'Menswear',
        garment_group_name: 'Jersey Basic',
        index_name: 'Menswear',
      } satisfies ItemMetadata,
    })),
  );
  await writer.appendUserVectors([[0, USER_WARM]]);
  await writer.appendUserIds([
    ['a'.repeat(64), 0],
    ['b'.repeat(64), 1],
  ]);
  writer.setTrending({ global: [0, 1, 2], groups: {} });
  await writer.finish();
  return writer.dir;
}

const EVENTS: ReplayEvent[] = [
  { userIdx: 0, itemIdx: 1, eventType: 'purchase', ts: '2020-09-16T00:00:00.000Z' },
  { userIdx: 1, itemIdx: 4, eventType: 'purchase', ts: '2020-09-16T00:00:00.000Z' },
  { userIdx: 0, itemIdx: 2, eventType: 'click', ts: '2020-09-16T10:00:00.000Z' },
  { userIdx: 0, itemIdx: 99, eventType: 'purchase', ts: '2020-09-16T11:00:00.000Z' }, // not in the model
  { userIdx: 1, itemIdx: 1, eventType: 'add_to_cart', ts: '2020-09-17T00:00:00.000Z' },
  { userIdx: 0, itemIdx: 3, eventType: 'add_to_cart', ts: '2020-09-17T09:00:00.000Z' },
  { userIdx: 0, itemIdx: 1, eventType: 'purchase', ts: '2020-09-17T12:00:00.000Z' },
  { userIdx: 1, itemIdx: 5, eventType: 'purchase', ts: '2020-09-17T12:00:00.000Z' },
];

let dir: string;
let bundleDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-replay-'));
  bundleDir = await writeBundle(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expected(userIdx: number, start: Float32Array | null): Float32Array | null {
  const steps = EVENTS.filter((e) => e.userIdx === userIdx && e.itemIdx < 6).map((e) => ({
    itemVector: item(e.itemIdx),
    eventType: e.eventType,
  }));
  return foldUserVector(start, steps, config.stream.weights);
}

describe('prequential replay', () => {
  it('gives the vectors and histories of the updater fold, dead-lettering what the updater would', async () => {
    const stores = await openEvaluationStores({ bundleDir, serve: SERVE_DEFAULTS, logger });
    try {
      const stats = await replayThroughUpdater({ ...stores, events: EVENTS, config, logger });
      expect(stats.applied).toBe(7);
      expect(stats.deadLettered).toBe(1);
      const warm = await stores.featureStore.getUserVector(VERSION, 0);
      const cold = await stores.featureStore.getUserVector(VERSION, 1);
      expect(Array.from(warm!)).toEqual(Array.from(expected(0, USER_WARM)!));
      // A known user without a vector starts from the first item, as live.
      expect(Array.from(cold!)).toEqual(Array.from(expected(1, null)!));
      expect(Array.from(cold!)).not.toEqual(Array.from(item(4)));
      const history = await stores.featureStore.getRecentPurchases(1, 10);
      expect(history.map((p) => p.item_idx)).toEqual([5, 4]);
      expect(await stores.featureStore.getPurchasedItems(0)).toEqual([1]);
      expect((await stores.featureStore.getProfileCounters(0))?.total_purchases).toBe(2);
    } finally {
      await stores.close();
    }
  });

  it('ends in the state a live in-process stream reaches from the same events', async () => {
    const replayed = await openEvaluationStores({ bundleDir, serve: SERVE_DEFAULTS, logger });
    const live = await openEvaluationStores({ bundleDir, serve: SERVE_DEFAULTS, logger });
    const bus = new MemoryEventBus({ topics: config.kafka.topics, partitions: config.kafka.partitions });
    const stream = await startEmbeddedStream({
      featureStore: live.featureStore,
      vectorIndex: live.vectorIndex,
      bus,
      config,
      metrics: createMetrics({ defaultMetrics: false }),
      logger,
    });
    try {
      await replayThroughUpdater({ ...replayed, events: EVENTS, config, logger });
      // One event at a time, as a shop's traffic would come in.
      for (const [n, e] of EVENTS.entries()) {
        await bus.publish([
          {
            event_id: replayEventId(n + 1),
            event_type: e.eventType,
            user_idx: e.userIdx,
            item_idx: e.itemIdx,
            ts: e.ts,
          },
        ]);
        await sleep(2);
      }
      const deadline = Date.now() + 10_000;
      while (stream.updater.stats.applied + stream.updater.stats.deadLettered < EVENTS.length) {
        if (Date.now() > deadline) throw new Error('the live updater did not finish');
        await sleep(5);
      }
      for (const u of [0, 1]) {
        const a = await replayed.featureStore.getUserVector(VERSION, u);
        const b = await live.featureStore.getUserVector(VERSION, u);
        expect(Array.from(a!)).toEqual(Array.from(b!));
        expect(await replayed.featureStore.getRecentPurchases(u, 10)).toEqual(
          await live.featureStore.getRecentPurchases(u, 10),
        );
      }
    } finally {
      await stream.stop();
      await replayed.close();
      await live.close();
    }
  });
});
