import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../lib/observability/metrics.ts';
import { initTracing } from '../lib/observability/tracing.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import type { BusMessage } from '../lib/stores/event-bus.ts';
import { MemoryEventBus } from '../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { createApp } from './app.ts';
import { loadWorld } from './testing/world.ts';

describe('request tracing', () => {
  const exporter = new InMemorySpanExporter();
  const tracing = initTracing({ enabled: true, serviceName: 'api-test', exporter, synchronous: true });
  afterAll(() => tracing.shutdown());

  it('puts the event publish under the request span and sends its context in the message headers', async () => {
    const featureStore = new MemoryFeatureStore();
    const vectorIndex = new EmbeddedVectorIndex();
    const eventBus = new MemoryEventBus({ topics: { events: 'user-events', deadLetter: 'dlq' } });
    await loadWorld(featureStore, vectorIndex);
    const app = createApp({
      featureStore,
      vectorIndex,
      eventBus,
      metrics: createMetrics({ defaultMetrics: false }),
    });

    const res = await app.request('/events/purchase', {
      method: 'POST',
      body: JSON.stringify({ user_idx: 0, item_idx: 3 }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);

    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'POST /events/purchase')!;
    const publish = spans.find((s) => s.name === 'events.publish')!;
    expect(request.attributes['http.route']).toBe('/events/purchase');
    expect(request.attributes['http.response.status_code']).toBe(202);
    expect(publish.parentSpanContext?.spanId).toBe(request.spanContext().spanId);

    const received: BusMessage[] = [];
    const consumer = await eventBus.consume({
      groupId: 'trace-check',
      onBatch: async (messages) => {
        received.push(...messages);
      },
    });
    await expect.poll(() => received.length).toBe(1);
    await consumer.stop();
    const traceparent = received[0]!.headers['traceparent'];
    expect(traceparent).toContain(publish.spanContext().traceId);
    expect(traceparent).toContain(publish.spanContext().spanId);
  });
});
