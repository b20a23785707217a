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
