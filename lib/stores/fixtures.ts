/**
 * Synthetic model bundles for tests and benchmarks: H&M-shaped item metadata, clustered item
 * vectors (one direction per product type, norms that grow with popularity, as ALS factors do),
 * users whose vectors lean towards the types they buy, purchase histories, id maps and trending
 * lists. Deterministic by seed: the same arguments write byte-identical Arrow data.
 */

import type { BundleManifest } from './bundle.ts';
import { BundleWriter, type TrendingLists } from './bundle.ts';
import { HISTORY_LIMIT, type UserProfileSeed } from './feature-store.ts';
import { gaussianVector, type Random, seededRandom } from './random.ts';
import type { ItemMetadata, ProfileCounters, Purchase } from './types.ts';
import type { ItemPoint } from './vector-index.ts';

/** Product groups with their types and a relative share of the catalogue. */
export const PRODUCT_CATALOGUE: ReadonlyArray<{ group: string; share: number; types: readonly string[] }> = [
  {
    group: 'Garment Upper body',
    share: 0.38,
    types: ['T-shirt', 'Sweater', 'Top', 'Blouse', 'Shirt', 'Hoodie', 'Jacket', 'Cardigan', 'Vest top'],
  },
  { group: 'Garment Lower body', share: 0.18, types: ['Trousers', 'Skirt', 'Shorts', 'Leggings/Tights'] },
  { group: 'Garment Full body', share: 0.1, types: ['Dress', 'Jumpsuit/Playsuit'] },
  {
    group: 'Accessories',
    share: 0.1,
    types: ['Bag', 'Hat/beanie', 'Scarf', 'Earring', 'Sunglasses', 'Belt', 'Necklace'],
  },
  { group: 'Underwear', share: 0.08, types: ['Bra', 'Underwear bottom', 'Underwear body'] },
  { group: 'Shoes', share: 0.06, types: ['Sneakers', 'Boots', 'Sandals', 'Ballerinas'] },
  { group: 'Swimwear', share: 0.04, types: ['Swimwear bottom', 'Bikini top', 'Swimsuit'] },
  { group: 'Socks & Tights', share: 0.03, types: ['Socks', 'Underwear Tights'] },
  { group: 'Nightwear', share: 0.03, types: ['Pyjama set', 'Night gown'] },
];

const COLOURS = [
  'Black',
  'White',
  'Dark Blue',
  'Light Pink',
  'Grey',
  'Beige',
  'Red',
  'Dark Green',
  'Light Blue',
  'Yellow',
];
const SECTIONS = [
  'Womens Everyday Basics',
  'Divided Collection',
  'Mens Underwear',
  'Kids Girl',
  'Womens Lingerie',
  'Ladies Denim',
  'Menswear',
  'Womens Tailoring',
];
const INDEXES = ['Ladieswear', 'Menswear', 'Divided', 'Baby/Children', 'Lingeries/Tights', 'Sport'];
const GARMENT_GROUPS: Record<string, string> = {
  'Garment Upper body': 'Jersey Basic',
  'Garment Lower body': 'Trousers',
  'Garment Full body': 'Dresses Ladies',
  Accessories: 'Accessories',
  Underwear: 'Under-, Nightwear',
  Shoes: 'Shoes',
  Swimwear: 'Swimwear',
  'Socks & Tights': 'Socks and Tights',
  Nightwear: 'Under-, Nightwear',
};
const NAME_WORDS = [
  'Tilly',
  'Luna',
  'Jade',
  'Greta',
  'Mika',
  'Nora',
  'Bella',
  'Timmy',
  'Sally',
  'Ozzy',
  'Pluto',
  'Zoe',
];
const NAME_STYLES = [
  'slim',
  'HW',
  'relaxed',
  'oversized',
  'rib',
  'linen',
  'denim',
  'soft',
  'cropped',
  'padded',
];

export interface SyntheticBundleOptions {
  items: number;
  users: number;
  rank: number;
  seed: number;
  /** The models directory; the bundle goes to `<outDir>/<version>/`. */
  outDir: string;
  /** @default 'v20200922-000000' */
  version?: string;
  /** Mean purchases per user (history lengths vary around it). @default 12 */
  meanPurchases?: number;
  /** Length of the trending lists. @default 50 global, 20 per group */
  trendingGlobal?: number;
  trendingPerGroup?: number;
  /** The day histories end on (midnight UTC). @default 2020-09-22, as the H&M data */
  lastDay?: Date;
}

