/**
 * The client-side cache of the Redis feature store (CLIENT TRACKING with invalidations
 * redirected to a listener connection) against a real Redis (REDIS_URL, default
 * localhost:6379): hits without Redis, another process's writes seen, the in-flight rule, and a
 * killed connection emptying the cache until tracking is armed again.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { sleep } from '../../retry.ts';
import { scanKeys, unlinkKeys } from './connection.ts';
import { RedisFeatureStore } from './feature-store.ts';
import { TrackedCache } from './tracked-cache.ts';

const config = loadConfig();
const runPrefix = `test:cache:${randomUUID().slice(0, 8)}:`;
let admin: Redis;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  admin = new Redis(config.redis.url, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  for (const store of opened) await store.close();
  await scanKeys(admin, `${runPrefix}*`, (keys) => unlinkKeys(admin, keys));
  await admin.quit();
});

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
}

let counter = 0;
/** Two stores on one key prefix: the API's (cached) and a writer's, as the updater would be. */
async function pair(): Promise<{ api: RedisFeatureStore; writer: RedisFeatureStore }> {
  const keyPrefix = `${runPrefix}${++counter}:`;
  const api = new RedisFeatureStore({ url: config.redis.url, keyPrefix, clientCacheEntries: 100 });
  const writer = new RedisFeatureStore({ url: config.redis.url, keyPrefix });
  await api.start();
  await writer.start();
  opened.push(api, writer);
  const info = { version: 'v1', rank: 2, created_at: '2026-01-01T00:00:00.000Z', users: 2, items: 2 };
  await writer.putVersionInfo(info);
  await writer.putVersionInfo({ ...info, version: 'v2' });
  await writer.putUserVectors('v1', [[1, new Float32Array([1, 0])]]);
  await writer.putUserVectors('v2', [[1, new Float32Array([0, 1])]]);
  await writer.activateVersion('v1');
  return { api, writer };
}

/** The updater's kind of write: user 1's vector in v1 moved to `vector`. */
function moveUser1(writer: RedisFeatureStore, vector: number[]): Promise<void> {
  return writer.applyUserUpdate({
    version: 'v1',
    userIdx: 1,
    vector: new Float32Array(vector),
    eventIds: [randomUUID()],
  });
}

const purchase = (itemIdx: number) => ({
  item_idx: itemIdx,
  ts: '2026-01-02T00:00:00.000Z',
  product_group_name: 'Garment Upper body',
  product_type_name: 'Sweater',
});

