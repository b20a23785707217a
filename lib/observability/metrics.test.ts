import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

/** Every name the architecture promises; dashboards and alerts depend on them. */
const PROMISED = [
  'recommendation_requests_total',
  'recommendation_fallback_total',
  'recommendation_diversity_score',
  'similar_items_requests_total',
  'user_profile_requests_total',
  'filter_applied_total',
  'items_excluded_history_total',
  'items_excluded_explicit_total',
  'explain_requests_total',
  'explain_computation_duration_seconds',
  'mmr_rerank_applied_total',
  'mmr_rerank_duration_seconds',
  'purchase_events_accepted_total',
  'purchase_lookup_errors_total',
  'events_processed_total',
  'event_processing_duration_seconds',
  'redis_operation_duration_seconds',
  'qdrant_search_duration_seconds',
  'qdrant_retrieve_duration_seconds',
  'http_requests_total',
  'http_request_duration_seconds',
  'updater_debounce_hits_total',
  'events_dead_lettered_total',
  'consumer_lag',
];

describe('createMetrics', () => {
  it('registers every promised metric plus Node process metrics', async () => {
    const metrics = createMetrics();
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of PROMISED) expect(names).toContain(name);
    expect(names).toContain('process_cpu_user_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
  });

  it('gives each call its own registry, so tests do not share counts', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recommendationRequests.inc({ source: 'personalized', user_type: 'known' });
    const textA = await a.registry.metrics();
    const textB = await b.registry.metrics();
    expect(textA).toContain('recommendation_requests_total{source="personalized",user_type="known"} 1');
    expect(textB).not.toContain('user_type="known"');
  });

  it('applies default labels to every series', async () => {
    const metrics = createMetrics({ defaultMetrics: false, defaultLabels: { service: 'api' } });
    metrics.consumerLag.set({ partition: '0' }, 7);
    expect(await metrics.registry.metrics()).toContain('consumer_lag{partition="0",service="api"} 7');
  });
});
