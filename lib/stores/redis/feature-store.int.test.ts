/**
 * The Redis feature store against a real Redis (REDIS_URL, default localhost:6379): the shared
 * conformance suite plus what only Redis has — binary layout, TTLs, time budgets and failures.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { DependencyError, TimeoutError } from '../../errors.ts';
import { sleep } from '../../retry.ts';
import { featureStoreConformance } from '../conformance/feature-store.ts';
import { publishConformance } from '../conformance/publish.ts';
import { EmbeddedVectorIndex } from '../embedded/vector-index.ts';
import { PROCESSED_EVENT_TTL_MS } from '../feature-store.ts';
import { RedisFeatureStore, type RedisFeatureStoreOptions } from './feature-store.ts';

const config = loadConfig();
const runPrefix = `test:fs:${randomUUID().slice(0, 8)}:`;
let admin: Redis;

beforeAll(async () => {
  admin = new Redis(config.redis.url, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  // Remove everything this file wrote.
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${runPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
  await admin.quit();
});

let counter = 0;
async function openStore(options: Partial<RedisFeatureStoreOptions> = {}): Promise<RedisFeatureStore> {
  const store = new RedisFeatureStore({
    url: config.redis.url,
    keyPrefix: `${runPrefix}${++counter}:`,
    readTimeoutMs: 2000,
    ...options,
  });
  await store.start();
  return store;
}

featureStoreConformance('redis', () => openStore());
featureStoreConformance('redis with the client cache', () => openStore({ clientCacheEntries: 1000 }));

publishConformance('redis feature store + embedded index', async () => {
  const featureStore = await openStore();
  const vectorIndex = new EmbeddedVectorIndex();
  await vectorIndex.start();
  return {
    featureStore,
    vectorIndex,
    close: async () => {
      await vectorIndex.close();
      await featureStore.close();
    },
  };
});

describe('RedisFeatureStore specifics', () => {
  const info = { version: 'v1', rank: 3, created_at: '2026-01-01T00:00:00.000Z', users: 1, items: 1 };

  it('stores vectors as raw little-endian float32 under per-user hash-tagged keys', async () => {
    const store = await openStore();
    try {
      await store.putVersionInfo(info);
      await store.putUserVectors('v1', [[42, new Float32Array([1.5, -2, 0.25])]]);
      const key = store.keys.userVector('v1', 42);
      expect(key).toBe(`${store.keys.prefix}{u:42}:vec:v1`);
      const raw = await admin.getBuffer(key);
      expect(raw?.length).toBe(12);
      expect([raw!.readFloatLE(0), raw!.readFloatLE(4), raw!.readFloatLE(8)]).toEqual([1.5, -2, 0.25]);
      for (const k of [store.keys.history(42), store.keys.profile(42), store.keys.userEvents(42)]) {
        expect(k).toContain('{u:42}');
      }
    } finally {
      await store.close();
    }
  });

  it('remembers applied events with a TTL, per user and globally', async () => {
    const store = await openStore();
    try {
      await store.putVersionInfo(info);
      const id = randomUUID();
      await store.applyUserUpdate({ version: 'v1', userIdx: 5, vector: new Float32Array(3), eventIds: [id] });
      const globalTtl = await admin.pttl(store.keys.eventApplied(id));
      const userTtl = await admin.pttl(store.keys.userEvents(5));
      for (const ttl of [globalTtl, userTtl]) {
        expect(ttl).toBeGreaterThan(PROCESSED_EVENT_TTL_MS - 60_000);
        expect(ttl).toBeLessThanOrEqual(PROCESSED_EVENT_TTL_MS);
      }
      // Even without the global mark (a crash between the script and the marks), the per-user
      // marks keep a redelivery from being applied twice.
      await admin.del(store.keys.eventApplied(id));
      expect(await store.processedEventIds([id])).toEqual(new Set());
      await store.applyUserUpdate({
        version: 'v1',
        userIdx: 5,
        purchases: [
          {
            item_idx: 1,
            ts: '2026-01-01T00:00:00.000Z',
            product_group_name: 'Shoes',
            product_type_name: 'Boots',
          },
        ],
        eventIds: [id],
      });
      expect(await store.getRecentPurchases(5, 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('fails fast with a retriable DependencyError when nothing listens', async () => {
    const store = new RedisFeatureStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 });
    const started = Date.now();
    const error = await store.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retriable).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(DependencyError);
  });

  it('bounds reads by the read budget while Redis is paused (CLIENT PAUSE), then recovers', async () => {
    const store = await openStore({ readTimeoutMs: 100 });
    try {
      await store.putVersionInfo(info);
      await admin.call('CLIENT', 'PAUSE', '700', 'ALL');
      const started = Date.now();
      const error = await store.getUserVector('v1', 1).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(500);
      await sleep(800);
      await expect(store.getVersionInfo('v1')).resolves.toEqual(info);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      await store.close();
    }
  });

  it('reports a dropped connection as a retriable DependencyError and reconnects', async () => {
    const store = await openStore({ readTimeoutMs: 500 });
    try {
      await store.ping();
      const clients = (await admin.call('CLIENT', 'LIST')) as string;
      const ids = clients
        .split('\n')
        .filter((line) => line.includes('name=recsys-feature-store'))
        .map((line) => /id=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await store.ping();
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(DependencyError);
          expect((error as DependencyError).retriable).toBe(true);
          if (Date.now() > deadline) throw error;
          await sleep(50);
        }
      }
      await expect(store.activeVersion()).resolves.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('rejects key prefixes that would break hash tags', () => {
    expect(() => new RedisFeatureStore({ url: config.redis.url, keyPrefix: 'a{b}:' })).toThrow(
      /REDIS_KEY_PREFIX/,
    );
  });
});
