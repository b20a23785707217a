/**
 * The VectorIndex contract as one test suite, run against every adapter (embedded, Qdrant, ...).
 *
 * `factory` must return a started index over an empty, private namespace (a unique collection
 * name for Qdrant); the suite drops what it created and closes the index after each test.
 * Scores are compared with a small tolerance because servers may accumulate in float32.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyError, NotFoundError, ValidationError } from '../../errors.ts';
import { gaussianVector, type Random, seededRandom } from '../random.ts';
import type { ItemMetadata } from '../types.ts';
import type { ItemPoint, SearchFilter, SearchHit, VectorIndex } from '../vector-index.ts';

export interface VectorIndexConformanceOptions {
  /** Points per test data set for the exactness checks. @default 600 */
  points?: number;
}

const GROUPS = ['Garment Upper body', 'Garment Lower body', 'Shoes', 'Accessories', 'Underwear'];
const TYPES = ['T-shirt', 'Trousers', 'Sneakers', 'Bag', 'Bra', 'Sweater', 'Boots'];

export function payloadFor(id: number, group: string, type: string, tag = ''): ItemMetadata {
  return {
    item_idx: id,
    article_id: String(100_000_000 + id).padStart(10, '0'),
    prod_name: `${tag}item ${id}`,
    product_type_name: type,
    product_group_name: group,
    colour_group_name: 'Black',
    section_name: 'Womens Everyday Basics',
    garment_group_name: 'Jersey Basic',
    index_name: 'Ladieswear',
  };
}

function randomPoints(random: Random, n: number, dimension: number, tag = ''): ItemPoint[] {
  return Array.from({ length: n }, (_, id) => ({
    id,
    vector: gaussianVector(random, dimension),
    payload: payloadFor(id, random.pick(GROUPS), random.pick(TYPES), tag),
  }));
}

