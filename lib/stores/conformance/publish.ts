/**
 * `publishVersion` checked end to end against a FeatureStore + VectorIndex pair: run with the
 * in-process adapters (unit) and with Redis (integration), on synthetic bundles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleReader } from '../bundle.ts';
import type { FeatureStore } from '../feature-store.ts';
import { syntheticBundle } from '../fixtures.ts';
import { type PublishProgress, publishVersion } from '../publish.ts';
import type { ItemPoint, VectorIndex } from '../vector-index.ts';

export interface StorePair {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  close(): Promise<void>;
}

async function first<T>(source: AsyncIterable<T[]>): Promise<T[]> {
  for await (const batch of source) return batch;
  return [];
}

/** Wraps an index so the n-th upsert fails, to check that a failed publish leaves no trace. */
function failingOnUpsert(index: VectorIndex, failAt: number): VectorIndex {
  let calls = 0;
  return new Proxy(index, {
    get(target, property, receiver) {
      if (property === 'upsert') {
        return async (version: string, points: ItemPoint[]) => {
          if (++calls === failAt) throw new Error('injected upsert failure');
          return target.upsert(version, points);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export function publishConformance(name: string, factory: () => Promise<StorePair>): void {
  describe(`publishVersion: ${name}`, () => {
    let modelsDir: string;
    const bundles: Record<string, string> = {};

    beforeAll(async () => {
      modelsDir = await mkdtemp(join(tmpdir(), 'publish-test-'));
      for (const [i, version] of ['v20260101-000000', 'v20260102-000000', 'v20260103-000000'].entries()) {
        const bundle = await syntheticBundle({
          items: 1500,
          users: 700,
          rank: 8,
          seed: 100 + i,
          outDir: modelsDir,
          version,
        });
        bundles[version] = bundle.dir;
      }
    });
    afterAll(async () => {
      await rm(modelsDir, { recursive: true, force: true });
    });

    it('loads a bundle into both stores, reports progress, and activates it', async () => {
      const stores = await factory();
      try {
        const progress: PublishProgress[] = [];
        const bundleDir = bundles['v20260101-000000']!;
        const result = await publishVersion({
          ...stores,
          bundleDir,
          batchSize: 256,
          onProgress: (p) => progress.push(p),
        });
        expect(result).toMatchObject({
          version: 'v20260101-000000',
          previous: null,
          dropped: [],
          items: 1500,
          users: 700,
        });
        expect(await stores.vectorIndex.activeVersion()).toBe('v20260101-000000');
        expect(await stores.featureStore.activeVersion()).toBe('v20260101-000000');
        expect(await stores.vectorIndex.count('v20260101-000000')).toBe(1500);
        expect(await stores.featureStore.countUserVectors('v20260101-000000')).toBe(700);

        const steps = progress.map((p) => p.step);
        expect(steps.indexOf('items')).toBeLessThan(steps.indexOf('activate'));
        const lastItems = progress.filter((p) => p.step === 'items').at(-1)!;
        expect(lastItems).toMatchObject({ done: 1500, total: 1500 });
        expect(progress.filter((p) => p.step === 'items').every((p) => p.done <= p.total)).toBe(true);

        const reader = await BundleReader.open(bundleDir);
        const [u, vector] = (await first(reader.userVectors()))[3]!;
        expect(await stores.featureStore.getUserVector('v20260101-000000', u)).toEqual(vector);
        const seed = (await first(reader.profiles()))[5]!;
        expect(await stores.featureStore.getRecentPurchases(seed.userIdx, 100)).toEqual(seed.recent);
        expect(await stores.featureStore.getProfileCounters(seed.userIdx)).toEqual(seed.counters);
        const [customer, idx] = (await first(reader.userIds()))[9]!;
        expect(await stores.featureStore.userIdxOf(customer)).toBe(idx);
        const item = (await first(reader.items()))[11]!;
        expect(await stores.featureStore.itemIdxOf(item.payload.article_id)).toBe(item.id);
        const [retrieved] = await stores.vectorIndex.retrieve([item.id], { withVectors: true });
        expect(retrieved).toEqual(item);
        const trending = await reader.trending();
        expect(await stores.featureStore.getTrending('v20260101-000000', { kind: 'global' })).toEqual(
          trending.global,
        );
        const [group, list] = Object.entries(trending.groups)[0]!;
        expect(
          await stores.featureStore.getTrending('v20260101-000000', { kind: 'group', productGroup: group }),
        ).toEqual(list);
        const hits = await stores.vectorIndex.search({ vector, k: 10 });
        expect(hits).toHaveLength(10);
      } finally {
        await stores.close();
      }
    });

    it('keeps the previous version and drops older ones as new versions arrive', async () => {
      const stores = await factory();
      try {
        await publishVersion({ ...stores, bundleDir: bundles['v20260101-000000']! });
        const second = await publishVersion({ ...stores, bundleDir: bundles['v20260102-000000']! });
        expect(second).toMatchObject({ previous: 'v20260101-000000', dropped: [] });
        expect(await stores.featureStore.listVersions()).toEqual(['v20260101-000000', 'v20260102-000000']);
        const third = await publishVersion({ ...stores, bundleDir: bundles['v20260103-000000']! });
        expect(third).toMatchObject({ previous: 'v20260102-000000', dropped: ['v20260101-000000'] });
        expect(await stores.featureStore.listVersions()).toEqual(['v20260102-000000', 'v20260103-000000']);
        expect(await stores.vectorIndex.listVersions()).toEqual(['v20260102-000000', 'v20260103-000000']);
        expect(await stores.featureStore.countUserVectors('v20260101-000000')).toBe(0);
        expect(await stores.featureStore.activeVersion()).toBe('v20260103-000000');
        expect(await stores.vectorIndex.activeVersion()).toBe('v20260103-000000');
        // Re-publishing the active version is harmless, and keepPrevious: false keeps only it.
        const again = await publishVersion({
          ...stores,
          bundleDir: bundles['v20260103-000000']!,
          keepPrevious: false,
        });
        expect(again.dropped).toEqual(['v20260102-000000']);
        expect(await stores.featureStore.listVersions()).toEqual(['v20260103-000000']);
        expect(await stores.featureStore.countUserVectors('v20260103-000000')).toBe(700);
      } finally {
        await stores.close();
      }
    });

    it('leaves serving untouched and removes the partial version when loading fails', async () => {
      const stores = await factory();
      try {
        await publishVersion({ ...stores, bundleDir: bundles['v20260101-000000']! });
        await expect(
          publishVersion({
            featureStore: stores.featureStore,
            vectorIndex: failingOnUpsert(stores.vectorIndex, 2),
            bundleDir: bundles['v20260102-000000']!,
            batchSize: 500,
          }),
        ).rejects.toThrow(/injected upsert failure/);
        expect(await stores.featureStore.activeVersion()).toBe('v20260101-000000');
        expect(await stores.vectorIndex.activeVersion()).toBe('v20260101-000000');
        expect(await stores.featureStore.listVersions()).toEqual(['v20260101-000000']);
        expect(await stores.vectorIndex.listVersions()).toEqual(['v20260101-000000']);
      } finally {
        await stores.close();
      }
    });
  });
}
