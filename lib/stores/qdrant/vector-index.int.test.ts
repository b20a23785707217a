/**
 * The Qdrant adapter against a real Qdrant server. Runs only when QDRANT_URL is set in the
 * environment of the test run (none exists on the reference machine); skipped otherwise.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, describe, expect, it } from 'vitest';
import { payloadFor, vectorIndexConformance } from '../conformance/vector-index.ts';
import { syntheticBundle } from '../fixtures.ts';
import { MemoryFeatureStore } from '../memory/feature-store.ts';
import { publishVersion } from '../publish.ts';
import { type AliasReader, probeVersions, readsAfterSwitch, readThroughAlias } from './testing.ts';
import { QdrantVectorIndex } from './vector-index.ts';

/** The real catalogue's size, where Qdrant builds HNSW indexes. */
const FULL_ITEMS = Number(process.env['QDRANT_TEST_ITEMS'] ?? 105_542);

const url = process.env['QDRANT_URL'];
const apiKey = process.env['QDRANT_API_KEY'] || undefined;
if (!url) console.log('skipping Qdrant tests: QDRANT_URL is not set');

const runPrefix = `test_${randomUUID().slice(0, 8)}`;
let counter = 0;

function openIndex(): QdrantVectorIndex {
  return new QdrantVectorIndex({
    url: url!,
    apiKey,
    collection: `${runPrefix}_${++counter}`,
    readTimeoutMs: 10_000,
    exactSearch: true,
  });
}

describe.skipIf(!url)('Qdrant', () => {
  afterAll(async () => {
    const client = new QdrantClient({ url: url!, apiKey, checkCompatibility: false });
    const { aliases } = await client.getAliases();
    const actions = aliases
      .filter((a) => a.alias_name.startsWith(runPrefix))
      .map((a) => ({ delete_alias: { alias_name: a.alias_name } }));
    if (actions.length > 0) await client.updateCollectionAliases({ actions });
    const { collections } = await client.getCollections();
    for (const c of collections) if (c.name.startsWith(runPrefix)) await client.deleteCollection(c.name);
  });

  vectorIndexConformance('qdrant', async () => {
    const index = openIndex();
    await index.start();
    return index;
  });

  it('creates keyword payload indexes and moves the alias atomically', async () => {
    const index = openIndex();
    await index.start();
    await index.createVersion('v1', 3);
    await index.createVersion('v2', 3);
    const client = new QdrantClient({ url: url!, apiKey, checkCompatibility: false });
    const info = await client.getCollection(index.collectionOf('v1'));
    expect(info.payload_schema['product_group_name']?.data_type).toBe('keyword');
    expect(info.payload_schema['product_type_name']?.data_type).toBe('keyword');
    expect(info.payload_schema['item_idx']?.data_type).toBe('integer');
    await index.upsert('v1', [
      { id: 1, vector: new Float32Array([1, 0, 0]), payload: payloadFor(1, 'Shoes', 'Boots') },
    ]);
    await index.activateVersion('v1');
    await index.activateVersion('v2');
    const { aliases } = await client.getCollectionAliases(index.collectionOf('v2'));
    expect(aliases.map((a) => a.alias_name)).toEqual([index.alias]);
    expect(await index.activeVersion()).toBe('v2');
  });

  it('switches versions at full size under concurrent reads: every answer is one complete version, never a half-loaded one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qdrant-switch-'));
    const readers: AliasReader[] = [];
    try {
      const rank = 64;
      const v1 = { version: 'v20200101-000000', dir: '' };
      const v2 = { version: 'v20200102-000000', dir: '' };
      v1.dir = (
        await syntheticBundle({
          items: FULL_ITEMS,
          users: 50,
          rank,
          seed: 1,
          outDir: dir,
          version: v1.version,
        })
      ).dir;
      v2.dir = (
        await syntheticBundle({
          items: FULL_ITEMS,
          users: 50,
          rank,
          seed: 2,
          outDir: dir,
          version: v2.version,
        })
      ).dir;
      const probe = await probeVersions([v1, v2], rank);
      const index = openIndex();
      await index.start();
      const featureStore = new MemoryFeatureStore();
      await publishVersion({ featureStore, vectorIndex: index, bundleDir: v1.dir });

      const alias = readThroughAlias(index, probe, { readers: 3 });
      const pinned = readThroughAlias(index, probe, { readers: 3, pinnedBy: featureStore });
      readers.push(alias, pinned);
      const published = await publishVersion({ featureStore, vectorIndex: index, bundleDir: v2.dir });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await Promise.all([alias.stop(), pinned.stop()]);

      expect(published.items).toBe(FULL_ITEMS);
      expect(await index.count(v2.version)).toBe(FULL_ITEMS);
      for (const reader of [alias, pinned]) {
        expect(reader.failures).toBe(0);
        expect(reader.seen).not.toContain('partial');
        expect(reader.seen[0]).toBe(v1.version);
        expect(reader.seen.at(-1)).toBe(v2.version);
        expect(readsAfterSwitch(reader, v1.version, v2.version)).toBe(0);
      }
      console.log(
        `alias switch at ${FULL_ITEMS} items: ${alias.seen.length} alias reads, ${pinned.seen.length} pinned reads during the publish`,
      );
    } finally {
      // Readers still running (the test failed midway) must stop before the collections go.
      await Promise.allSettled(readers.map((r) => r.stop()));
      await rm(dir, { recursive: true, force: true });
    }
  }, 360_000);
});
