/**
 * A small, hand-made catalogue for the API's contract tests: 30 items in five product groups with
 * clustered 4-dimensional vectors, a handful of users (known with history, known without
 * history, cold with history, unknown), trending lists and id maps. Small enough that tests can
 * compute expected answers by brute force, so they check the API against an independent oracle
 * rather than against itself. `loadWorld` writes it through the ports, so the same suite runs on
 * the memory/embedded adapters and on Redis.
 */
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata, ProfileCounters, Purchase } from '../../lib/stores/types.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { dot } from '../../lib/vectors.ts';

export const WORLD_VERSION = 'v20260101-000000';
export const WORLD_DIMENSION = 4;

const GROUPS = [
  { group: 'Garment Upper body', types: ['T-shirt', 'Sweater'], direction: [1, 0, 0, 0] },
  { group: 'Garment Lower body', types: ['Trousers', 'Skirt'], direction: [0, 1, 0, 0] },
  { group: 'Shoes', types: ['Sneakers', 'Boots'], direction: [0, 0, 1, 0] },
  { group: 'Accessories', types: ['Bag', 'Scarf'], direction: [0, 0, 0, 1] },
  { group: 'Nightwear', types: ['Pyjama set', 'Night gown'], direction: [0.5, 0.5, 0.5, 0.5] },
] as const;

