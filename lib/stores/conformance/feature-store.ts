/**
 * The FeatureStore contract as one test suite, run against every adapter (memory, Redis, ...).
 *
 * `factory` must return a started store over an empty, private namespace (a unique key prefix
 * for Redis), so tests never see each other's data; the suite closes each store afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, DependencyError, NotFoundError, ValidationError } from '../../errors.ts';
import { type FeatureStore, HISTORY_LIMIT, type UserUpdate } from '../feature-store.ts';
import { gaussianVector, seededRandom } from '../random.ts';
import type { ModelVersionInfo, ProfileCounters } from '../types.ts';

export interface FeatureStoreConformanceOptions {
  /** Called after each test's store is closed (e.g. delete the test's keys). */
  cleanup?: () => Promise<void>;
}

function info(version: string, rank = 4): ModelVersionInfo {
  return {
    version,
    rank,
    created_at: '2026-01-02T03:04:05.000Z',
    users: 10,
    items: 20,
    metrics: { map_at_12: 0.0123, recall_at_12: 0.05 },
  };
}

function counters(partial: Partial<ProfileCounters> = {}): ProfileCounters {
  return {
    total_purchases: 0,
    first_purchase_at: null,
    last_purchase_at: null,
    product_groups: {},
    product_types: {},
    ...partial,
  };
}

function purchase(item: number, day: number, group = 'Garment Upper body', type = 'T-shirt') {
  const ts = new Date(Date.UTC(2026, 0, 1) + day * 86_400_000).toISOString();
  return { item_idx: item, ts, product_group_name: group, product_type_name: type };
}

let eventCounter = 0;
function eventId(): string {
  eventCounter++;
  return `00000000-0000-4000-8000-${eventCounter.toString(16).padStart(12, '0')}`;
}

