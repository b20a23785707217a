/**
 * Items similar to an item: cosine similarity of item vectors.
 *
 * The vector index ranks by inner product, which favours items with long vectors (popular ones)
 * whatever their direction. So the search takes `k` × oversampling candidates with the filters
 * and exclusions pushed in, and they are re-ranked by cosine similarity; `score` is that cosine.
 */
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { cosine } from '../../lib/vectors.ts';
import { type ItemFilterParams, toSearchFilter } from '../pipeline/filters.ts';
import { noModel, notFound } from '../problem.ts';

export interface SimilarItems {
  item_idx: number;
  model_version: string;
  items: Array<{ item_idx: number; score: number; metadata: ItemMetadata }>;
}

export interface SimilarDeps {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  oversampling: number;
}

export async function similarItems(
  deps: SimilarDeps,
  itemIdx: number,
  k: number,
  filters: ItemFilterParams,
): Promise<SimilarItems> {
  const version = await deps.featureStore.activeVersion();
  if (version === null) throw noModel();
  const [query] = await deps.vectorIndex.retrieve([itemIdx], { withVectors: true, version });
  if (query === undefined) throw notFound('Item', `item_idx ${itemIdx} is not in the active model`);
  const hits = await deps.vectorIndex.search({
    vector: query.vector,
    k: k * deps.oversampling,
    filter: toSearchFilter(filters, [itemIdx]),
    withVectors: true,
    version,
  });
  const ranked = hits
    .map((hit) => ({ item_idx: hit.id, score: cosine(query.vector, hit.vector!), metadata: hit.payload }))
    .sort((a, b) => b.score - a.score || a.item_idx - b.item_idx);
  return { item_idx: itemIdx, model_version: version, items: ranked.slice(0, k) };
}
