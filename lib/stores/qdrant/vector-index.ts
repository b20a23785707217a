/**
 * Qdrant vector index (`VECTOR_INDEX=qdrant`, @qdrant/js-client-rest).
 *
 * One collection per model version, `<QDRANT_COLLECTION>_<version>`, with Dot distance and
 * payload indexes on the filter fields (keyword) and `item_idx` (integer). The alias
 * `<QDRANT_COLLECTION>` names the serving version; `activateVersion` moves it with one
 * `updateCollectionAliases` call (delete + create), which Qdrant applies atomically, once the
 * version's HNSW index is built (collection status green, or `indexWaitMs` spent), so the first
 * searches after a switch do not scan unindexed segments.
 *
 * Loads: upserts go in batches with `wait: true` — a batch Qdrant acknowledged is applied, so the
 * publish's final count check means what it says — and `upsertConcurrency` batches are in flight
 * at once to hide the round trips. Every bulk call (collection, index, upsert, count, alias) is
 * retried on retriable failures (network, 5xx, time-outs) for up to `bulkRetryMs`, so a load
 * survives a Qdrant restart; upserts carry their point ids, so a repeated batch changes nothing.
 * Past the window the load fails with the last error and the alias stays where it was.
 *
 * Filters are pushed into the search (`must` / `must_not` / `has_id`), so Qdrant returns k hits
 * whenever k eligible exist. Searches use the HNSW index (`hnswM`, `hnswEfConstruct` at build,
 * `hnswEf` at query time), except that by default (`exactSearch: 'filtered'`) searches filtered
 * on an item field scan, as the embedded index does: on dot-product vectors HNSW under such a
 * filter stays below 0.99 recall@40 at any setting measured (docs/benchmarks.md), a scan is
 * exact; small collections are scanned by Qdrant either way. Every call has a time budget and
 * failures become DependencyError (retriable for network trouble and 5xx) or TimeoutError.
 */
import { QdrantClient, QdrantClientTimeoutError, type Schemas } from '@qdrant/js-client-rest';
import {
  AppError,
  DependencyError,
  describeError,
  isRetriable,
  NotFoundError,
  TimeoutError,
  ValidationError,
} from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { retry, sleep } from '../../retry.ts';
import type { ItemMetadata } from '../types.ts';
import type {
  ItemPoint,
  RetrieveOptions,
  SearchFilter,
  SearchHit,
  SearchRequest,
  VectorIndex,
} from '../vector-index.ts';
import { assertVersionName } from '../version-name.ts';
import { toQdrantFilter } from './filter.ts';

export interface QdrantVectorIndexOptions {
  /** REST endpoint, e.g. `http://localhost:6333`. */
  url: string;
  apiKey?: string;
  /** Alias name; version collections are `<collection>_<version>`. @default 'items' */
  collection?: string;
  /** Budget of one search or retrieve. @default 250 */
  readTimeoutMs?: number;
  /** Budget of one upsert batch, collection or alias change. @default 60000 */
  bulkTimeoutMs?: number;
  /** Points per upsert request. @default 256 */
  upsertBatchSize?: number;
  /** Upsert requests in flight at once during a load. @default 2 */
  upsertConcurrency?: number;
  /** How long bulk calls are retried on retriable failures (a Qdrant restart). @default 30000 */
  bulkRetryMs?: number;
  /** How long `activateVersion` waits for the version's HNSW index. @default 300000 */
  indexWaitMs?: number;
  /**
   * When to scan instead of searching HNSW: `never`, `filtered` (searches that filter on an item
   * field — HNSW under a field filter loses recall — scan; id exclusions alone do not count) or
   * `always` (what the conformance suite uses). `true` is `always`, `false` is `never`.
   * @default 'filtered'
   */
  exactSearch?: ExactSearch | boolean;
  /** HNSW edges per node of new collections (recall vs memory and build time). @default 32 */
  hnswM?: number;
  /** HNSW candidate list size while building new collections. @default 256 */
  hnswEfConstruct?: number;
  /** HNSW candidate list size at search time (recall vs latency). @default 512 */
  hnswEf?: number;
  logger?: Logger;
}

