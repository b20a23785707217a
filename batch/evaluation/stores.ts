/**
 * The stores an evaluation asks: a model bundle published into a fresh in-process feature store
 * and embedded vector index by `publishVersion` — the loading path `npm start` and the API use —
 * and the `Recommender` over them built as the API builds it. Tests build an app over the same
 * stores to check that the evaluated lists are the ones `GET /recommend` returns.
 */
import type { Logger } from '../../lib/observability/logger.ts';
import { createMetrics, type Metrics } from '../../lib/observability/metrics.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import { MemoryFeatureStore } from '../../lib/stores/memory/feature-store.ts';
import { publishVersion } from '../../lib/stores/publish.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import type { ServeOptions } from '../../serve/deps.ts';
import { createRecommender, type Recommender } from '../../serve/services/recommendations.ts';

export interface EvaluationStores {
  version: string;
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  metrics: Metrics;
  recommender: Recommender;
  close(): Promise<void>;
}

export async function openEvaluationStores(options: {
  bundleDir: string;
  serve: Pick<
    ServeOptions,
    'oversampling' | 'explainHistory' | 'trendingTtlMs' | 'repurchaseStage' | 'trendingSegments'
  >;
  logger: Logger;
  /** The recommender's clock (ms): the evaluation asks "on the first test day". @default Date.now */
  now?: () => number;
}): Promise<EvaluationStores> {
  const { logger } = options;
  const featureStore = new MemoryFeatureStore();
  // Batched searches, as the API runs them over the in-process feature store.
  const vectorIndex = new EmbeddedVectorIndex({ logger, batchSearches: true });
  await featureStore.start();
  await vectorIndex.start();
  const published = await publishVersion({
    featureStore,
    vectorIndex,
    bundleDir: options.bundleDir,
    keepPrevious: false,
    logger,
  });
  // A registry of its own: the evaluation's requests do not mix with any process's metrics.
  const metrics = createMetrics({ defaultMetrics: false });
  return {
    version: published.version,
    featureStore,
    vectorIndex,
    metrics,
    recommender: createRecommender({
      featureStore,
      vectorIndex,
      metrics,
      serve: options.serve,
      ...(options.now ? { now: options.now } : {}),
    }),
    async close() {
      await vectorIndex.close();
      await featureStore.close();
    },
  };
}