describe('Redis client cache', () => {
  it('answers a user asked for again without Redis, and sees another process write', async () => {
    const { api, writer } = await pair();
    const first = await api.getUserState(1, 50);
    expect(first).toEqual({ version: 'v1', vector: new Float32Array([1, 0]), recent: [] });
    const before = api.clientCacheStats()!;
    expect(before.armed).toBe(true);
    expect(await api.getUserState(1, 50)).toEqual(first);
    const after = api.clientCacheStats()!;
    expect(after.misses).toBe(before.misses);
    expect(after.hits - before.hits).toBe(3);

    // The updater's write (another connection, another process in production).
    await writer.applyUserUpdate({
      version: 'v1',
      userIdx: 1,
      vector: new Float32Array([0.5, 0.5]),
      eventIds: [randomUUID()],
      purchases: [purchase(7)],
    });
    const seen = await eventually(async () => {
      const state = await api.getUserState(1, 50);
      return state.vector?.[0] === 0.5 && state.recent.length === 1;
    });
    expect(seen).toBe(true);
    expect(api.clientCacheStats()!.invalidations).toBeGreaterThanOrEqual(2);
    expect((await api.getUserState(1, 50)).recent).toEqual([{ item_idx: 7, ts: '2026-01-02T00:00:00.000Z' }]);
  });

  it('follows a version switch made elsewhere, and its own switch at once', async () => {
    const { api, writer } = await pair();
    expect((await api.getUserState(1, 0)).version).toBe('v1');
    await writer.activateVersion('v2');
    expect(await eventually(async () => (await api.getUserState(1, 0)).version === 'v2')).toBe(true);
    expect((await api.getUserState(1, 0)).vector).toEqual(new Float32Array([0, 1]));
    // Its own write: seen by the very next read, before Redis's invalidation need arrive.
    await api.activateVersion('v1');
    expect(await api.getUserState(1, 0)).toMatchObject({ version: 'v1', vector: new Float32Array([1, 0]) });
  });

  it('keeps nothing a read brought back while its key was invalidated', async () => {
    const base = new Redis(config.redis.url, { lazyConnect: true });
    const cache = new TrackedCache(base, 10, 2000);
    await cache.start();
    opened.push(cache);
    const key = `${runPrefix}race`;
    await admin.set(key, 'old');
    const answer = await cache.load(key, async (reader) => {
      const value = await reader.get(key);
      const invalidations = cache.stats().invalidations;
      // The write lands after the read; its invalidation arrives before the answer is used.
      await admin.set(key, 'new');
      expect(await eventually(() => cache.stats().invalidations > invalidations)).toBe(true);
      return value;
    });
    expect(answer).toBe('old');
    expect(cache.peek(key)).toBeUndefined();
    expect(await cache.load(key, (reader) => reader.get(key))).toBe('new');
    expect(cache.peek(key)).toBe('new');
    base.disconnect();
  });

  it('empties itself when a connection is killed, and caches again once tracking is re-armed', async () => {
    const { api, writer } = await pair();
    await api.getUserState(1, 50);
    await api.getUserState(1, 50);
    expect(api.clientCacheStats()!.entries).toBe(3);

    const clients = (await admin.client('LIST')) as string;
    const ids = clients
      .split('\n')
      .filter((line) => / name=recsys-feature-store-(tracked|invalidations) /.test(line))
      .map((line) => /\bid=(\d+)/.exec(line)![1]!);
    // Both kinds of connection, of every cached store this file opened so far.
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    expect(await eventually(() => api.clientCacheStats()!.armed === false, 1000)).toBe(true);
    expect(api.clientCacheStats()!.entries).toBe(0);
    expect(await eventually(() => api.clientCacheStats()!.armed, 5000)).toBe(true);

    // Reads work throughout; a write made after the reconnect is seen; entries are kept again.
    await moveUser1(writer, [0.25, 0.75]);
    expect(await eventually(async () => (await api.getUserState(1, 50)).vector?.[0] === 0.25)).toBe(true);
    await api.getUserState(1, 50);
    expect(api.clientCacheStats()!.entries).toBe(3);
    await moveUser1(writer, [0.125, 0.875]);
    expect(await eventually(async () => (await api.getUserState(1, 50)).vector?.[0] === 0.125)).toBe(true);
  });

  it('holds at most its configured number of entries, dropping the least recently used', async () => {
    const base = new Redis(config.redis.url, { lazyConnect: true });
    const cache = new TrackedCache(base, 2, 2000);
    await cache.start();
    opened.push(cache);
    for (const name of ['a', 'b']) await cache.load(`${runPrefix}lru:${name}`, async () => name);
    expect(cache.peek(`${runPrefix}lru:a`)).toBe('a'); // a is now the most recent
    await cache.load(`${runPrefix}lru:c`, async () => 'c');
    expect(cache.stats().entries).toBe(2);
    expect(cache.peek(`${runPrefix}lru:b`)).toBeUndefined();
    expect(cache.peek(`${runPrefix}lru:a`)).toBe('a');
    base.disconnect();
  });

  it('keeps a key asked for at every read (the version pointer) while others come and go', async () => {
    const base = new Redis(config.redis.url, { lazyConnect: true });
    const cache = new TrackedCache(base, 3, 2000);
    await cache.start();
    opened.push(cache);
    const hot = `${runPrefix}clock:hot`;
    await cache.load(hot, async () => 'hot');
    for (let i = 0; i < 50; i++) {
      expect(cache.peek(hot)).toBe('hot');
      await cache.load(`${runPrefix}clock:${i}`, async () => i);
      expect(cache.stats().entries).toBe(Math.min(i + 2, 3));
      // The oldest key not asked for again went first.
      if (i >= 2) expect(cache.peek(`${runPrefix}clock:${i - 2}`)).toBeUndefined();
    }
    expect(cache.peek(`${runPrefix}clock:49`)).toBe(49);
    expect(cache.peek(`${runPrefix}clock:48`)).toBe(48);
    expect(cache.peek(hot)).toBe('hot');
    expect(cache.stats().misses).toBe(51);
    base.disconnect();
  });
});
