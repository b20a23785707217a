import { describe, expect, it } from 'vitest';
import { payloadFor, vectorIndexConformance } from '../conformance/vector-index.ts';
import { gaussianVector, type Random, seededRandom } from '../random.ts';
import type { SearchFilter } from '../vector-index.ts';
import { ItemTable, permuteRows, type TableRows } from './item-table.ts';
import { buildPartitions, buildPartitionsSync } from './partitions.ts';
import { scanTopK } from './scan.ts';
import { type SearchStats, searchTopK } from './search.ts';
import { EmbeddedVectorIndex } from './vector-index.ts';

vectorIndexConformance('embedded', async () => {
  const index = new EmbeddedVectorIndex();
  await index.start();
  return index;
});

// The same contract with the partition index forced on even for the suite's small data sets.
vectorIndexConformance('embedded, partitioned', async () => {
  const index = new EmbeddedVectorIndex({ partitions: { minItems: 1, cells: 12 } });
  await index.start();
  return index;
});

const GROUPS = ['Garment Upper body', 'Garment Lower body', 'Shoes', 'Accessories'];

/** Data shapes: isotropic noise, tight clusters with popularity-scaled norms, and duplicates. */
function dataset(
  kind: 'random' | 'clustered' | 'duplicates',
  n: number,
  d: number,
  random: Random,
): TableRows {
  const centres = Array.from({ length: 20 }, () => gaussianVector(random, d));
  const vectors = new Float32Array(n * d);
  const payloads = [];
  for (let i = 0; i < n; i++) {
    let v: Float32Array;
    if (kind === 'random') v = gaussianVector(random, d);
    else if (kind === 'clustered') {
      const c = centres[random.int(centres.length)]!;
      const pop = Math.exp(random.gaussian() * 0.6);
      v = c.map((x) => (x + random.gaussian() * 0.1) * pop);
    } else v = centres[i % 3]!.slice(); // many exact ties
    vectors.set(v, i * d);
    payloads.push(payloadFor(i, GROUPS[i % GROUPS.length]!, i % 3 === 0 ? 'Boots' : 'T-shirt'));
  }
  return { ids: Int32Array.from({ length: n }, (_, i) => i), vectors, payloads };
}

/** A partitioned table over a generated dataset, and the rows in their original order. */
function partitionedTable(kind: Parameters<typeof dataset>[0], n: number, d: number, random: Random) {
  const rows = dataset(kind, n, d, random);
  const p = buildPartitionsSync(rows.vectors, n, d, { seed: 1 });
  return { rows, table: new ItemTable(d, permuteRows(rows, p.order, d), p) };
}

