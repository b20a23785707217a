import { describe, expect, it } from 'vitest';
import { PROMISED_METRICS as PROMISED } from '../../test/support/promised-metrics.ts';
import { createMetrics } from './metrics.ts';

describe('createMetrics', () => {
  it('registers every promised metric plus Node process metrics', async () => {
    const metrics = createMetrics();
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of PROMISED) expect(names).toContain(name);
    expect(names).toContain('process_cpu_user_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
  });

  it('reports the feature store cache totals it watches as counters and a gauge', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const counts = { hits: 0, misses: 0, invalidations: 0, flushes: 0, entries: 0 };
    expect(await m.registry.metrics()).not.toMatch(/feature_store_cache_total\{/);
    m.watchFeatureStoreCache(() => counts);
    Object.assign(counts, { hits: 5, misses: 2, entries: 2 });
    let text = await m.registry.metrics();
    expect(text).toContain('feature_store_cache_total{event="hit"} 5');
    expect(text).toContain('feature_store_cache_total{event="miss"} 2');
    expect(text).toContain('feature_store_cache_entries 2');
    Object.assign(counts, { hits: 9, invalidations: 1, flushes: 1, entries: 0 });
    text = await m.registry.metrics();
    expect(text).toContain('feature_store_cache_total{event="hit"} 9');
    expect(text).toContain('feature_store_cache_total{event="invalidation"} 1');
    expect(text).toContain('feature_store_cache_total{event="flush"} 1');
    expect(text).toContain('feature_store_cache_entries 0');
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