export function featureStoreConformance(
  name: string,
  factory: () => Promise<FeatureStore>,
  options: FeatureStoreConformanceOptions = {},
): void {
  describe(`FeatureStore conformance: ${name}`, () => {
    const opened: FeatureStore[] = [];
    const open = async (): Promise<FeatureStore> => {
      const store = await factory();
      opened.push(store);
      return store;
    };

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await options.cleanup?.();
    });

    it('answers ping once started and closes idempotently', async () => {
      const store = await open();
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await store.close();
      await expect(store.ping()).rejects.toBeInstanceOf(DependencyError);
    });

    describe('model versions', () => {
      it('stores version info and lists versions in name order', async () => {
        const store = await open();
        expect(await store.listVersions()).toEqual([]);
        expect(await store.getVersionInfo('v2')).toBeNull();
        await store.putVersionInfo(info('v2'));
        await store.putVersionInfo(info('v1', 8));
        expect(await store.listVersions()).toEqual(['v1', 'v2']);
        expect(await store.getVersionInfo('v1')).toEqual(info('v1', 8));
        await store.putVersionInfo({ ...info('v1', 8), users: 99 });
        expect((await store.getVersionInfo('v1'))?.users).toBe(99);
      });

      it('activates only versions whose info is stored and keeps the pointer on failure', async () => {
        const store = await open();
        expect(await store.activeVersion()).toBeNull();
        await expect(store.activateVersion('v-missing')).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.activeVersion()).toBeNull();
        await store.putVersionInfo(info('v1'));
        await store.putVersionInfo(info('v2'));
        await store.activateVersion('v1');
        expect(await store.activeVersion()).toBe('v1');
        await expect(store.activateVersion('v3')).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.activeVersion()).toBe('v1');
        await store.activateVersion('v2');
        expect(await store.activeVersion()).toBe('v2');
      });

      it('switches atomically: concurrent readers see one complete version, never a mix or none', async () => {
        const store = await open();
        const a = new Float32Array([1, 1, 1, 1]);
        const b = new Float32Array([2, 2, 2, 2]);
        await store.putVersionInfo(info('va'));
        await store.putVersionInfo(info('vb'));
        await store.putUserVectors('va', [[7, a]]);
        await store.putUserVectors('vb', [[7, b]]);
        await store.activateVersion('va');
        const seen = new Set<string>();
        let switching = true;
        const switcher = (async () => {
          for (let i = 0; i < 40; i++) await store.activateVersion(i % 2 === 0 ? 'vb' : 'va');
          switching = false;
        })();
        const readers = Array.from({ length: 4 }, async () => {
          while (switching) {
            const version = await store.activeVersion();
            expect(version === 'va' || version === 'vb').toBe(true);
            const vector = await store.getUserVector(version!, 7);
            expect(Array.from(vector!)).toEqual(Array.from(version === 'va' ? a : b));
            seen.add(version!);
          }
        });
        await Promise.all([switcher, ...readers]);
        expect(await store.activeVersion()).toBe('va');
        expect(seen.size).toBeGreaterThan(0);
      });

      it('drops a version with its vectors, trending lists and info, leaving others intact', async () => {
        const store = await open();
        const random = seededRandom(1);
        for (const v of ['old', 'new']) {
          await store.putVersionInfo(info(v));
          await store.putUserVectors(
            v,
            Array.from({ length: 1200 }, (_, u): [number, Float32Array] => [u, gaussianVector(random, 4)]),
          );
          await store.putTrending(v, { kind: 'global' }, [1, 2, 3]);
          await store.putTrending(v, { kind: 'group', productGroup: 'Shoes' }, [4]);
        }
        await store.activateVersion('new');
        await expect(store.dropVersion('new')).rejects.toBeInstanceOf(ValidationError);
        await store.dropVersion('old');
        expect(await store.listVersions()).toEqual(['new']);
        expect(await store.getVersionInfo('old')).toBeNull();
        expect(await store.countUserVectors('old')).toBe(0);
        expect(await store.getUserVector('old', 5)).toBeNull();
        expect(await store.getTrending('old', { kind: 'global' })).toEqual([]);
        expect(await store.getTrending('old', { kind: 'group', productGroup: 'Shoes' })).toEqual([]);
        expect(await store.countUserVectors('new')).toBe(1200);
        expect(await store.getUserVector('new', 5)).not.toBeNull();
        expect(await store.getTrending('new', { kind: 'global' })).toEqual([1, 2, 3]);
        await store.dropVersion('never-existed');
      });
    });

    describe('user vectors', () => {
      it('round-trips float32 vectors bit-exactly and counts distinct users', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        const v = new Float32Array([0.1, -1e-30, 3.4e38, Math.PI]);
        await store.putUserVectors('v1', [
          [3, v],
          [4, new Float32Array([1, 2, 3, 4])],
        ]);
        expect(await store.getUserVector('v1', 3)).toEqual(v);
        expect(await store.getUserVector('v1', 99)).toBeNull();
        expect(await store.getUserVector('v-other', 3)).toBeNull();
        expect(await store.countUserVectors('v1')).toBe(2);
        await store.putUserVectors('v1', [[3, new Float32Array([9, 9, 9, 9])]]);
        expect(await store.countUserVectors('v1')).toBe(2);
        expect(Array.from((await store.getUserVector('v1', 3))!)).toEqual([9, 9, 9, 9]);
      });

      it('keeps stored vectors independent of the caller arrays', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        const v = new Float32Array([1, 2, 3, 4]);
        await store.putUserVectors('v1', [[1, v]]);
        v[0] = 100;
        const read = (await store.getUserVector('v1', 1))!;
        expect(read[0]).toBe(1);
        read[1] = 100;
        expect((await store.getUserVector('v1', 1))![1]).toBe(2);
      });

      it('loads large batches', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1', 16));
        const random = seededRandom(2);
        const entries = Array.from({ length: 5000 }, (_, u): [number, Float32Array] => [
          u,
          gaussianVector(random, 16),
        ]);
        await store.putUserVectors('v1', entries);
        expect(await store.countUserVectors('v1')).toBe(5000);
        expect(await store.getUserVector('v1', 4321)).toEqual(entries[4321]![1]);
      });
    });

    describe('trending', () => {
      it('keeps a global list and one per product group, per version', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        await store.putVersionInfo(info('v2'));
        await store.putTrending('v1', { kind: 'global' }, [5, 3, 1]);
        await store.putTrending('v1', { kind: 'group', productGroup: 'Garment Lower body' }, [7, 8]);
        await store.putTrending('v2', { kind: 'global' }, [9]);
        expect(await store.getTrending('v1', { kind: 'global' })).toEqual([5, 3, 1]);
        expect(await store.getTrending('v1', { kind: 'group', productGroup: 'Garment Lower body' })).toEqual([
          7, 8,
        ]);
        expect(await store.getTrending('v1', { kind: 'group', productGroup: 'Shoes' })).toEqual([]);
        expect(await store.getTrending('v2', { kind: 'global' })).toEqual([9]);
        await store.putTrending('v1', { kind: 'global' }, []);
        expect(await store.getTrending('v1', { kind: 'global' })).toEqual([]);
      });
    });

    describe('id maps', () => {
      it('resolves ids both ways, keeping leading zeros of article ids', async () => {
        const store = await open();
        const customer = 'a'.repeat(63) + 'f';
        await store.putUserIds([
          [customer, 0],
          ['0'.repeat(64), 1],
        ]);
        await store.putItemIds([
          ['0108775015', 0],
          ['0909370001', 12],
        ]);
        expect(await store.userIdxOf(customer)).toBe(0);
        expect(await store.customerIdOf(1)).toBe('0'.repeat(64));
        expect(await store.itemIdxOf('0108775015')).toBe(0);
        expect(await store.articleIdOf(12)).toBe('0909370001');
        expect(await store.userIdxOf('unknown')).toBeNull();
        expect(await store.customerIdOf(5)).toBeNull();
        expect(await store.itemIdxOf('108775015')).toBeNull();
        expect(await store.articleIdOf(13)).toBeNull();
      });

      it('loads large id maps', async () => {
        const store = await open();
        const entries = Array.from({ length: 3000 }, (_, i): [string, number] => [
          i.toString(16).padStart(64, '0'),
          i,
        ]);
        await store.putUserIds(entries);
        expect(await store.userIdxOf(entries[2999]![0])).toBe(2999);
        expect(await store.customerIdOf(1500)).toBe(entries[1500]![0]);
      });
    });

    describe('live id numbering', () => {
      it('numbers nothing before a map is loaded, then continues after the loaded indexes', async () => {
        const store = await open();
        expect(await store.assignIds('user', ['new-1'])).toBeNull();
        expect(await store.userIdxOf('new-1')).toBeNull();
        await store.putUserIds([
          ['c0', 0],
          ['c1', 1],
          ['c2', 2],
        ]);
        const assigned = await store.assignIds('user', ['c1', 'new-1', 'new-2', 'new-1']);
        expect(assigned).toEqual([
          { key: 'c1', idx: 1, created: false },
          { key: 'new-1', idx: 3, created: true },
          { key: 'new-2', idx: 4, created: true },
          { key: 'new-1', idx: 3, created: true },
        ]);
        expect(await store.userIdxOf('new-2')).toBe(4);
        expect(await store.customerIdOf(3)).toBe('new-1');
        expect(await store.assignIds('user', ['new-2'])).toEqual([{ key: 'new-2', idx: 4, created: false }]);
        expect(await store.liveIds('user')).toEqual([
          ['new-1', 3],
          ['new-2', 4],
        ]);
        // The item map numbers on its own counter.
        await store.putItemIds([['0108775015', 0]]);
        expect(await store.assignIds('item', ['0999999999'])).toEqual([
          { key: '0999999999', idx: 1, created: true },
        ]);
        expect(await store.articleIdOf(1)).toBe('0999999999');
        expect(await store.liveIds('user')).toHaveLength(2);
      });

      it('a later batch load of the map keeps live numbers and never lowers the counter', async () => {
        const store = await open();
        await store.putUserIds([['c0', 0]]);
        await store.assignIds('user', ['live-1', 'live-2']);
        // The next batch adopted live-1 and live-2 and numbered one more customer after them.
        await store.putUserIds([
          ['c0', 0],
          ['live-1', 1],
          ['live-2', 2],
          ['batch-3', 3],
        ]);
        expect(await store.assignIds('user', ['live-4'])).toEqual([{ key: 'live-4', idx: 4, created: true }]);
        await store.putUserIds([['c0', 0]]);
        expect(await store.assignIds('user', ['live-5'])).toEqual([{ key: 'live-5', idx: 5, created: true }]);
      });

      it('forgets adopted live numbers, keeping them in the map and the counter where it was', async () => {
        const store = await open();
        await store.putUserIds([['c0', 0]]);
        await store.assignIds('user', ['live-1', 'live-2', 'live-3']);
        // The batch adopted live-1 and live-2; a stale pair (another number) is not dropped.
        expect(
          await store.forgetLiveIds('user', [
            ['live-1', 1],
            ['live-2', 2],
            ['live-3', 9],
          ]),
        ).toBe(2);
        expect(await store.liveIds('user')).toEqual([['live-3', 3]]);
        expect(await store.userIdxOf('live-1')).toBe(1);
        expect(await store.customerIdOf(2)).toBe('live-2');
        expect(await store.assignIds('user', ['live-1', 'live-4'])).toEqual([
          { key: 'live-1', idx: 1, created: false },
          { key: 'live-4', idx: 4, created: true },
        ]);
        expect(await store.forgetLiveIds('user', [])).toBe(0);
      });

      it('gives one number per id under concurrent callers, dense and without gaps', async () => {
        const store = await open();
        await store.putUserIds([['c0', 0]]);
        const keys = Array.from({ length: 40 }, (_, i) => `new-${i % 25}`);
        const calls = keys.map((key, i) => store.assignIds('user', [key, `new-${(i * 7) % 25}`]));
        const results = (await Promise.all(calls)).flatMap((r) => r ?? []);
        const numberOf = new Map<string, number>();
        for (const { key, idx } of results) {
          expect(numberOf.get(key) ?? idx).toBe(idx);
          numberOf.set(key, idx);
        }
        expect(numberOf.size).toBe(25);
        expect([...numberOf.values()].sort((a, b) => a - b)).toEqual(
          Array.from({ length: 25 }, (_, i) => i + 1),
        );
        for (const [key, idx] of numberOf) expect(await store.customerIdOf(idx)).toBe(key);
      });
    });

    describe('customer segments', () => {
      it('stores a segment per user, replaces it on a later load, and answers null when unknown', async () => {
        const store = await open();
        expect(await store.getUserSegment(7)).toBeNull();
        const entries = Array.from({ length: 600 }, (_, i): [number, string] => [
          i,
          `age:${20 + (i % 5) * 10}`,
        ]);
        await store.putUserSegments(entries);
        expect(await store.getUserSegment(0)).toBe('age:20');
        expect(await store.getUserSegment(513)).toBe('age:50');
        await store.putUserSegments([[513, 'age:65+']]);
        expect(await store.getUserSegment(513)).toBe('age:65+');
        expect(await store.getUserSegment(600)).toBeNull();
        await store.putUserSegments([]);
      });

      it('keeps a trending list per segment beside the global one', async () => {
        const store = await open();
        await store.putTrending('v1', { kind: 'segment', segment: 'age:25-34' }, [3, 1, 2]);
        await store.putTrending('v1', { kind: 'global' }, [9, 8]);
        expect(await store.getTrending('v1', { kind: 'segment', segment: 'age:25-34' })).toEqual([3, 1, 2]);
        expect(await store.getTrending('v1', { kind: 'segment', segment: 'age:65+' })).toEqual([]);
        expect(await store.getTrending('v1', { kind: 'global' })).toEqual([9, 8]);
      });
    });

    describe('history and profile', () => {
      it('reads a user in one call: the active version, its vector for the user, the history', async () => {
        const store = await open();
        expect(await store.getUserState(1, 10)).toEqual({ version: null, vector: null, recent: [] });
        const recent = [
          { item_idx: 3, ts: '2026-01-03T00:00:00.000Z' },
          { item_idx: 2, ts: '2026-01-02T00:00:00.000Z' },
        ];
        await store.putProfiles([{ userIdx: 1, recent, counters: counters({ total_purchases: 2 }) }]);
        for (const [version, value] of [
          ['v20260101-000000', 0.5],
          ['v20260102-000000', -2],
        ] as const) {
          await store.putVersionInfo(info(version));
          await store.putUserVectors(version, [[1, Float32Array.from([value, 0, 0, 1])]]);
        }
        await store.activateVersion('v20260101-000000');
        const first = await store.getUserState(1, 10);
        expect(first.version).toBe('v20260101-000000');
        expect(Array.from(first.vector!)).toEqual([0.5, 0, 0, 1]);
        expect(first.recent).toEqual(recent);
        expect((await store.getUserState(1, 1)).recent).toEqual(recent.slice(0, 1));
        expect((await store.getUserState(1, 0)).recent).toEqual([]);
        // A switch between two reads: the second gives the new version's vector, never the old one's.
        await store.activateVersion('v20260102-000000');
        const second = await store.getUserState(1, 10);
        expect(second.version).toBe('v20260102-000000');
        expect(Array.from(second.vector!)).toEqual([-2, 0, 0, 1]);
        // A user without a vector (or with no history), and no user at all.
        expect(await store.getUserState(7, 10)).toEqual({
          version: 'v20260102-000000',
          vector: null,
          recent: [],
        });
        expect(await store.getUserState(null, 10)).toEqual({
          version: 'v20260102-000000',
          vector: null,
          recent: [],
        });
      });

      it('replaces profiles and reads recent purchases newest first', async () => {
        const store = await open();
        const recent = [
          { item_idx: 3, ts: '2026-01-03T00:00:00.000Z' },
          { item_idx: 2, ts: '2026-01-02T00:00:00.000Z' },
          { item_idx: 3, ts: '2026-01-01T00:00:00.000Z' },
        ];
        const c = counters({
          total_purchases: 3,
          first_purchase_at: '2026-01-01T00:00:00.000Z',
          last_purchase_at: '2026-01-03T00:00:00.000Z',
          product_groups: { Shoes: 2, 'Garment Upper body': 1 },
          product_types: { Sneakers: 2, 'T-shirt': 1 },
        });
        await store.putProfiles([
          { userIdx: 1, recent, counters: c },
          { userIdx: 2, recent: [], counters: counters() },
        ]);
        expect(await store.getRecentPurchases(1, 10)).toEqual(recent);
        expect(await store.getRecentPurchases(1, 2)).toEqual(recent.slice(0, 2));
        expect(await store.getRecentPurchases(1, 0)).toEqual([]);
        expect(await store.getPurchasedItems(1)).toEqual([3, 2]);
        expect(await store.getProfileCounters(1)).toEqual(c);
        expect(await store.getProfileCounters(2)).toEqual(counters());
        expect(await store.getRecentPurchases(3, 10)).toEqual([]);
        expect(await store.getPurchasedItems(3)).toEqual([]);
        expect(await store.getProfileCounters(3)).toBeNull();

        const replacement = [{ item_idx: 9, ts: '2026-02-01T00:00:00.000Z' }];
        await store.putProfiles([
          { userIdx: 1, recent: replacement, counters: counters({ total_purchases: 1 }) },
        ]);
        expect(await store.getRecentPurchases(1, 10)).toEqual(replacement);
        expect((await store.getProfileCounters(1))?.product_groups).toEqual({});
      });

      it('loads many profiles in one call', async () => {
        const store = await open();
        const seeds = Array.from({ length: 2500 }, (_, u) => ({
          userIdx: u,
          recent: [{ item_idx: u % 97, ts: '2026-01-01T00:00:00.000Z' }],
          counters: counters({ total_purchases: u }),
        }));
        await store.putProfiles(seeds);
        expect(await store.getRecentPurchases(2499, 5)).toEqual([
          { item_idx: 2499 % 97, ts: '2026-01-01T00:00:00.000Z' },
        ]);
        expect((await store.getProfileCounters(1234))?.total_purchases).toBe(1234);
      });
    });

    describe('online updates', () => {
      it('applies vector, purchases, counters and processed marks together', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        await store.putProfiles([
          {
            userIdx: 5,
            recent: [{ item_idx: 1, ts: '2026-01-01T00:00:00.000Z' }],
            counters: counters({
              total_purchases: 1,
              first_purchase_at: '2026-01-01T00:00:00.000Z',
              last_purchase_at: '2026-01-01T00:00:00.000Z',
              product_groups: { Shoes: 1 },
              product_types: { Sneakers: 1 },
            }),
          },
        ]);
        const ids = [eventId(), eventId()];
        expect(await store.processedEventIds(ids)).toEqual(new Set());
        const update: UserUpdate = {
          version: 'v1',
          userIdx: 5,
          vector: new Float32Array([0.5, 0.25, 0, -1]),
          purchases: [purchase(10, 3, 'Shoes', 'Boots'), purchase(11, 4, 'Garment Upper body', 'T-shirt')],
          eventIds: ids,
        };
        await store.applyUserUpdate(update);
        expect(await store.getUserVector('v1', 5)).toEqual(update.vector);
        expect(await store.getRecentPurchases(5, 10)).toEqual([
          { item_idx: 11, ts: purchase(11, 4).ts },
          { item_idx: 10, ts: purchase(10, 3).ts },
          { item_idx: 1, ts: '2026-01-01T00:00:00.000Z' },
        ]);
        expect(await store.getPurchasedItems(5)).toEqual([11, 10, 1]);
        expect(await store.getProfileCounters(5)).toEqual({
          total_purchases: 3,
          first_purchase_at: '2026-01-01T00:00:00.000Z',
          last_purchase_at: purchase(11, 4).ts,
          product_groups: { Shoes: 2, 'Garment Upper body': 1 },
          product_types: { Sneakers: 1, Boots: 1, 'T-shirt': 1 },
        });
        const other = eventId();
        expect(await store.processedEventIds([ids[1]!, other, ids[0]!])).toEqual(new Set(ids));
        expect(
          await store.appliedUserEvents([
            { eventId: ids[1]!, userIdx: 5 },
            { eventId: other, userIdx: 5 },
            { eventId: ids[0]!, userIdx: 5 },
          ]),
        ).toEqual(new Set(ids));
        expect(await store.appliedUserEvents([])).toEqual(new Set());
      });

      it('is idempotent: a redelivered update changes nothing', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        const ids = [eventId()];
        const first: UserUpdate = {
          version: 'v1',
          userIdx: 8,
          vector: new Float32Array([1, 0, 0, 0]),
          purchases: [purchase(1, 1)],
          eventIds: ids,
        };
        await store.applyUserUpdate(first);
        await store.applyUserUpdate({ ...first, vector: new Float32Array([0, 0, 0, 1]) });
        expect(Array.from((await store.getUserVector('v1', 8))!)).toEqual([1, 0, 0, 0]);
        expect(await store.getRecentPurchases(8, 10)).toHaveLength(1);
        expect((await store.getProfileCounters(8))?.total_purchases).toBe(1);
        // An update with at least one new event id is applied.
        await store.applyUserUpdate({
          ...first,
          purchases: [],
          eventIds: [ids[0]!, eventId()],
          vector: new Float32Array([0, 1, 0, 0]),
        });
        expect(Array.from((await store.getUserVector('v1', 8))!)).toEqual([0, 1, 0, 0]);
      });

      it('creates the profile of a new user and counts its vector', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        await store.putUserVectors('v1', [[1, new Float32Array(4)]]);
        await store.applyUserUpdate({
          version: 'v1',
          userIdx: 77,
          vector: new Float32Array([1, 2, 3, 4]),
          purchases: [purchase(4, 2, 'Accessories', 'Bag')],
          eventIds: [eventId()],
        });
        expect(await store.countUserVectors('v1')).toBe(2);
        expect(await store.getProfileCounters(77)).toEqual({
          total_purchases: 1,
          first_purchase_at: purchase(4, 2).ts,
          last_purchase_at: purchase(4, 2).ts,
          product_groups: { Accessories: 1 },
          product_types: { Bag: 1 },
        });
        // A click-only update: vector, no purchases, no profile change.
        await store.applyUserUpdate({
          version: 'v1',
          userIdx: 78,
          vector: new Float32Array([4, 3, 2, 1]),
          eventIds: [eventId()],
        });
        expect(await store.getProfileCounters(78)).toBeNull();
        expect(await store.countUserVectors('v1')).toBe(3);
      });

      it(`caps the history at HISTORY_LIMIT (${HISTORY_LIMIT}) newest purchases`, async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        for (let batch = 0; batch < 3; batch++) {
          await store.applyUserUpdate({
            version: 'v1',
            userIdx: 9,
            purchases: Array.from({ length: 25 }, (_, i) => purchase(batch * 25 + i, batch * 25 + i)),
            eventIds: [eventId()],
          });
        }
        const recent = await store.getRecentPurchases(9, 1000);
        expect(recent).toHaveLength(HISTORY_LIMIT);
        expect(recent[0]!.item_idx).toBe(74);
        expect(recent[HISTORY_LIMIT - 1]!.item_idx).toBe(74 - HISTORY_LIMIT + 1);
        expect((await store.getProfileCounters(9))?.total_purchases).toBe(75);
        expect(await store.getPurchasedItems(9)).toHaveLength(HISTORY_LIMIT);
      });

      it('stores canonical timestamps and rejects invalid ones without partial changes', async () => {
        const store = await open();
        await store.putVersionInfo(info('v1'));
        await store.applyUserUpdate({
          version: 'v1',
          userIdx: 3,
          purchases: [{ ...purchase(1, 0), ts: '2026-03-04T05:06:07Z' }],
          eventIds: [eventId()],
        });
        expect(await store.getRecentPurchases(3, 1)).toEqual([
          { item_idx: 1, ts: '2026-03-04T05:06:07.000Z' },
        ]);
        const bad = eventId();
        await expect(
          store.applyUserUpdate({
            version: 'v1',
            userIdx: 3,
            vector: new Float32Array(4),
            purchases: [{ ...purchase(2, 0), ts: 'yesterday' }],
            eventIds: [bad],
          }),
        ).rejects.toBeInstanceOf(AppError);
        expect(await store.getUserVector('v1', 3)).toBeNull();
        expect(await store.processedEventIds([bad])).toEqual(new Set());
      });
    });
  });
}