describe('partitioned search', () => {
  // d = 16: the kernel holds rows unpadded and scores exactly in WebAssembly; d = 13: padded
  // rows, exact scores in JavaScript.
  for (const [kind, d] of [
    ['random', 16],
    ['clustered', 16],
    ['duplicates', 16],
    ['clustered', 13],
  ] as const) {
    it(`returns exactly the exhaustive scan's top-k on ${kind} data (d = ${d})`, () => {
      const random = seededRandom(kind.length);
      const rows = dataset(kind, 4000, d, random);
      const plain = new ItemTable(d, rows);
      for (const cells of [1, 7, 63]) {
        const p = buildPartitionsSync(rows.vectors, 4000, d, { cells, seed: cells });
        const table = new ItemTable(d, permuteRows(rows, p.order, d), p);
        const filters: Array<SearchFilter | undefined> = [
          undefined,
          { include: { product_group_name: ['Shoes'] } },
          { include: { product_group_name: ['Shoes', 'Accessories'], product_type_name: ['Boots'] } },
          { exclude: { product_type_name: ['T-shirt'] }, excludeIds: [1, 2, 3, 10, 11] },
        ];
        for (let q = 0; q < 12; q++) {
          const query = q % 4 === 3 ? new Float32Array(d) : gaussianVector(random, d, 1 + q);
          for (const k of [1, 40, 160]) {
            for (const filter of filters) {
              const got = searchTopK(table, query, k, table.eligibleRows(filter)).map((h) => [
                table.ids[h.row],
                h.score,
              ]);
              const want = scanTopK(plain, query, k, plain.eligibleRows(filter)).map((h) => [
                plain.ids[h.row],
                h.score,
              ]);
              expect(got).toEqual(want);
              // A bitset outside the kernel's memory takes the JavaScript row filter: same result.
              const copy = table.eligibleRows(filter);
              if (copy !== null) {
                const outside = searchTopK(table, query, k, Uint32Array.from(copy));
                expect(outside.map((h) => [table.ids[h.row], h.score])).toEqual(want);
              }
            }
          }
        }
      }
    });
  }

  it('prunes most of a clustered catalogue for an unfiltered top-k', () => {
    const random = seededRandom(99);
    const d = 32;
    const rows = dataset('clustered', 20_000, d, random);
    const p = buildPartitionsSync(rows.vectors, 20_000, d, {});
    const table = new ItemTable(d, permuteRows(rows, p.order, d), p);
    const stats: SearchStats = { cellsVisited: 0, rowsScored: 0 };
    let scored = 0;
    for (let q = 0; q < 20; q++) {
      const query = rows.vectors.slice(q * 997 * d, (q * 997 + 1) * d);
      searchTopK(table, query, 40, null, stats);
      scored += stats.rowsScored;
    }
    expect(scored / 20).toBeLessThan(20_000 / 10);
  });

  it('admits exactly the rows a filter names, however filters repeat and interleave', () => {
    const { table } = partitionedTable('random', 3000, 8, seededRandom(8));
    const filters: SearchFilter[] = [
      { include: { product_group_name: ['Shoes'] } },
      { include: { product_group_name: ['Shoes', 'Accessories'] }, excludeIds: [4, 8] },
      { exclude: { product_type_name: ['T-shirt'] } },
      { excludeIds: [0, 1, 2] },
      { include: { product_type_name: ['Boots'] }, exclude: { product_group_name: ['Shoes'] } },
    ];
    const admits = (f: SearchFilter, row: number) => {
      const item = table.payloads[row]!;
      for (const field of ['product_group_name', 'product_type_name'] as const) {
        const include = f.include?.[field];
        if (include && include.length > 0 && !include.includes(item[field])) return false;
        if (f.exclude?.[field]?.includes(item[field])) return false;
      }
      return !(f.excludeIds ?? []).includes(table.ids[row]!);
    };
    for (let round = 0; round < 3; round++) {
      for (const f of [...filters, ...filters.slice().reverse()]) {
        const bits = table.eligibleRows(f)!;
        for (let row = 0; row < table.size; row++) {
          expect((bits[row >>> 5]! & (1 << (row & 31))) !== 0, `row ${row}`).toBe(admits(f, row));
        }
      }
    }
  });

  it('sets the rows an exclusion-only filter cleared again before the next search', () => {
    const random = seededRandom(21);
    const d = 16;
    const { rows, table } = partitionedTable('clustered', 4000, d, random);
    const plain = new ItemTable(d, rows);
    const top = (query: Float32Array, filter?: SearchFilter) =>
      searchTopK(table, query, 10, table.eligibleRows(filter)).map((h) => table.ids[h.row]!);
    const reference = (query: Float32Array, filter?: SearchFilter) =>
      scanTopK(plain, query, 10, plain.eligibleRows(filter)).map((h) => plain.ids[h.row]!);
    for (let q = 0; q < 5; q++) {
      const query = gaussianVector(random, d, 1);
      const best = top(query);
      const first = { excludeIds: best.slice(0, 3) };
      const second = { excludeIds: best.slice(3, 6) };
      expect(top(query, first)).toEqual(reference(query, first));
      expect(top(query, first)).not.toContain(best[0]);
      // The ids the first filter cleared are eligible again; the second filter's are not.
      expect(top(query, second)).toEqual(reference(query, second));
      expect(top(query, second)).toContain(best[0]);
      expect(top(query, { include: { product_group_name: ['Shoes'] } })).toEqual(
        reference(query, { include: { product_group_name: ['Shoes'] } }),
      );
      expect(top(query)).toEqual(best);
    }
  });

  it('builds the same partitions synchronously and in slices', async () => {
    const random = seededRandom(5);
    const rows = dataset('clustered', 3000, 8, random);
    const sync = buildPartitionsSync(rows.vectors, 3000, 8, { seed: 3 });
    const sliced = await buildPartitions(rows.vectors, 3000, 8, { seed: 3, yieldEveryMs: 0 });
    expect(sliced.order).toEqual(sync.order);
    expect(sliced.axes).toEqual(sync.axes);
    expect(sync.cells).toBeGreaterThan(10);
    const starts = Array.from(sync.cellStart);
    expect(starts[0]).toBe(0);
    expect(starts.at(-1)).toBe(3000);
  });
});