function dotF32(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function eligible(point: ItemPoint, filter: SearchFilter | undefined): boolean {
  if (!filter) return true;
  for (const [field, values] of Object.entries(filter.include ?? {})) {
    if (values && values.length > 0 && !values.includes(point.payload[field as keyof ItemMetadata] as string))
      return false;
  }
  for (const [field, values] of Object.entries(filter.exclude ?? {})) {
    if (values?.includes(point.payload[field as keyof ItemMetadata] as string)) return false;
  }
  return !filter.excludeIds?.includes(point.id);
}

/** Exact top-k by brute force, in float64 over the float32 inputs. */
function bruteForce(points: ItemPoint[], query: Float32Array, k: number, filter?: SearchFilter) {
  return points
    .filter((p) => eligible(p, filter))
    .map((p) => ({ id: p.id, score: dotF32(query, p.vector) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k);
}

const TOLERANCE = 1e-4;

/**
 * Checks hits against the brute-force answer: same length, same score sequence, every hit's
 * score is its true inner product, no duplicates, and ids match wherever scores are not tied.
 */
function expectExact(
  hits: SearchHit[],
  expected: Array<{ id: number; score: number }>,
  points: ItemPoint[],
  query: Float32Array,
) {
  expect(hits.map((h) => h.id)).toHaveLength(expected.length);
  expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
  const byId = new Map(points.map((p) => [p.id, p]));
  hits.forEach((hit, i) => {
    const want = expected[i]!;
    const scale = Math.max(1, Math.abs(want.score));
    expect(Math.abs(hit.score - want.score)).toBeLessThan(TOLERANCE * scale);
    expect(hit.payload.item_idx).toBe(hit.id);
    const point = byId.get(hit.id)!;
    expect(Math.abs(hit.score - dotF32(query, point.vector))).toBeLessThan(TOLERANCE * scale);
    const prev = expected[i - 1]?.score ?? Number.POSITIVE_INFINITY;
    const next = expected[i + 1]?.score ?? Number.NEGATIVE_INFINITY;
    const tied = prev - want.score < TOLERANCE * scale || want.score - next < TOLERANCE * scale;
    if (!tied) expect(hit.id).toBe(want.id);
  });
}

export function vectorIndexConformance(
  name: string,
  factory: () => Promise<VectorIndex>,
  options: VectorIndexConformanceOptions = {},
): void {
  const n = options.points ?? 600;

  describe(`VectorIndex conformance: ${name}`, () => {
    const opened: VectorIndex[] = [];
    const open = async (): Promise<VectorIndex> => {
      const index = await factory();
      opened.push(index);
      return index;
    };

    afterEach(async () => {
      for (const index of opened.splice(0)) {
        try {
          const versions = await index.listVersions();
          const active = await index.activeVersion();
          for (const v of versions) if (v !== active) await index.dropVersion(v);
        } finally {
          await index.close();
        }
      }
    });

    async function loaded(version: string, points: ItemPoint[], dimension: number, activate = true) {
      const index = await open();
      await index.createVersion(version, dimension);
      for (let i = 0; i < points.length; i += 250) await index.upsert(version, points.slice(i, i + 250));
      if (activate) await index.activateVersion(version);
      return index;
    }

    it('creates versions idempotently and rejects a conflicting dimension', async () => {
      const index = await open();
      await index.ping();
      expect(await index.activeVersion()).toBeNull();
      await index.createVersion('v1', 8);
      await index.createVersion('v1', 8);
      await expect(index.createVersion('v1', 9)).rejects.toBeInstanceOf(ValidationError);
      await expect(index.createVersion('bad name!', 8)).rejects.toBeInstanceOf(ValidationError);
      expect(await index.listVersions()).toEqual(['v1']);
      expect(await index.count('v1')).toBe(0);
      expect(await index.count('v-unknown')).toBe(0);
    });

    it('rejects upserts into a missing version or with the wrong dimension', async () => {
      const index = await open();
      const random = seededRandom(3);
      await expect(index.upsert('v-missing', randomPoints(random, 1, 4))).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await index.createVersion('v1', 4);
      await expect(index.upsert('v1', randomPoints(random, 1, 5))).rejects.toBeInstanceOf(ValidationError);
    });

    it('refuses to search before any version is active', async () => {
      const index = await open();
      await index.createVersion('v1', 4);
      await expect(index.search({ vector: new Float32Array(4), k: 3 })).rejects.toBeInstanceOf(
        DependencyError,
      );
    });

    it('returns the exact top-k by inner product (brute force on random data)', async () => {
      const random = seededRandom(11);
      const dimension = 16;
      const points = randomPoints(random, n, dimension);
      const index = await loaded('v1', points, dimension);
      expect(await index.count('v1')).toBe(n);
      for (const k of [1, 10, 40, n + 5]) {
        for (let q = 0; q < 5; q++) {
          const query = gaussianVector(random, dimension);
          const hits = await index.search({ vector: query, k });
          expectExact(hits, bruteForce(points, query, k), points, query);
          for (const hit of hits) expect(hit.vector).toBeUndefined();
        }
      }
      expect(await index.search({ vector: gaussianVector(random, dimension), k: 0 })).toEqual([]);
      await expect(index.search({ vector: new Float32Array(dimension + 1), k: 3 })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('pushes filters into the search: k results whenever k eligible items exist', async () => {
      const random = seededRandom(12);
      const dimension = 8;
      const points = randomPoints(random, n, dimension);
      // A rare group whose items all score badly for the query: post-filtering a top-k would miss them.
      const query = gaussianVector(random, dimension);
      const rare: ItemPoint[] = Array.from({ length: 15 }, (_, i) => {
        const vector = new Float32Array(dimension);
        for (let j = 0; j < dimension; j++) vector[j] = -query[j]! * (1 + i / 10);
        return { id: n + i, vector, payload: payloadFor(n + i, 'Nightwear', 'Pyjama set') };
      });
      const all = [...points, ...rare];
      const index = await loaded('v1', all, dimension);
      const k = 10;
      const filters: SearchFilter[] = [
        { include: { product_group_name: ['Nightwear'] } },
        { include: { product_group_name: ['Shoes', 'Accessories'] } },
        {
          include: {
            product_group_name: ['Shoes', 'Garment Upper body'],
            product_type_name: ['Sneakers', 'T-shirt'],
          },
        },
        { exclude: { product_group_name: ['Garment Upper body', 'Garment Lower body', 'Shoes'] } },
        { exclude: { product_type_name: ['T-shirt'] }, excludeIds: [0, 1, 2, 3, 4, 5] },
        { include: { product_group_name: ['Accessories'] }, exclude: { product_type_name: ['Bag'] } },
        { include: { product_group_name: [] }, exclude: { product_type_name: [] }, excludeIds: [] },
        { include: { product_group_name: ['No such group'] } },
      ];
      for (const filter of filters) {
        const expected = bruteForce(all, query, k, filter);
        const hits = await index.search({ vector: query, k, filter });
        expectExact(hits, expected, all, query);
        for (const hit of hits) expect(eligible(all[hit.id]!, filter)).toBe(true);
      }
      const nightwear = await index.search({ vector: query, k: 40, filter: filters[0] });
      expect(nightwear.map((h) => h.id)).toEqual(rare.map((p) => p.id));
    });

    it('excludes ids even when they would be the best matches', async () => {
      const random = seededRandom(13);
      const dimension = 8;
      const points = randomPoints(random, n, dimension);
      const index = await loaded('v1', points, dimension);
      const query = gaussianVector(random, dimension);
      const top = bruteForce(points, query, 20);
      const excludeIds = top.slice(0, 15).map((h) => h.id);
      const hits = await index.search({ vector: query, k: 10, filter: { excludeIds } });
      expectExact(hits, bruteForce(points, query, 10, { excludeIds }), points, query);
      expect(hits.some((h) => excludeIds.includes(h.id))).toBe(false);
    });

    it('returns vectors with hits and retrieves points in the order asked', async () => {
      const random = seededRandom(14);
      const dimension = 6;
      const points = randomPoints(random, 50, dimension);
      const index = await loaded('v1', points, dimension);
      const hits = await index.search({ vector: points[7]!.vector, k: 3, withVectors: true });
      for (const hit of hits) expect(hit.vector).toEqual(points[hit.id]!.vector);
      const retrieved = await index.retrieve([9, 1000, 3, 9], { withVectors: true });
      expect(retrieved.map((p) => p.id)).toEqual([9, 3, 9]);
      expect(retrieved[0]!.vector).toEqual(points[9]!.vector);
      expect(retrieved[1]!.payload).toEqual(points[3]!.payload);
      const plain = await index.retrieve([4]);
      expect(plain[0]!.payload).toEqual(points[4]!.payload);
      expect(await index.retrieve([])).toEqual([]);
    });

    it('replaces a point on upsert with an existing id', async () => {
      const dimension = 3;
      const index = await loaded(
        'v1',
        [
          { id: 1, vector: new Float32Array([1, 0, 0]), payload: payloadFor(1, 'Shoes', 'Boots') },
          { id: 2, vector: new Float32Array([0, 1, 0]), payload: payloadFor(2, 'Shoes', 'Boots') },
        ],
        dimension,
      );
      await index.upsert('v1', [
        { id: 1, vector: new Float32Array([0, 0, 5]), payload: payloadFor(1, 'Bags', 'Bag') },
      ]);
      expect(await index.count('v1')).toBe(2);
      const [hit] = await index.search({ vector: new Float32Array([0, 0, 1]), k: 1 });
      expect(hit?.id).toBe(1);
      expect(hit?.score).toBeCloseTo(5, 5);
      expect(hit?.payload.product_group_name).toBe('Bags');
      const shoes = await index.search({
        vector: new Float32Array([0, 0, 1]),
        k: 5,
        filter: { include: { product_group_name: ['Shoes'] } },
      });
      expect(shoes.map((h) => h.id)).toEqual([2]);
    });

    it('switches versions atomically: every search sees one whole version', async () => {
      const dimension = 4;
      const random = seededRandom(15);
      const pa = randomPoints(random, 60, dimension, 'A:');
      const pb = randomPoints(random, 60, dimension, 'B:');
      const index = await loaded('va', pa, dimension);
      await index.createVersion('vb', dimension);
      await index.upsert('vb', pb);
      expect(await index.listVersions()).toEqual(['va', 'vb']);
      let switching = true;
      const seen = new Set<string>();
      const switcher = (async () => {
        for (let i = 0; i < 10; i++) await index.activateVersion(i % 2 === 0 ? 'vb' : 'va');
        switching = false;
      })();
      const reader = (async () => {
        do {
          const hits = await index.search({ vector: gaussianVector(random, dimension), k: 20 });
          const tags = new Set(hits.map((h) => h.payload.prod_name.slice(0, 2)));
          expect(hits).toHaveLength(20);
          expect(tags.size).toBe(1);
          seen.add([...tags][0]!);
        } while (switching);
      })();
      await Promise.all([switcher, reader]);
      expect(await index.activeVersion()).toBe('va');
      const after = await index.search({ vector: gaussianVector(random, dimension), k: 5 });
      expect(after.every((h) => h.payload.prod_name.startsWith('A:'))).toBe(true);
      expect(seen.size).toBeGreaterThan(0);
    });

    it('searches and retrieves a pinned version instead of the active one', async () => {
      const dimension = 4;
      const random = seededRandom(17);
      const pa = randomPoints(random, 30, dimension, 'A:');
      const pb = randomPoints(random, 30, dimension, 'B:');
      const index = await loaded('va', pa, dimension);
      await index.createVersion('vb', dimension);
      await index.upsert('vb', pb);
      const query = gaussianVector(random, dimension);
      const pinned = await index.search({ vector: query, k: 5, version: 'vb' });
      expectExact(pinned, bruteForce(pb, query, 5), pb, query);
      expect(pinned.every((h) => h.payload.prod_name.startsWith('B:'))).toBe(true);
      const active = await index.search({ vector: query, k: 5 });
      expect(active.every((h) => h.payload.prod_name.startsWith('A:'))).toBe(true);
      const [point] = await index.retrieve([3], { version: 'vb', withVectors: true });
      expect(point?.payload.prod_name).toBe('B:item 3');
      expect(point?.vector).toEqual(pb[3]!.vector);
      await expect(index.search({ vector: query, k: 5, version: 'v-missing' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('drops versions, but never the active one', async () => {
      const dimension = 4;
      const random = seededRandom(16);
      const index = await loaded('v1', randomPoints(random, 20, dimension), dimension);
      await index.createVersion('v2', dimension);
      await index.upsert('v2', randomPoints(random, 20, dimension));
      await expect(index.dropVersion('v1')).rejects.toBeInstanceOf(ValidationError);
      await index.dropVersion('v2');
      await index.dropVersion('v2');
      expect(await index.listVersions()).toEqual(['v1']);
      expect(await index.count('v2')).toBe(0);
      await expect(index.activateVersion('v2')).rejects.toBeInstanceOf(NotFoundError);
      expect(await index.activeVersion()).toBe('v1');
      expect(await index.search({ vector: new Float32Array(dimension).fill(1), k: 3 })).toHaveLength(3);
    });
  });
}
