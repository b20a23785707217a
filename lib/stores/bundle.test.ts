import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Field,
  Float32,
  Int32,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  vectorFromArray,
} from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { ArrowFileWriter, int32Field, readArrowFile, readVectors } from './arrow-file.ts';
import { BUNDLE_FILES, BundleReader, BundleWriter, latestBundle, listBundles } from './bundle.ts';
import { payloadFor } from './conformance/vector-index.ts';
import type { UserProfileSeed } from './feature-store.ts';
import { gaussianVector, seededRandom } from './random.ts';
import type { ItemPoint } from './vector-index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect<T>(source: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of source) out.push(...batch);
  return out;
}

const info = { version: 'v20260101-000000', rank: 8, created_at: '2026-01-01T00:00:00.000Z' };

describe('bundle', () => {
  it('round-trips every table through Arrow files in several record batches', async () => {
    const random = seededRandom(5);
    const items: ItemPoint[] = Array.from({ length: 25 }, (_, id) => ({
      id,
      vector: gaussianVector(random, 8),
      payload: payloadFor(id, id % 2 ? 'Shoes' : 'Accessories', id % 3 ? 'Boots' : 'Bag'),
    }));
    const users = Array.from({ length: 17 }, (_, u): [number, Float32Array] => [
      u * 2,
      gaussianVector(random, 8),
    ]);
    const profiles: UserProfileSeed[] = [
      {
        userIdx: 0,
        recent: [
          { item_idx: 4, ts: '2026-01-02T00:00:00.000Z' },
          { item_idx: 3, ts: '2026-01-01T00:00:00.000Z' },
        ],
        counters: {
          total_purchases: 2,
          first_purchase_at: '2026-01-01T00:00:00.000Z',
          last_purchase_at: '2026-01-02T00:00:00.000Z',
          product_groups: { Shoes: 1, Accessories: 1 },
          product_types: { Boots: 2 },
        },
      },
      {
        userIdx: 2,
        recent: [],
        counters: {
          total_purchases: 0,
          first_purchase_at: null,
          last_purchase_at: null,
          product_groups: {},
          product_types: {},
        },
      },
    ];
    const writer = await BundleWriter.create(dir, info, { batchRows: 4 });
    // Appends in uneven chunks and interleaved tables, as a streaming batch would.
    await writer.appendItems(items.slice(0, 3));
    await writer.appendUserVectors(users.slice(0, 10));
    await writer.appendItems(items.slice(3));
    await writer.appendUserVectors(users.slice(10));
    await writer.appendItemIds(items.map((p): [string, number] => [p.payload.article_id, p.id]));
    await writer.appendUserIds([['c'.repeat(64), 0]]);
    await writer.appendProfiles(profiles);
    writer.setTrending({ global: [3, 1], groups: { Shoes: [1] } });
    expect(await latestBundle(dir)).toBeNull();
    const manifest = await writer.finish({ metrics: { map_at_12: 0.02 } });
    expect(manifest.info).toEqual({ ...info, users: 17, items: 25, metrics: { map_at_12: 0.02 } });
    expect(manifest.files[BUNDLE_FILES.items]?.rows).toBe(25);
    expect((await readdir(writer.dir)).sort()).toEqual(Object.values(BUNDLE_FILES).sort());

    const reader = await BundleReader.open(writer.dir);
    expect(reader.info.version).toBe(info.version);
    let itemBatches = 0;
    for await (const _ of reader.items()) itemBatches++;
    expect(itemBatches).toBe(7);
    expect(await collect(reader.items())).toEqual(items);
    expect(await collect(reader.userVectors())).toEqual(users);
    expect(await collect(reader.itemIds())).toEqual(items.map((p) => [p.payload.article_id, p.id]));
    expect(await collect(reader.userIds())).toEqual([['c'.repeat(64), 0]]);
    expect(await collect(reader.profiles())).toEqual(profiles);
    expect(await reader.trending()).toEqual({ global: [3, 1], groups: { Shoes: [1] } });
  });

  it('uses explicit Arrow types: Int32 ids, FixedSizeList<Float32> vectors, plain Utf8', async () => {
    const writer = await BundleWriter.create(dir, info);
    await writer.appendItems([
      { id: 1, vector: new Float32Array(8), payload: payloadFor(1, 'Shoes', 'Boots') },
    ]);
    await writer.finish();
    for await (const batch of readArrowFile(join(writer.dir, BUNDLE_FILES.items))) {
      const types = Object.fromEntries(batch.schema.fields.map((f) => [f.name, String(f.type)]));
      expect(types).toMatchObject({
        item_idx: 'Int32',
        vector: 'FixedSizeList[8]<Float32>',
        article_id: 'Utf8',
        product_group_name: 'Utf8',
      });
    }
  });

  it('reads List<Float32> vectors written by other tools', async () => {
    const path = join(dir, 'list.arrow');
    const schema = new Schema([
      int32Field('user_idx'),
      new Field('vector', new List(new Field('item', new Float32())), false),
    ]);
    const writer = await ArrowFileWriter.create(path, schema);
    const vectors = vectorFromArray(
      [
        [1, 2],
        [3, 4, 5],
      ],
      new List(new Field('item', new Float32())),
    );
    await writer.write([makeData({ type: new Int32(), data: new Int32Array([7, 8]) }), vectors.data[0]!], 2);
    await writer.close();
    for await (const batch of readArrowFile(path)) {
      expect(readVectors(batch, 'vector')).toEqual([new Float32Array([1, 2]), new Float32Array([3, 4, 5])]);
    }
    expect(
      new RecordBatch(
        schema,
        makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children: [] }),
      ).numRows,
    ).toBe(0);
  });

  it('writes empty tables that read back as empty', async () => {
    const writer = await BundleWriter.create(dir, info);
    const manifest = await writer.finish();
    expect(manifest.info.users).toBe(0);
    const reader = await BundleReader.open(writer.dir);
    expect(await collect(reader.items())).toEqual([]);
    expect(await collect(reader.profiles())).toEqual([]);
  });

  it('rejects vectors of the wrong rank and refuses to overwrite a complete bundle', async () => {
    const writer = await BundleWriter.create(dir, info, { batchRows: 1 });
    await expect(writer.appendUserVectors([[1, new Float32Array(3)]])).rejects.toBeInstanceOf(
      ValidationError,
    );
    await writer.abort();
    await writer.abort();
    expect(await readdir(dir)).toEqual([]);
    const second = await BundleWriter.create(dir, info);
    await second.finish();
    await expect(BundleWriter.create(dir, info)).rejects.toThrow(/already exists/);
  });

  it('finds the newest complete bundle and ignores unfinished ones', async () => {
    expect(await latestBundle(join(dir, 'missing'))).toBeNull();
    for (const version of ['v20260101-000000', 'v20260102-000000']) {
      await (await BundleWriter.create(dir, { ...info, version })).finish();
    }
    // A newer version the batch is still writing (no manifest yet) and a stray file.
    await mkdir(join(dir, 'v20260103-000000'));
    await writeFile(join(dir, 'README.md'), 'models');
    expect(await listBundles(dir)).toEqual(['v20260101-000000', 'v20260102-000000']);
    expect(await latestBundle(dir)).toBe(join(dir, 'v20260102-000000'));
    await expect(BundleReader.open(join(dir, 'v20260103-000000'))).rejects.toBeInstanceOf(ValidationError);
  });
});