export const EXACT_SEARCH_MODES = ['never', 'filtered', 'always'] as const;
export type ExactSearch = (typeof EXACT_SEARCH_MODES)[number];

export const QDRANT_DEFAULTS = {
  collection: 'items',
  readTimeoutMs: 250,
  bulkTimeoutMs: 60_000,
  upsertBatchSize: 256,
  upsertConcurrency: 2,
  bulkRetryMs: 30_000,
  indexWaitMs: 300_000,
  exactSearch: 'filtered',
  hnswM: 32,
  hnswEfConstruct: 256,
  hnswEf: 512,
} as const;

/** Payload fields with a keyword index (filters) and the integer id field. */
const KEYWORD_INDEXES = ['product_group_name', 'product_type_name'] as const;

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  const data = (error as { data?: { status?: { error?: string } } }).data?.status?.error;
  return `${error.message}${data ? `: ${data}` : ''}${cause}`;
}

function toVector(raw: unknown): Float32Array {
  if (Array.isArray(raw)) return Float32Array.from(raw as number[]);
  return new Float32Array(0);
}

function toPayload(raw: unknown): ItemMetadata {
  return (raw ?? {}) as ItemMetadata;
}

export class QdrantVectorIndex implements VectorIndex {
  readonly kind = 'qdrant' as const;
  readonly alias: string;
  private readonly readClient: QdrantClient;
  private readonly bulkClient: QdrantClient;
  private readonly readMs: number;
  private readonly bulkMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly retryMs: number;
  private readonly indexWaitMs: number;
  private readonly exact: ExactSearch;
  private readonly hnswM: number;
  private readonly hnswEfConstruct: number;
  private readonly hnswEf: number;
  private readonly logger: Logger | undefined;
  /** Dimension per version, learned on create or first use. */
  private readonly dimensions = new Map<string, number>();
  private closed = false;

  constructor(options: QdrantVectorIndexOptions) {
    const d = QDRANT_DEFAULTS;
    this.alias = options.collection ?? d.collection;
    if (!/^[A-Za-z0-9_-]+$/.test(this.alias)) {
      throw new ValidationError(
        `QDRANT_COLLECTION must be letters, digits, '_' or '-', got ${JSON.stringify(this.alias)}`,
      );
    }
    this.readMs = options.readTimeoutMs ?? d.readTimeoutMs;
    this.bulkMs = options.bulkTimeoutMs ?? d.bulkTimeoutMs;
    this.batchSize = positive('upsertBatchSize', options.upsertBatchSize ?? d.upsertBatchSize);
    this.concurrency = positive('upsertConcurrency', options.upsertConcurrency ?? d.upsertConcurrency);
    this.retryMs = options.bulkRetryMs ?? d.bulkRetryMs;
    this.indexWaitMs = options.indexWaitMs ?? d.indexWaitMs;
    const exact = options.exactSearch ?? d.exactSearch;
    this.exact = exact === true ? 'always' : exact === false ? 'never' : exact;
    this.hnswM = positive('hnswM', options.hnswM ?? d.hnswM);
    this.hnswEfConstruct = positive('hnswEfConstruct', options.hnswEfConstruct ?? d.hnswEfConstruct);
    this.hnswEf = positive('hnswEf', options.hnswEf ?? d.hnswEf);
    this.logger = options.logger;
    const common = { url: options.url, apiKey: options.apiKey, checkCompatibility: false };
    // Reads ask for uncompressed answers: a search answer with vectors is tens of KB of JSON, and
    // gzip on both ends cost more CPU per request than the bytes cost on a data-centre link.
    this.readClient = new QdrantClient({
      ...common,
      timeout: this.readMs,
      headers: { 'accept-encoding': 'identity' },
    });
    this.bulkClient = new QdrantClient({ ...common, timeout: this.bulkMs });
  }

  /** The collection that holds `version`. */
  collectionOf(version: string): string {
    return `${this.alias}_${assertVersionName(version)}`;
  }

