/**
 * Timing decorators for the store ports.
 *
 * `instrumentFeatureStore` and `instrumentVectorIndex` wrap any adapter of a port and record how
 * long each call takes into the shared metrics (`redis_operation_duration_seconds{operation}` for
 * the feature store, `qdrant_search_duration_seconds` / `qdrant_retrieve_duration_seconds` for the
 * vector index), so adapters stay free of metrics code and the embedded adapters are measured the
 * same way as the networked ones. Failed calls are timed too: a slow failure is still slow.
 */
import type { FeatureStore } from '../stores/feature-store.ts';
import type { VectorIndex } from '../stores/vector-index.ts';
import type { Metrics } from './metrics.ts';

export type AsyncMethod = (...args: never[]) => Promise<unknown>;
type Observer = (seconds: number) => void;

/** Data operations of the feature store port (every method but the lifecycle ones). */
export const FEATURE_STORE_OPERATIONS = [
  'ping',
  'putVersionInfo',
  'getVersionInfo',
  'listVersions',
  'activateVersion',
  'activeVersion',
  'dropVersion',
  'putUserVectors',
  'getUserVector',
  'countUserVectors',
  'putTrending',
  'getTrending',
  'putUserIds',
  'putItemIds',
  'userIdxOf',
  'customerIdOf',
  'itemIdxOf',
  'articleIdOf',
  'putProfiles',
  'getRecentPurchases',
  'getProfileCounters',
  'getPurchasedItems',
  'processedEventIds',
  'appliedUserEvents',
  'applyUserUpdate',
] as const satisfies ReadonlyArray<keyof FeatureStore>;

/**
 * A proxy of `target` in which each method that `wrapperFor` returns a wrapper for is replaced by
 * that wrapper; other properties pass through. Wrappers are built once per method, on first use.
 */
export function wrapMethods<T extends object>(
  target: T,
  wrapperFor: (method: string, original: AsyncMethod) => AsyncMethod | undefined,
): T {
  const wrapped = new Map<string, unknown>();
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let fn = wrapped.get(property);
      if (fn === undefined) {
        const original = (value as AsyncMethod).bind(object);
        fn = wrapperFor(property, original) ?? original;
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}

/** Reports the duration of the async methods `observerFor` names; a call costs two clock reads. */
export function timeMethods<T extends object>(
  target: T,
  observerFor: (method: string) => Observer | undefined,
): T {
  return wrapMethods(target, (method, original) => {
    const observe = observerFor(method);
    return observe === undefined ? undefined : timed(original, observe);
  });
}

function timed(method: AsyncMethod, observe: Observer): AsyncMethod {
  return async (...args) => {
    const start = performance.now();
    try {
      return await method(...args);
    } finally {
      observe((performance.now() - start) / 1000);
    }
  };
}

const featureStoreOperations = new Set<string>(FEATURE_STORE_OPERATIONS);

export function instrumentFeatureStore(store: FeatureStore, metrics: Metrics): FeatureStore {
  return timeMethods(store, (method) => {
    if (!featureStoreOperations.has(method)) return undefined;
    const child = metrics.redisOperationDuration.labels({ operation: method });
    return (seconds) => child.observe(seconds);
  });
}

export function instrumentVectorIndex(index: VectorIndex, metrics: Metrics): VectorIndex {
  return timeMethods(index, (method) => {
    if (method === 'search') return (seconds) => metrics.qdrantSearchDuration.observe(seconds);
    if (method === 'retrieve') return (seconds) => metrics.qdrantRetrieveDuration.observe(seconds);
    return undefined;
  });
}