export interface SyntheticBundle {
  dir: string;
  manifest: BundleManifest;
}

interface ItemFacts {
  typeIndex: number;
  group: string;
  type: string;
  popularity: number;
}

/** The date purchases end at: histories fall in the weeks before it, as in the H&M data. */
const H_AND_M_LAST_DAY = Date.UTC(2020, 8, 22);
const DAY_MS = 86_400_000;

export async function syntheticBundle(options: SyntheticBundleOptions): Promise<SyntheticBundle> {
  const { items: itemCount, users: userCount, rank, seed } = options;
  const random = seededRandom(seed);
  const lastDay = options.lastDay
    ? Math.floor(options.lastDay.getTime() / DAY_MS) * DAY_MS
    : H_AND_M_LAST_DAY;
  const types = PRODUCT_CATALOGUE.flatMap((g) =>
    g.types.map((type) => ({ group: g.group, type, share: g.share / g.types.length })),
  );
  // One direction per product group, one per type near it: items of a type form a cluster,
  // types of a group sit close together.
  const groupCentroids = new Map(PRODUCT_CATALOGUE.map((g) => [g.group, gaussianVector(random, rank, 0.35)]));
  const typeCentroids = types.map((t) => {
    const base = groupCentroids.get(t.group)!;
    const offset = gaussianVector(random, rank, 0.2);
    return base.map((x, i) => x + offset[i]!);
  });
  const typeCumulative = cumulative(types.map((t) => t.share));

  const writer = await BundleWriter.create(
    options.outDir,
    { version: options.version ?? 'v20200922-000000', rank, created_at: new Date(lastDay).toISOString() },
    { batchRows: 8192 },
  );
  try {
    // --- items ------------------------------------------------------------------------------
    const facts: ItemFacts[] = new Array(itemCount);
    const byType: number[][] = types.map(() => []);
    const chunk: ItemPoint[] = [];
    let productCode = 108_775;
    let variant = 0;
    for (let id = 0; id < itemCount; id++) {
      const typeIndex = pickWeighted(random, typeCumulative);
      const t = types[typeIndex]!;
      const popularity = Math.exp(random.gaussian() * 0.5);
      const centroid = typeCentroids[typeIndex]!;
      const vector = new Float32Array(rank);
      for (let j = 0; j < rank; j++) vector[j] = (centroid[j]! + random.gaussian() * 0.08) * popularity;
      // Colour variants of one product share the product code, as H&M article ids do.
      if (variant === 0 || random.next() < 0.45) {
        productCode += 1 + random.int(40);
        variant = 1;
      } else {
        variant++;
      }
      const articleId = `0${productCode}${String(variant).padStart(3, '0')}`;
      const payload: ItemMetadata = {
        item_idx: id,
        article_id: articleId,
        prod_name: `${random.pick(NAME_WORDS)} ${random.pick(NAME_STYLES)} ${t.type.toLowerCase()}`,
        product_type_name: t.type,
        product_group_name: t.group,
        colour_group_name: random.pick(COLOURS),
        section_name: random.pick(SECTIONS),
        garment_group_name: GARMENT_GROUPS[t.group] ?? 'Jersey Fancy',
        index_name: random.pick(INDEXES),
      };
      facts[id] = { typeIndex, group: t.group, type: t.type, popularity };
      byType[typeIndex]!.push(id);
      chunk.push({ id, vector, payload });
      if (chunk.length === 4096) {
        await flushItems(writer, chunk);
      }
    }
    await flushItems(writer, chunk);

    // --- users: vectors lean to a few favourite types; histories buy from them ---------------
    const meanPurchases = options.meanPurchases ?? 12;
    const salesByItem = new Float64Array(itemCount);
    const userVectors: Array<[number, Float32Array]> = [];
    const userIds: Array<[string, number]> = [];
    const profiles: UserProfileSeed[] = [];
    const usedTypes = byType.map((ids, i) => (ids.length > 0 ? i : -1)).filter((i) => i >= 0);
    for (let u = 0; u < userCount; u++) {
      const favourites =
        usedTypes.length === 0 ? [] : Array.from({ length: 1 + random.int(3) }, () => random.pick(usedTypes));
      const vector = gaussianVector(random, rank, 0.15);
      for (const f of favourites) {
        const c = typeCentroids[f]!;
        for (let j = 0; j < rank; j++) vector[j]! += c[j]! * (0.6 + random.next());
      }
      const purchases =
        favourites.length === 0
          ? 0
          : Math.max(1, Math.round(meanPurchases * Math.exp(random.gaussian() * 0.7) * 0.8));
      const history: Array<Purchase & { group: string; type: string }> = [];
      for (let p = 0; p < purchases; p++) {
        const candidates = byType[random.pick(favourites)]!;
        // Two draws, keep the more popular: popular items sell more.
        const a = random.pick(candidates);
        const b = random.pick(candidates);
        const item = facts[a]!.popularity >= facts[b]!.popularity ? a : b;
        const ts = new Date(lastDay - random.int(730) * DAY_MS).toISOString();
        history.push({ item_idx: item, ts, group: facts[item]!.group, type: facts[item]!.type });
        salesByItem[item]! += ts >= new Date(lastDay - 7 * DAY_MS).toISOString() ? 3 : 1;
      }
      history.sort((x, y) => (x.ts < y.ts ? 1 : x.ts > y.ts ? -1 : 0));
      userVectors.push([u, vector]);
      userIds.push([hex64(random), u]);
      profiles.push({
        userIdx: u,
        recent: history.slice(0, HISTORY_LIMIT).map(({ item_idx, ts }) => ({ item_idx, ts })),
        counters: countersOf(history),
      });
      if (userVectors.length === 4096) {
        await flushUsers(writer, userVectors, userIds, profiles);
      }
    }
    await flushUsers(writer, userVectors, userIds, profiles);

    writer.setTrending(
      trendingLists(salesByItem, facts, options.trendingGlobal ?? 50, options.trendingPerGroup ?? 20),
    );
    const manifest = await writer.finish({ metrics: { map_at_12: 0, recall_at_12: 0 } });
    return { dir: writer.dir, manifest };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

async function flushItems(writer: BundleWriter, chunk: ItemPoint[]): Promise<void> {
  await writer.appendItems(chunk);
  await writer.appendItemIds(chunk.map((p): [string, number] => [p.payload.article_id, p.id]));
  chunk.length = 0;
}

async function flushUsers(
  writer: BundleWriter,
  vectors: Array<[number, Float32Array]>,
  ids: Array<[string, number]>,
  profiles: UserProfileSeed[],
): Promise<void> {
  await writer.appendUserVectors(vectors);
  await writer.appendUserIds(ids);
  await writer.appendProfiles(profiles);
  vectors.length = 0;
  ids.length = 0;
  profiles.length = 0;
}

function countersOf(history: Array<Purchase & { group: string; type: string }>): ProfileCounters {
  const counters: ProfileCounters = {
    total_purchases: history.length,
    first_purchase_at: history[history.length - 1]?.ts ?? null,
    last_purchase_at: history[0]?.ts ?? null,
    product_groups: {},
    product_types: {},
  };
  for (const p of history) {
    counters.product_groups[p.group] = (counters.product_groups[p.group] ?? 0) + 1;
    counters.product_types[p.type] = (counters.product_types[p.type] ?? 0) + 1;
  }
  return counters;
}

function trendingLists(
  sales: Float64Array,
  facts: ItemFacts[],
  globalLength: number,
  groupLength: number,
): TrendingLists {
  const order = Array.from(sales.keys())
    .filter((i) => sales[i]! > 0)
    .sort((a, b) => sales[b]! - sales[a]! || a - b);
  const groups: Record<string, number[]> = {};
  for (const item of order) {
    const list = groups[facts[item]!.group] ?? [];
    if (list.length < groupLength) list.push(item);
    groups[facts[item]!.group] = list;
  }
  return { global: order.slice(0, globalLength), groups };
}

function cumulative(weights: number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => {
    sum += w;
    out[i] = sum;
  });
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

function pickWeighted(random: Random, cumulativeWeights: Float64Array): number {
  const r = random.next();
  for (let i = 0; i < cumulativeWeights.length; i++) if (r < cumulativeWeights[i]!) return i;
  return cumulativeWeights.length - 1;
}

function hex64(random: Random): string {
  let out = '';
  for (let i = 0; i < 8; i++)
    out += Math.floor(random.next() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return out;
}
