/**
 * The Qdrant adapter against a real Qdrant server. Runs only when QDRANT_URL is set in the
 * environment of the test run (none exists on the reference machine); skipped otherwise.
 */
import { randomUUID } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, describe, expect, it } from 'vitest';
import { payloadFor, vectorIndexConformance } from '../conformance/vector-index.ts';
import { QdrantVectorIndex } from './vector-index.ts';

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
});
