/**
 * Trending lists with their item metadata, cached per model version and scope.
 *
 * A trending list is a list of item ids in the feature store; serving it needs each item's
 * metadata from the vector index. Both change only when a batch (or a trending refresh) writes
 * them, so the resolved list is kept for `ttlMs` and shared by all requests. When a refresh fails
 * the last good copy is served instead, which is what keeps the trending fallback working while
 * the vector index is down. Entries of other model versions are dropped when a new version is
 * first seen.
 */

import type { Logger } from '../../lib/observability/logger.ts';
import { trendingScopeKey } from '../../lib/stores/common.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata, TrendingScope } from '../../lib/stores/types.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';

interface Entry {
  items: readonly ItemMetadata[];
  loadedAt: number;
  refreshing: Promise<readonly ItemMetadata[]> | undefined;
}

export interface TrendingCacheOptions {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  ttlMs: number;
  logger?: Logger;
  /** Clock in ms, replaceable in tests. @default Date.now */
  now?: () => number;
}

/** Pause before retrying a failed refresh while a stale copy is served. */
const RETRY_AFTER_FAILURE_MS = 1000;

export const GLOBAL_SCOPE: TrendingScope = { kind: 'global' };

export class TrendingCache {
  private readonly entries = new Map<string, Entry>();
  private version: string | null = null;
  private readonly now: () => number;

  constructor(private readonly options: TrendingCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Items of the trending list, in rank order, for `version` and `scope`. */
  async get(version: string, scope: TrendingScope): Promise<readonly ItemMetadata[]> {
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    const key = trendingScopeKey(scope);
    const entry = this.entries.get(key);
    if (entry === undefined) {
      // First use: everyone waits for the one load.
      const loading = this.load(version, scope).then(
        (items) => {
          if (this.version === version)
            this.entries.set(key, { items, loadedAt: this.now(), refreshing: undefined });
          return items;
        },
        (error: unknown) => {
          this.entries.delete(key);
          throw error;
        },
      );
      this.entries.set(key, { items: [], loadedAt: Number.NaN, refreshing: loading });
      return loading;
    }
    if (Number.isNaN(entry.loadedAt)) return entry.refreshing!;
    if (this.now() - entry.loadedAt >= this.options.ttlMs && entry.refreshing === undefined) {
      // Stale: answer with the copy in hand and refresh in the background.
      entry.refreshing = this.load(version, scope).then(
        (items) => {
          entry.items = items;
          entry.loadedAt = this.now();
          return items;
        },
        (error: unknown) => {
          // Keep the copy; try again after a short pause rather than on every request.
          entry.loadedAt = this.now() - this.options.ttlMs + RETRY_AFTER_FAILURE_MS;
          this.options.logger?.warn(
            { err: error, scope: key },
            'trending refresh failed; serving the last copy',
          );
          return entry.items;
        },
      );
      entry.refreshing.finally(() => {
        entry.refreshing = undefined;
      });
    }
    return entry.items;
  }

  private async load(version: string, scope: TrendingScope): Promise<readonly ItemMetadata[]> {
    const ids = await this.options.featureStore.getTrending(version, scope);
    if (ids.length === 0) return [];
    const points = await this.options.vectorIndex.retrieve(ids, { version });
    return points.map((p) => p.payload);
  }
}