  async start(): Promise<void> {
    this.closed = false;
    await this.call('start', this.bulkMs, () => this.bulkClient.versionInfo());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async ping(): Promise<void> {
    await this.call('ping', this.readMs, () => this.readClient.versionInfo());
  }

  async createVersion(version: string, dimension: number): Promise<void> {
    const name = this.collectionOf(version);
    if (!Number.isInteger(dimension) || dimension < 1) {
      throw new ValidationError(`vector dimension must be a positive integer, got ${dimension}`);
    }
    const existing = await this.dimensionOf(version);
    if (existing !== null) {
      if (existing !== dimension) {
        throw new ValidationError(
          `model version ${version} already exists with dimension ${existing}, not ${dimension}`,
        );
      }
      return;
    }
    await this.bulk('createVersion', async () => {
      try {
        await this.bulkClient.createCollection(name, {
          vectors: { size: dimension, distance: 'Dot' },
          hnsw_config: { m: this.hnswM, ef_construct: this.hnswEfConstruct },
        });
      } catch (error) {
        // Created meanwhile by someone else, or by an attempt whose answer was lost: fine when
        // the dimension matches (checked below).
        if (statusOf(error) !== 409) throw error;
      }
      // Every filtered field is indexed before the first point arrives, so HNSW is built with
      // the payload-aware links that filtered searches use. Creating an index again is a no-op.
      for (const field of KEYWORD_INDEXES) {
        await this.bulkClient.createPayloadIndex(name, {
          field_name: field,
          field_schema: 'keyword',
          wait: true,
        });
      }
      await this.bulkClient.createPayloadIndex(name, {
        field_name: 'item_idx',
        field_schema: 'integer',
        wait: true,
      });
    });
    this.dimensions.delete(version);
    const actual = await this.dimensionOf(version);
    if (actual !== dimension) {
      throw new ValidationError(`model version ${version} exists with dimension ${actual}, not ${dimension}`);
    }
  }

  async upsert(version: string, points: ItemPoint[]): Promise<void> {
    const name = this.collectionOf(version);
    const dimension = await this.dimensionOf(version);
    if (dimension === null)
      throw new NotFoundError(`model version ${version} does not exist in the vector index`);
    for (const p of points) {
      if (!Number.isInteger(p.id) || p.id < 0)
        throw new ValidationError(`item id must be a non-negative integer, got ${p.id}`);
      if (p.vector.length !== dimension) {
        throw new ValidationError(
          `item ${p.id} has a vector of length ${p.vector.length}; the collection has dimension ${dimension}`,
        );
      }
    }
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < points.length && !failed) {
        const start = next;
        next += this.batchSize;
        const batch = points.slice(start, start + this.batchSize).map((p) => ({
          id: p.id,
          vector: Array.from(p.vector),
          payload: { ...p.payload } as Record<string, unknown>,
        }));
        try {
          await this.bulk('upsert', () => this.bulkClient.upsert(name, { wait: true, points: batch }));
        } catch (error) {
          // The other workers stop after their batch in flight: the load has failed.
          failed = true;
          throw error;
        }
      }
    };
    const workers = Math.min(this.concurrency, Math.ceil(points.length / this.batchSize));
    const results = await Promise.allSettled(Array.from({ length: workers }, worker));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
  }

  async count(version: string): Promise<number> {
    try {
      const result = await this.bulk('count', () =>
        this.bulkClient.count(this.collectionOf(version), { exact: true }),
      );
      return result.count;
    } catch (error) {
      if (error instanceof NotFoundError) return 0;
      throw error;
    }
  }

  async activateVersion(version: string): Promise<void> {
    const name = this.collectionOf(version);
    if ((await this.dimensionOf(version)) === null) {
      throw new NotFoundError(`model version ${version} does not exist in the vector index`);
    }
    await this.waitIndexed(name);
    let current: string | null = null;
    await this.bulk('activateVersion', async () => {
      // Read again on each attempt: a lost answer may mean the switch was already applied.
      current = await this.activeVersion();
      const actions: Schemas['AliasOperations'][] = [];
      if (current !== null) actions.push({ delete_alias: { alias_name: this.alias } });
      actions.push({ create_alias: { collection_name: name, alias_name: this.alias } });
      await this.bulkClient.updateCollectionAliases({ actions });
    });
    this.logger?.info({ version, collection: name, previous: current }, 'qdrant alias switched');
  }

  /**
   * Waits until Qdrant has indexed the collection (status green), logging progress, for up to
   * `indexWaitMs`; past that the switch goes ahead (searches are right either way, only slower
   * on the segments not indexed yet) with a warning.
   */
  private async waitIndexed(name: string): Promise<void> {
    const started = Date.now();
    let logged = started;
    let nudged = false;
    for (;;) {
      const info = await this.bulk('getCollection', () => this.bulkClient.getCollection(name));
      if (info.status === 'green') return;
      if (info.status === 'red') {
        // An optimization failed; the data is there and searchable, the index may be partial.
        this.logger?.warn(
          { collection: name },
          'qdrant reports the new version red (an optimization failed)',
        );
        return;
      }
      if (info.status === 'grey' && !nudged) {
        // Optimizations pending until the next update (e.g. after a restart): start them now.
        await this.bulk('updateCollection', () =>
          this.bulkClient.updateCollection(name, { optimizers_config: {} }),
        );
        nudged = true;
      }
      const waited = Date.now() - started;
      const progress = {
        collection: name,
        status: info.status,
        indexed: info.indexed_vectors_count,
        points: info.points_count,
      };
      if (waited >= this.indexWaitMs) {
        this.logger?.warn({ ...progress, waitedMs: waited }, 'qdrant index not finished; switching anyway');
        return;
      }
      if (Date.now() - logged >= 5000) {
        this.logger?.info({ ...progress, waitedMs: waited }, 'waiting for qdrant to index the new version');
        logged = Date.now();
      }
      await sleep(250);
    }
  }

  async activeVersion(): Promise<string | null> {
    const { aliases } = await this.call('activeVersion', this.readMs, () => this.readClient.getAliases());
    const alias = aliases.find((a) => a.alias_name === this.alias);
    if (!alias) return null;
    const prefix = `${this.alias}_`;
    return alias.collection_name.startsWith(prefix) ? alias.collection_name.slice(prefix.length) : null;
  }

  async listVersions(): Promise<string[]> {
    const { collections } = await this.call('listVersions', this.bulkMs, () =>
      this.bulkClient.getCollections(),
    );
    const prefix = `${this.alias}_`;
    return collections
      .map((c) => c.name)
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length))
      .sort();
  }

  async dropVersion(version: string): Promise<void> {
    const name = this.collectionOf(version);
    if ((await this.activeVersion()) === version) {
      throw new ValidationError(`model version ${version} is active; activate another before dropping it`);
    }
    try {
      await this.bulk('dropVersion', () => this.bulkClient.deleteCollection(name));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    this.dimensions.delete(version);
  }

  async search(request: SearchRequest): Promise<SearchHit[]> {
    if (!Number.isInteger(request.k) || request.k < 0) {
      throw new ValidationError(`k must be a non-negative integer, got ${request.k}`);
    }
    const name = await this.readTarget(request.version);
    const dimension = request.version ? await this.dimensionOf(request.version, 'read') : null;
    if (dimension !== null && request.vector.length !== dimension) {
      throw new ValidationError(
        `query vector has length ${request.vector.length}; version ${request.version} has dimension ${dimension}`,
      );
    }
    if (request.k === 0) return [];
    const filter = toQdrantFilter(request.filter);
    const response = await this.read('search', request.version, async () => {
      try {
        return await this.readClient.query(name, {
          query: Array.from(request.vector),
          limit: request.k,
          filter,
          with_payload: true,
          with_vector: request.withVectors ?? false,
          params: this.scans(request.filter)
            ? { exact: true }
            : { hnsw_ef: Math.max(this.hnswEf, request.k) },
        });
      } catch (error) {
        // Qdrant answers a wrong query dimension with 400; report it as the caller's mistake.
        if (statusOf(error) === 400 && /dimension/i.test(messageOf(error))) {
          throw new ValidationError(
            `query vector has length ${request.vector.length}, which the index does not accept`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    });
    return response.points.map((p) => {
      const hit: SearchHit = { id: Number(p.id), score: p.score, payload: toPayload(p.payload) };
      if (request.withVectors) hit.vector = toVector(p.vector);
      return hit;
    });
  }

  async retrieve(ids: number[], options: RetrieveOptions = {}): Promise<ItemPoint[]> {
    if (ids.length === 0) return [];
    const name = await this.readTarget(options.version);
    const records = await this.read('retrieve', options.version, () =>
      this.readClient.retrieve(name, {
        ids: [...new Set(ids)],
        with_payload: true,
        with_vector: options.withVectors ?? false,
      }),
    );
    const byId = new Map(records.map((r) => [Number(r.id), r]));
    const out: ItemPoint[] = [];
    for (const id of ids) {
      const record = byId.get(id);
      if (!record) continue;
      out.push({
        id,
        vector: options.withVectors ? toVector(record.vector) : new Float32Array(0),
        payload: toPayload(record.payload),
      });
    }
    return out;
  }

  // --- internals ------------------------------------------------------------------------------

  /** Whether a search scans (exact) rather than walking HNSW. */
  private scans(filter: SearchFilter | undefined): boolean {
    if (this.exact !== 'filtered') return this.exact === 'always';
    const lists = [...Object.values(filter?.include ?? {}), ...Object.values(filter?.exclude ?? {})];
    return lists.some((values) => values !== undefined && values.length > 0);
  }

  /** The collection a read goes to: the pinned version's, or the alias. */
  private async readTarget(version: string | undefined): Promise<string> {
    if (this.closed) throw new DependencyError('qdrant', 'the index is closed');
    return version === undefined ? this.alias : this.collectionOf(version);
  }

  /** A read where "not found" means no active version (alias) or an unknown pinned version. */
  private async read<T>(operation: string, version: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.call(operation, this.readMs, fn);
    } catch (error) {
      if (error instanceof NotFoundError && version === undefined) {
        throw new DependencyError(
          'qdrant',
          `no active model version yet (alias ${this.alias} does not exist)`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /**
   * Dimension of a version's collection, or null when it does not exist. On the bulk path the
   * look-up is retried like every bulk call; on the request path (a pinned version's first
   * search) it is one attempt within the read budget.
   */
  private async dimensionOf(version: string, path: 'bulk' | 'read' = 'bulk'): Promise<number | null> {
    const cached = this.dimensions.get(version);
    if (cached !== undefined) return cached;
    const name = this.collectionOf(version);
    try {
      const info =
        path === 'bulk'
          ? await this.bulk('getCollection', () => this.bulkClient.getCollection(name))
          : await this.call('getCollection', this.readMs, () => this.readClient.getCollection(name));
      const vectors = info.config.params.vectors as { size?: number } | undefined;
      const size = typeof vectors?.size === 'number' ? vectors.size : null;
      if (size !== null) this.dimensions.set(version, size);
      return size;
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  /** A bulk call: the bulk budget per attempt, retried on retriable failures for `bulkRetryMs`. */
  private async bulk<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.retryMs;
    return retry(() => this.call(operation, this.bulkMs, fn), {
      attempts: Number.POSITIVE_INFINITY,
      initialDelayMs: 200,
      maxDelayMs: 2000,
      shouldRetry: (error) => !this.closed && isRetriable(error) && Date.now() < deadline,
      onRetry: (error, attempt, delayMs) =>
        this.logger?.warn(
          { operation, attempt: attempt + 1, delayMs, err: describeError(error) },
          'qdrant call failed; retrying',
        ),
    });
  }

  private async call<T>(operation: string, budgetMs: number, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new DependencyError('qdrant', 'the index is closed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError('qdrant', budgetMs, { details: { operation } })),
        budgetMs + 50,
      );
    });
    const work = fn();
    work.catch(() => undefined);
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      throw translateQdrantError(error, operation, budgetMs);
    } finally {
      clearTimeout(timer);
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Maps client failures to the project's errors. */
export function translateQdrantError(error: unknown, operation: string, budgetMs: number): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof QdrantClientTimeoutError || (error instanceof Error && error.name === 'AbortError')) {
    return new TimeoutError('qdrant', budgetMs, { cause: error, details: { operation } });
  }
  const status = statusOf(error);
  const message = `${operation}: ${messageOf(error)}`;
  if (status === 404) return new NotFoundError(message, { cause: error });
  if (status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 408) {
    return new DependencyError('qdrant', message, { cause: error, retriable: false, details: { status } });
  }
  return new DependencyError('qdrant', message, { cause: error, details: { operation, status } });
}