/** A started index with `rows` (8 dims) as version v1, activated (partitioned from 100 items). */
async function activeIndex(rows: TableRows): Promise<EmbeddedVectorIndex> {
  const index = new EmbeddedVectorIndex({ partitions: { minItems: 100 } });
  await index.start();
  await index.createVersion('v1', 8);
  await index.upsert(
    'v1',
    Array.from({ length: rows.ids.length }, (_, i) => ({
      id: i,
      vector: rows.vectors.slice(i * 8, i * 8 + 8),
      payload: rows.payloads[i]!,
    })),
  );
  await index.activateVersion('v1');
  return index;
}

describe('EmbeddedVectorIndex', () => {
  it('lets the last activation called win even when an earlier one finishes building later', async () => {
    const index = new EmbeddedVectorIndex({ partitions: { minItems: 100, yieldEveryMs: 0 } });
    await index.start();
    const random = seededRandom(4);
    await index.createVersion('big', 8);
    const rows = dataset('clustered', 3000, 8, random);
    await index.upsert(
      'big',
      Array.from({ length: 3000 }, (_, i) => ({
        id: i,
        vector: rows.vectors.slice(i * 8, i * 8 + 8),
        payload: rows.payloads[i]!,
      })),
    );
    await index.createVersion('small', 8);
    await index.upsert('small', [
      { id: 1, vector: new Float32Array(8).fill(1), payload: payloadFor(1, 'Shoes', 'Boots') },
    ]);
    // 'big' yields while it builds; 'small' is called later and finishes first.
    await Promise.all([index.activateVersion('big'), index.activateVersion('small')]);
    expect(await index.activeVersion()).toBe('small');
  });

  it('indexes a version on activation and serves upserts made after it', async () => {
    const random = seededRandom(8);
    const index = await activeIndex(dataset('clustered', 500, 8, random));
    expect(index.table().partitions).not.toBeNull();
    const query = gaussianVector(random, 8);
    const best = new Float32Array(query.map((x) => x * 100));
    await index.upsert('v1', [{ id: 9999, vector: best, payload: payloadFor(9999, 'Shoes', 'Boots') }]);
    const [hit] = await index.search({ vector: query, k: 1 });
    expect(hit?.id).toBe(9999);
  });

  it('answers the searches of one turn together, each with its own result or error', async () => {
    const random = seededRandom(9);
    const index = await activeIndex(dataset('random', 400, 8, random));
    const queries = Array.from({ length: 6 }, () => gaussianVector(random, 8));
    const one = async (vector: Float32Array) => (await index.search({ vector, k: 5 })).map((h) => h.id);
    const alone: number[][] = [];
    for (const q of queries) alone.push(await one(q));
    // All issued in the same turn, with a bad request among them.
    const together = await Promise.allSettled([
      ...queries.map(one),
      index.search({ vector: new Float32Array(3), k: 5 }),
    ]);
    expect(together.slice(0, 6).map((r) => (r.status === 'fulfilled' ? r.value : r.reason))).toEqual(alone);
    expect(together[6]!.status).toBe('rejected');
    expect(String((together[6] as PromiseRejectedResult).reason)).toMatch(/dimension 8/);
  });
});