export interface WorldItem {
  metadata: ItemMetadata;
  vector: Float32Array;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function sequence(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function buildItems(): WorldItem[] {
  const random = sequence(20260101);
  const items: WorldItem[] = [];
  for (let i = 0; i < 30; i++) {
    const g = GROUPS[i % GROUPS.length]!;
    const type = g.types[Math.floor(i / GROUPS.length) % 2]!;
    const scale = 0.5 + random();
    const vector = Float32Array.from(g.direction, (x) => (x + (random() - 0.5) * 0.4) * scale);
    items.push({
      vector,
      metadata: {
        item_idx: i,
        article_id: String(108775000 + i).padStart(10, '0'),
        prod_name: `${type} ${i}`,
        product_type_name: type,
        product_group_name: g.group,
        colour_group_name: i % 2 === 0 ? 'Black' : 'White',
        section_name: 'Womens Everyday Basics',
        garment_group_name: 'Jersey Basic',
        index_name: 'Ladieswear',
      },
    });
  }
  return items;
}

export const WORLD_ITEMS: readonly WorldItem[] = buildItems();

export interface WorldUser {
  userIdx: number;
  customerId: string;
  vector: Float32Array | null;
  /** Newest first. */
  purchases: Purchase[];
}

const customer = (n: number) => n.toString(16).padStart(64, 'a');

/** Users: 0 known with history, 1 known without history, 2 cold with history. 99 is unknown. */
export const WORLD_USERS: readonly WorldUser[] = [
  {
    userIdx: 0,
    customerId: customer(0),
    vector: Float32Array.from([1, 0.3, 0.2, 0.1]),
    purchases: [
      { item_idx: 5, ts: '2026-01-05T10:00:00.000Z' },
      { item_idx: 1, ts: '2026-01-04T10:00:00.000Z' },
      { item_idx: 0, ts: '2026-01-03T10:00:00.000Z' },
      { item_idx: 10, ts: '2026-01-02T10:00:00.000Z' },
    ],
  },
  { userIdx: 1, customerId: customer(1), vector: Float32Array.from([0.1, 0.1, 1, 0.2]), purchases: [] },
  {
    userIdx: 2,
    customerId: customer(2),
    vector: null,
    purchases: [{ item_idx: 3, ts: '2026-01-01T09:30:00.000Z' }],
  },
];

export const UNKNOWN_USER = 99;
export const UNKNOWN_ITEM = 999;

/** Global trending: an arbitrary but fixed popularity order. */
export const WORLD_TRENDING_GLOBAL = [3, 8, 0, 12, 5, 7, 1, 2, 4, 6, 9, 10, 11, 13, 14];

/** The cold user's customer segment and its (short) trending list: served, then topped up. */
export const WORLD_COLD_SEGMENT = 'age:25-34';
export const WORLD_TRENDING_SEGMENT = [9, 3, 11, 4];

/** Per-group trending: the group's items in the global order, then the rest of the group. */
export function worldGroupTrending(group: string): number[] {
  const members = WORLD_ITEMS.filter((i) => i.metadata.product_group_name === group).map(
    (i) => i.metadata.item_idx,
  );
  return [
    ...WORLD_TRENDING_GLOBAL.filter((id) => members.includes(id)),
    ...members.filter((id) => !WORLD_TRENDING_GLOBAL.includes(id)),
  ];
}

function countersOf(purchases: Purchase[]): ProfileCounters {
  const counters: ProfileCounters = {
    total_purchases: purchases.length,
    first_purchase_at: purchases.at(-1)?.ts ?? null,
    last_purchase_at: purchases[0]?.ts ?? null,
    product_groups: {},
    product_types: {},
  };
  for (const p of purchases) {
    const m = WORLD_ITEMS[p.item_idx]!.metadata;
    counters.product_groups[m.product_group_name] = (counters.product_groups[m.product_group_name] ?? 0) + 1;
    counters.product_types[m.product_type_name] = (counters.product_types[m.product_type_name] ?? 0) + 1;
  }
  return counters;
}

/** Writes the world through the ports and activates its version in both stores. */
export async function loadWorld(featureStore: FeatureStore, vectorIndex: VectorIndex): Promise<void> {
  await vectorIndex.createVersion(WORLD_VERSION, WORLD_DIMENSION);
  await vectorIndex.upsert(
    WORLD_VERSION,
    WORLD_ITEMS.map((i) => ({ id: i.metadata.item_idx, vector: i.vector, payload: i.metadata })),
  );
  await vectorIndex.activateVersion(WORLD_VERSION);

  await featureStore.putItemIds(WORLD_ITEMS.map((i) => [i.metadata.article_id, i.metadata.item_idx]));
  await featureStore.putUserIds(WORLD_USERS.map((u) => [u.customerId, u.userIdx]));
  await featureStore.putVersionInfo({
    version: WORLD_VERSION,
    rank: WORLD_DIMENSION,
    created_at: '2026-01-01T00:00:00.000Z',
    users: WORLD_USERS.length,
    items: WORLD_ITEMS.length,
  });
  await featureStore.putUserVectors(
    WORLD_VERSION,
    WORLD_USERS.filter((u) => u.vector !== null).map((u) => [u.userIdx, u.vector!]),
  );
  await featureStore.putProfiles(
    WORLD_USERS.filter((u) => u.purchases.length > 0).map((u) => ({
      userIdx: u.userIdx,
      recent: u.purchases,
      counters: countersOf(u.purchases),
    })),
  );
  await featureStore.putTrending(WORLD_VERSION, { kind: 'global' }, WORLD_TRENDING_GLOBAL);
  await featureStore.putTrending(
    WORLD_VERSION,
    { kind: 'segment', segment: WORLD_COLD_SEGMENT },
    WORLD_TRENDING_SEGMENT,
  );
  await featureStore.putUserSegments([[2, WORLD_COLD_SEGMENT]]);
  for (const g of GROUPS) {
    await featureStore.putTrending(
      WORLD_VERSION,
      { kind: 'group', productGroup: g.group },
      worldGroupTrending(g.group),
    );
  }
  await featureStore.activateVersion(WORLD_VERSION);
}

// --- oracles ----------------------------------------------------------------------------------

/** Every item passing `eligible`, ranked by inner product with `vector` (ties by id). */
export function rankByInnerProduct(
  vector: ArrayLike<number>,
  eligible: (item: ItemMetadata) => boolean,
): number[] {
  return WORLD_ITEMS.filter((i) => eligible(i.metadata))
    .map((i) => ({ id: i.metadata.item_idx, score: dot(vector, i.vector) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .map((x) => x.id);
}
