/**
 * Vector index port: item vectors with their metadata payload, filtered top-k search by inner
 * product, and retrieval by id. Each model version is its own collection; an alias names the one
 * serving reads, switched atomically.
 *
 * Adapters: `embedded` (in-process exact index, default) and `qdrant` (@qdrant/js-client-rest).
 * One conformance suite (conformance/vector-index.ts) runs against both.
 */
import type { FilterField, ItemMetadata } from './types.ts';

export interface ItemPoint {
  id: number;
  vector: Float32Array;
  payload: ItemMetadata;
}

/**
 * Filters are pushed into the search itself, so `k` results come back whenever `k` eligible
 * items exist. Include lists are OR within a field and AND across fields.
 */
export interface SearchFilter {
  include?: Partial<Record<FilterField, string[]>>;
  exclude?: Partial<Record<FilterField, string[]>>;
  excludeIds?: number[];
}

export interface SearchRequest {
  vector: Float32Array;
  k: number;
  filter?: SearchFilter;
  /** Return each hit's vector too (MMR and explanations need them). */
  withVectors?: boolean;
  /**
   * Search this version instead of the active one. Serving pins the version it read from the
   * feature store pointer, so a request never mixes a user vector of one version with item
   * vectors of another while a new version is being switched in.
   */
  version?: string;
}

export interface RetrieveOptions {
  withVectors?: boolean;
  /** Read this version instead of the active one (see `SearchRequest.version`). */
  version?: string;
}

export interface SearchHit {
  id: number;
  /** Inner product of query and item vector. */
  score: number;
  payload: ItemMetadata;
  /**
   * The item vector (with `withVectors`). Read-only: the embedded index hands out views of its
   * snapshot rather than copies, so writing into it would change the index.
   */
  vector?: Float32Array;
}

export interface VectorIndex {
  readonly kind: 'embedded' | 'qdrant';
  start(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;

  /** Creates an empty collection for `version` with payload indexes for filtering. Idempotent. */
  createVersion(version: string, dimension: number): Promise<void>;
  upsert(version: string, points: ItemPoint[]): Promise<void>;
  count(version: string): Promise<number>;
  /** Atomically points the alias at `version`. */
  activateVersion(version: string): Promise<void>;
  activeVersion(): Promise<string | null>;
  listVersions(): Promise<string[]>;
  dropVersion(version: string): Promise<void>;

  /** Searches the active version (or `request.version`). */
  search(request: SearchRequest): Promise<SearchHit[]>;
  /**
   * Points of the active version (or `options.version`) by id, in the order asked; missing ids
   * are left out. `vector` is empty unless `withVectors` is set, and read-only like a hit's.
   */
  retrieve(ids: number[], options?: RetrieveOptions): Promise<ItemPoint[]>;
}
