import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleReader } from './bundle.ts';
import { HISTORY_LIMIT } from './feature-store.ts';
import { PRODUCT_CATALOGUE, syntheticBundle } from './fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fixtures-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect<T>(source: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of source) out.push(...batch);
  return out;
}

describe('syntheticBundle', () => {
  it('writes an H&M-shaped bundle', async () => {
    const { dir: bundleDir, manifest } = await syntheticBundle({
      items: 3000,
      users: 400,
      rank: 16,
      seed: 1,
      outDir: dir,
    });
    expect(manifest.info).toMatchObject({ rank: 16, items: 3000, users: 400 });
    const reader = await BundleReader.open(bundleDir);
    const items = await collect(reader.items());
    expect(items.map((p) => p.id)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const articleIds = items.map((p) => p.payload.article_id);
    expect(new Set(articleIds).size).toBe(3000);
    for (const id of articleIds) expect(id).toMatch(/^0\d{9}$/);
    const groups = new Set(items.map((p) => p.payload.product_group_name));
    expect(groups.size).toBe(PRODUCT_CATALOGUE.length);
    for (const p of items) {
      const entry = PRODUCT_CATALOGUE.find((g) => g.group === p.payload.product_group_name)!;
      expect(entry.types).toContain(p.payload.product_type_name);
      expect(p.vector).toHaveLength(16);
    }
    expect(await collect(reader.itemIds())).toEqual(items.map((p) => [p.payload.article_id, p.id]));

    const userIds = await collect(reader.userIds());
    expect(userIds).toHaveLength(400);
    for (const [customer] of userIds) expect(customer).toMatch(/^[0-9a-f]{64}$/);
    const profiles = await collect(reader.profiles());
    expect(profiles).toHaveLength(400);
    for (const profile of profiles) {
      expect(profile.recent.length).toBeLessThanOrEqual(HISTORY_LIMIT);
      expect(profile.counters.total_purchases).toBeGreaterThanOrEqual(profile.recent.length);
      const sorted = [...profile.recent].sort((a, b) => (a.ts < b.ts ? 1 : -1));
      expect(profile.recent.map((p) => p.ts)).toEqual(sorted.map((p) => p.ts));
      const groupTotal = Object.values(profile.counters.product_groups).reduce((a, b) => a + b, 0);
      expect(groupTotal).toBe(profile.counters.total_purchases);
    }
    const trending = await reader.trending();
    expect(trending.global.length).toBe(50);
    expect(Object.keys(trending.groups).length).toBeGreaterThan(3);
  });

  it('is deterministic by seed', async () => {
    const a = await syntheticBundle({ items: 500, users: 50, rank: 8, seed: 7, outDir: join(dir, 'a') });
    const b = await syntheticBundle({ items: 500, users: 50, rank: 8, seed: 7, outDir: join(dir, 'b') });
    const c = await syntheticBundle({ items: 500, users: 50, rank: 8, seed: 8, outDir: join(dir, 'c') });
    const ra = await BundleReader.open(a.dir);
    const rb = await BundleReader.open(b.dir);
    const rc = await BundleReader.open(c.dir);
    expect(await collect(rb.items())).toEqual(await collect(ra.items()));
    expect(await collect(rb.profiles())).toEqual(await collect(ra.profiles()));
    expect(await collect(rb.userVectors())).toEqual(await collect(ra.userVectors()));
    expect(await collect(rc.userVectors())).not.toEqual(await collect(ra.userVectors()));
  });
});
