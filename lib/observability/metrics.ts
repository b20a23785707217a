/**
 * The Prometheus metrics of the project, all in one registry factory.
 *
 * `createMetrics()` builds a fresh registry with every metric the API and the online updater
 * expose, and returns typed handles to them, so each process (and each test) owns its registry
 * and nothing leaks through prom-client's global one. Names are part of the contract (dashboards
 * and alerts use them); label values are always bounded sets (route patterns, enum-like reasons,
 * partitions) and never user or item ids.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds for fast in-process work and single store round trips. */
export const FAST_LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;

/** Latency buckets in seconds for whole HTTP requests and event processing. */
export const REQUEST_LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

/** Intra-list diversity is a mean of (1 - cosine), so it lies in [0, 2]; most lists sit below 1. */
export const DIVERSITY_BUCKETS = [
  0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2,
] as const;

export interface MetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop lag, GC). @default true */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. `{ service: 'api' }`. @default {} */
  defaultLabels?: Record<string, string>;
}

/** Running totals of a client-side cache (see RedisFeatureStore.clientCacheStats). */
export interface CacheCounts {
  hits: number;
  misses: number;
  invalidations: number;
  flushes: number;
  entries: number;
}

const CACHE_EVENTS = [
  ['hit', 'hits'],
  ['miss', 'misses'],
  ['invalidation', 'invalidations'],
  ['flush', 'flushes'],
] as const;

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  // The feature store's cache keeps its own totals; the metrics read them when scraped.
  let cacheSource: (() => CacheCounts | null) | null = null;
  const cacheReported = { hits: 0, misses: 0, invalidations: 0, flushes: 0 };
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,

    // --- HTTP ---------------------------------------------------------------------------------
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route pattern, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route pattern, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [...REQUEST_LATENCY_BUCKETS],
      registers,
    }),

    // --- recommendations ----------------------------------------------------------------------
    recommendationRequests: new Counter({
      name: 'recommendation_requests_total',
      help: 'Recommendation responses by source (personalized | trending) and user type (known | cold).',
      labelNames: ['source', 'user_type'] as const,
      registers,
    }),
    recommendationFallback: new Counter({
      name: 'recommendation_fallback_total',
      help: 'Recommendations answered from trending because personalization failed, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    recommendationDiversity: new Histogram({
      name: 'recommendation_diversity_score',
      help: 'Intra-list diversity of returned recommendations: mean pairwise (1 - cosine similarity).',
      buckets: [...DIVERSITY_BUCKETS],
      registers,
    }),
    similarItemsRequests: new Counter({
      name: 'similar_items_requests_total',
      help: 'Similar-item requests by outcome (ok | not_found | invalid | error).',
      labelNames: ['status'] as const,
      registers,
    }),
    userProfileRequests: new Counter({
      name: 'user_profile_requests_total',
      help: 'User profile requests.',
      registers,
    }),
    filterApplied: new Counter({
      name: 'filter_applied_total',
      help: 'Requests that used a filter, by filter type.',
      labelNames: ['type'] as const,
      registers,
    }),
    itemsExcludedHistory: new Counter({
      name: 'items_excluded_history_total',
      help: 'Items excluded from recommendations because the user already bought them.',
      registers,
    }),
    itemsExcludedExplicit: new Counter({
      name: 'items_excluded_explicit_total',
      help: 'Items excluded because the request listed them in exclude_ids.',
      registers,
    }),
    explainRequests: new Counter({
      name: 'explain_requests_total',
      help: 'Recommendation requests that asked for explanations.',
      registers,
    }),
    explainDuration: new Histogram({
      name: 'explain_computation_duration_seconds',
      help: 'Time spent computing explanations for one response.',
      buckets: [...FAST_LATENCY_BUCKETS],
      registers,
    }),
    mmrApplied: new Counter({
      name: 'mmr_rerank_applied_total',
      help: 'Responses re-ranked with maximal marginal relevance (diversity_lambda < 1).',
      registers,
    }),
    mmrDuration: new Histogram({
      name: 'mmr_rerank_duration_seconds',
      help: 'Time spent in the MMR re-ranking of one response.',
      buckets: [...FAST_LATENCY_BUCKETS],
      registers,
    }),

    // --- events -------------------------------------------------------------------------------
    purchaseEventsAccepted: new Counter({
      name: 'purchase_events_accepted_total',
      help: 'Purchase events accepted by the API and acknowledged by the event bus.',
      registers,
    }),
    idsAssigned: new Counter({
      name: 'ids_assigned_total',
      help: 'Customers (kind=user) and articles (kind=item) numbered live because an accepted event named them first.',
      labelNames: ['kind'] as const,
      registers,
    }),
    idAssignmentsLimited: new Counter({
      name: 'id_assignments_limited_total',
      help: 'Event requests answered 429 because they would number more new ids than NEW_IDS_PER_MINUTE allows, by scope (client | total).',
      labelNames: ['scope'] as const,
      registers,
    }),
    purchaseLookupErrors: new Counter({
      name: 'purchase_lookup_errors_total',
      help: 'Posted events rejected because a referenced id is unknown, by type (user | item).',
      labelNames: ['type'] as const,
      registers,
    }),
    eventsProcessed: new Counter({
      name: 'events_processed_total',
      help: 'Events handled by the online updater, by event type and outcome.',
      labelNames: ['event_type', 'outcome'] as const,
      registers,
    }),
    eventsWithoutItemVector: new Counter({
      name: 'events_without_item_vector_total',
      help: 'Events the online updater recorded without moving the user vector: the article is newer than the model (no item vector yet).',
      registers,
    }),
    eventProcessingDuration: new Histogram({
      name: 'event_processing_duration_seconds',
      help: 'Time the online updater spends applying one batch of events.',
      buckets: [...REQUEST_LATENCY_BUCKETS],
      registers,
    }),
    updaterDebounceHits: new Counter({
      name: 'updater_debounce_hits_total',
      help: 'Events folded into a pending user update by the updater debounce.',
      registers,
    }),
    eventsDeadLettered: new Counter({
      name: 'events_dead_lettered_total',
      help: 'Events sent to the dead-letter topic, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    consumerLag: new Gauge({
      name: 'consumer_lag',
      help: 'Messages between the committed offset and the end of the partition.',
      labelNames: ['partition'] as const,
      registers,
    }),

    // --- stores -------------------------------------------------------------------------------
    redisOperationDuration: new Histogram({
      name: 'redis_operation_duration_seconds',
      help: 'Feature store call duration by operation (the port method name).',
      labelNames: ['operation'] as const,
      buckets: [...FAST_LATENCY_BUCKETS],
      registers,
    }),
    featureStoreCache: new Counter({
      name: 'feature_store_cache_total',
      help: "The API's client-side cache of Redis reads, by event: hit (answered in process), miss (read from Redis), invalidation (a key Redis said changed), flush (emptied, e.g. on a reconnect).",
      labelNames: ['event'] as const,
      registers,
      collect() {
        const counts = cacheSource?.();
        if (!counts) return;
        for (const [event, field] of CACHE_EVENTS) {
          const delta = counts[field] - cacheReported[field];
          if (delta > 0) this.inc({ event }, delta);
          cacheReported[field] = counts[field];
        }
      },
    }),
    featureStoreCacheEntries: new Gauge({
      name: 'feature_store_cache_entries',
      help: "Keys the API's client-side cache of Redis reads holds.",
      registers,
      collect() {
        this.set(cacheSource?.()?.entries ?? 0);
      },
    }),
    /** Reports a feature store cache's totals through the two metrics above. */
    watchFeatureStoreCache(source: () => CacheCounts | null): void {
      cacheSource = source;
    },
    qdrantSearchDuration: new Histogram({
      name: 'qdrant_search_duration_seconds',
      help: 'Vector index search duration.',
      buckets: [...FAST_LATENCY_BUCKETS],
      registers,
    }),
    qdrantRetrieveDuration: new Histogram({
      name: 'qdrant_retrieve_duration_seconds',
      help: 'Vector index retrieve-by-id duration.',
      buckets: [...FAST_LATENCY_BUCKETS],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
