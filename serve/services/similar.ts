/**
 * Items similar to an item: cosine similarity of item vectors.
 *
 * The vector index ranks by inner product, which favours items with long vectors (popular ones)
 * whatever their direction. So the search takes `k` × oversampling candidates with the filters
 * and exclusions pushed in, and they are re-ranked by cosine similarity; `score` is that cosine.
 * Only the version pointer comes from the feature store: while it is down, the last version read
 * is searched, so similar items keep being served in full.
 */
import { DependencyError } from '../../lib/errors.ts';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { cosine } from '../../lib/vectors.ts';
import { type ItemFilterParams, toSearchFilter } from '../pipeline/filters.ts';
import { noModel, notFound } from '../problem.ts';
import type { ActiveVersion } from './active-version.ts';

export interface SimilarItems {
  item_idx: number;
  model_version: string;
  items: Array<{ item_idx: number; score: number; metadata: ItemMetadata }>;
}

export interface SimilarDeps {
  /** The version pointer; while the feature store fails, the last version read is used. */
  versions: ActiveVersion;
  vectorIndex: VectorIndex;
  oversampling: number;
}

export async function similarItems(
  deps: SimilarDeps,
  itemIdx: number,
  k: number,
  filters: ItemFilterParams,
): Promise<SimilarItems> {
  let version: string | null;
  try {
    version = await deps.versions.read();
  } catch (error) {
    // The item vectors are in the vector index: the feature store is not needed beyond the pointer.
    if (!(error instanceof DependencyError) || deps.versions.known === null) throw error;
    version = deps.versions.known;
  }
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
