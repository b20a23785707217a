/**
 * The store layer's public face: the ports, their types, and factories that pick the adapter
 * named by the configuration (`FEATURE_STORE`, `VECTOR_INDEX`). Apps import from here and never
 * from an adapter folder, so switching adapters is a configuration change.
 */
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { EmbeddedVectorIndex } from './embedded/vector-index.ts';
import type { FeatureStore } from './feature-store.ts';
import { MemoryFeatureStore } from './memory/feature-store.ts';
import { QdrantVectorIndex } from './qdrant/vector-index.ts';
import { RedisFeatureStore } from './redis/feature-store.ts';
import type { VectorIndex } from './vector-index.ts';

export { BundleReader, BundleWriter, latestBundle, listBundles, type TrendingLists } from './bundle.ts';
export { createEventBus, type EventBusFactoryOptions } from './bus-factory.ts';
export type { BatchContext, BusMessage, ConsumeOptions, Consumer, EventBus } from './event-bus.ts';
export type { FeatureStore, UserProfileSeed, UserUpdate } from './feature-store.ts';
export { HISTORY_LIMIT, PROCESSED_EVENT_TTL_MS } from './feature-store.ts';
export { type PublishOptions, type PublishProgress, type PublishResult, publishVersion } from './publish.ts';
export type {
  FilterField,
  ItemMetadata,
  ModelVersionInfo,
  ProfileCounters,
  Purchase,
  TrendingScope,
} from './types.ts';
export type {
  ItemPoint,
  RetrieveOptions,
  SearchFilter,
  SearchHit,
  SearchRequest,
  VectorIndex,
} from './vector-index.ts';
export { assertVersionName, versionNameAt } from './version-name.ts';

/** The feature store adapter named by `FEATURE_STORE` (not started yet: call `start()`). */
export function createFeatureStore(
  config: Config,
  logger: Logger,
  options: { clientCache?: boolean } = {},
): FeatureStore {
  const kind = config.adapters.featureStore;
  switch (kind) {
    case 'memory':
      return new MemoryFeatureStore();
    case 'redis':
      return new RedisFeatureStore({
        url: config.redis.url,
        clusterNodes: config.redis.clusterNodes,
        keyPrefix: config.redis.keyPrefix,
        readTimeoutMs: config.api.storeTimeoutMs,
        bulkTimeoutMs: config.stores.bulkTimeoutMs,
        clientCacheEntries: options.clientCache ? config.redis.clientCacheEntries : 0,
        logger: logger.child({ component: 'feature-store' }),
      });
    default:
      throw new ConfigError('FEATURE_STORE', `adapter ${JSON.stringify(kind)} is not available`);
  }
}

/** The vector index adapter named by `VECTOR_INDEX` (not started yet: call `start()`). */
export function createVectorIndex(config: Config, logger: Logger): VectorIndex {
  const kind = config.adapters.vectorIndex;
  switch (kind) {
    case 'embedded':
      return new EmbeddedVectorIndex({
        logger: logger.child({ component: 'vector-index' }),
        batchSearches: config.adapters.batchSearches,
      });
    case 'qdrant':
      return new QdrantVectorIndex({
        ...config.qdrant,
        readTimeoutMs: config.api.storeTimeoutMs,
        bulkTimeoutMs: config.stores.bulkTimeoutMs,
        logger: logger.child({ component: 'vector-index' }),
      });
    default:
      throw new ConfigError('VECTOR_INDEX', `adapter ${JSON.stringify(kind)} is not available`);
  }
}
