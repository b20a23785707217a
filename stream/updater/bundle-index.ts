/**
 * Item vectors for a standalone updater on the embedded vector index.
 *
 * The embedded index lives in the memory of the process that filled it, so an updater running
 * on its own (Kafka + Redis, `VECTOR_INDEX=embedded`) has to fill its own: this decorator loads
 * a version's items from its bundle (`MODELS_DIR/<version>`) the first time a call names that
 * version, which is what the updater does with the version it reads from the feature store
 * pointer. A new model version published by the batch is therefore picked up at the next event.
 * Only the newest `keep` versions stay in memory. With Qdrant none of this is needed.
 */
import { join } from 'node:path';
import { DependencyError, describeError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/observability/logger.ts';
import { BundleReader } from '../../lib/stores/bundle.ts';
import type {
  ItemPoint,
  RetrieveOptions,
  SearchHit,
  SearchRequest,
  VectorIndex,
} from '../../lib/stores/vector-index.ts';

export interface BundleBackedIndexOptions {
  modelsDir: string;
  logger: Logger;
  /** Versions kept in memory. @default 2 */
  keep?: number;
}

export class BundleBackedIndex implements VectorIndex {
  readonly kind: VectorIndex['kind'];
  private readonly loading = new Map<string, Promise<void>>();
  private readonly keep: number;

  constructor(
    private readonly index: VectorIndex,
    private readonly options: BundleBackedIndexOptions,
  ) {
    this.kind = index.kind;
    this.keep = options.keep ?? 2;
  }

  start(): Promise<void> {
    return this.index.start();
  }
  close(): Promise<void> {
    return this.index.close();
  }
  ping(): Promise<void> {
    return this.index.ping();
  }
  createVersion(version: string, dimension: number): Promise<void> {
    return this.index.createVersion(version, dimension);
  }
  upsert(version: string, points: ItemPoint[]): Promise<void> {
    return this.index.upsert(version, points);
  }
  count(version: string): Promise<number> {
    return this.index.count(version);
  }
  activateVersion(version: string): Promise<void> {
    return this.index.activateVersion(version);
  }
  activeVersion(): Promise<string | null> {
    return this.index.activeVersion();
  }
  listVersions(): Promise<string[]> {
    return this.index.listVersions();
  }
  dropVersion(version: string): Promise<void> {
    return this.index.dropVersion(version);
  }

  async search(request: SearchRequest): Promise<SearchHit[]> {
    if (request.version) await this.ensureVersion(request.version);
    return this.index.search(request);
  }

  async retrieve(ids: number[], options: RetrieveOptions = {}): Promise<ItemPoint[]> {
    if (options.version) await this.ensureVersion(options.version);
    return this.index.retrieve(ids, options);
  }

  /** Loads `version` from its bundle unless it is already here; one load at a time per version. */
  ensureVersion(version: string): Promise<void> {
    let loading = this.loading.get(version);
    if (!loading) {
      loading = this.load(version).catch((error) => {
        this.loading.delete(version); // let the next call try again
        throw error;
      });
      this.loading.set(version, loading);
    }
    return loading;
  }

  private async load(version: string): Promise<void> {
    if ((await this.index.listVersions()).includes(version)) return;
    const dir = join(this.options.modelsDir, version);
    const started = performance.now();
    let reader: BundleReader;
    try {
      reader = await BundleReader.open(dir);
    } catch (error) {
      throw new DependencyError(
        'model bundle',
        `model ${version} is active but ${dir} cannot be read (MODELS_DIR): ${describeError(error)}`,
        { cause: error },
      );
    }
    await this.index.createVersion(version, reader.info.rank);
    let items = 0;
    for await (const points of reader.items()) {
      await this.index.upsert(version, points);
      items += points.length;
    }
    await this.index.activateVersion(version);
    this.options.logger.info(
      { version, items, ms: Math.round(performance.now() - started) },
      'item vectors loaded from the model bundle',
    );
    const versions = (await this.index.listVersions()).filter((v) => v !== version).sort();
    for (const old of versions.slice(0, Math.max(0, versions.length - (this.keep - 1)))) {
      await this.index.dropVersion(old);
      this.loading.delete(old);
    }
  }
}
