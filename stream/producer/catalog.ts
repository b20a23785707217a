/**
 * Where the simulator's users and items come from: a trained model bundle (`MODELS_DIR/<version>`),
 * so every simulated event names ids the updater and the API know. Items are ranked by
 * popularity: the global trending list first, then by the norm of the item vector (ALS gives
 * frequently bought items larger factors).
 */
import { join } from 'node:path';
import { BundleReader, latestBundle } from '../../lib/stores/bundle.ts';
import { norm } from '../../lib/vectors.ts';
import type { Catalog, CatalogItem } from './simulator.ts';

export interface LoadedCatalog extends Catalog {
  version: string;
  bundleDir: string;
}

export async function loadCatalog(bundleDir: string): Promise<LoadedCatalog> {
  const reader = await BundleReader.open(bundleDir);
  const items: Array<CatalogItem & { weight: number }> = [];
  for await (const points of reader.items()) {
    for (const p of points) {
      items.push({
        item_idx: p.id,
        product_group_name: p.payload.product_group_name,
        weight: norm(p.vector),
      });
    }
  }
  const trending = (await reader.trending()).global;
  const trendRank = new Map(trending.map((item, rank) => [item, rank]));
  items.sort((a, b) => {
    const ra = trendRank.get(a.item_idx);
    const rb = trendRank.get(b.item_idx);
    if (ra !== undefined || rb !== undefined)
      return (ra ?? Number.MAX_SAFE_INTEGER) - (rb ?? Number.MAX_SAFE_INTEGER);
    return b.weight - a.weight;
  });
  const users: number[] = [];
  for await (const pairs of reader.userIds()) for (const [, idx] of pairs) users.push(idx);
  return {
    version: reader.info.version,
    bundleDir,
    users,
    items: items.map(({ item_idx, product_group_name }) => ({ item_idx, product_group_name })),
  };
}

/** The catalog of the newest bundle under `modelsDir`, or of `modelsDir/<version>`. */
export async function loadCatalogFrom(modelsDir: string, version?: string): Promise<LoadedCatalog> {
  const dir = version ? join(modelsDir, version) : await latestBundle(modelsDir);
  if (!dir) {
    throw new Error(
      `no model bundle under ${modelsDir} (MODELS_DIR): run the batch first, or pass --users/--items`,
    );
  }
  return loadCatalog(dir);
}

/** Ids 0..users-1 and 0..items-1 in ten product groups, for runs without a trained model. */
export function syntheticCatalog(users: number, items: number): Catalog {
  return {
    users: Array.from({ length: users }, (_, u) => u),
    items: Array.from({ length: items }, (_, i) => ({ item_idx: i, product_group_name: `group ${i % 10}` })),
  };
}
