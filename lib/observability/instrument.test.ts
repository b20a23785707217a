import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { FeatureStore } from '../stores/feature-store.ts';
import type { VectorIndex } from '../stores/vector-index.ts';
import { instrumentFeatureStore, instrumentVectorIndex, wrapMethods } from './instrument.ts';
import { createMetrics } from './metrics.ts';
import { initTracing, SpanStatusCode, withSpan } from './tracing.ts';

async function sampleCount(metrics: ReturnType<typeof createMetrics>, name: string, labels = '') {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}_count${labels}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('store instrumentation', () => {
  it('times feature store operations by method name, failures included, and passes results through', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const fake = {
      kind: 'memory',
      async start() {},
      async getUserVector(_version: string, userIdx: number) {
        return userIdx === 1 ? new Float32Array([1, 2]) : null;
      },
      async getTrending() {
        throw new Error('down');
      },
    } as unknown as FeatureStore;
    const store = instrumentFeatureStore(fake, metrics);
    expect(store.kind).toBe('memory');
    expect(await store.getUserVector('v1', 1)).toEqual(new Float32Array([1, 2]));
    expect(await store.getUserVector('v1', 2)).toBeNull();
    await expect(store.getTrending('v1', { kind: 'global' })).rejects.toThrow('down');
    await store.start();
    expect(
      await sampleCount(metrics, 'redis_operation_duration_seconds', '{operation="getUserVector"}'),
    ).toBe(2);
    expect(await sampleCount(metrics, 'redis_operation_duration_seconds', '{operation="getTrending"}')).toBe(
      1,
    );
    expect(await sampleCount(metrics, 'redis_operation_duration_seconds', '{operation="start"}')).toBe(0);
  });

  it('times vector index search and retrieve into their own histograms', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const fake = {
      kind: 'embedded',
      async search() {
        return [];
      },
      async retrieve() {
        return [];
      },
      async ping() {},
    } as unknown as VectorIndex;
    const index = instrumentVectorIndex(fake, metrics);
    await index.search({ vector: new Float32Array(2), k: 1 });
    await index.search({ vector: new Float32Array(2), k: 1 });
    await index.retrieve([1]);
    await index.ping();
    expect(await sampleCount(metrics, 'qdrant_search_duration_seconds')).toBe(2);
    expect(await sampleCount(metrics, 'qdrant_retrieve_duration_seconds')).toBe(1);
  });

  it('keeps `this` bound to the target and builds each wrapper once', () => {
    class Counter {
      n = 0;
      async bump() {
        this.n++;
        return this.n;
      }
    }
    const target = new Counter();
    const proxy = wrapMethods(target, (_m, original) => original);
    expect(proxy.bump).toBe(proxy.bump);
    return proxy.bump().then((n) => expect(n).toBe(1));
  });

  it('opens a client span per store call only inside a recording span', async () => {
    const fakeStore = {
      kind: 'redis',
      async activeVersion() {
        return 'v1';
      },
      async getTrending() {
        throw new Error('down');
      },
    } as unknown as FeatureStore;
    const fakeIndex = {
      kind: 'embedded',
      async search() {
        return [];
      },
    } as unknown as VectorIndex;
    const metrics = createMetrics({ defaultMetrics: false });
    const store = instrumentFeatureStore(fakeStore, metrics);
    const index = instrumentVectorIndex(fakeIndex, metrics);
    const exporter = new InMemorySpanExporter();
    const tracing = initTracing({
      enabled: true,
      serviceName: 'instrument-test',
      exporter,
      synchronous: true,
    });
    let spans: ReturnType<typeof exporter.getFinishedSpans>;
    try {
      await store.activeVersion(); // no parent span: not traced
      await withSpan('parent', async () => {
        await store.activeVersion();
        await expect(store.getTrending('v1', { kind: 'global' })).rejects.toThrow('down');
        await index.search({ vector: new Float32Array(2), k: 1 });
      });
      spans = exporter.getFinishedSpans(); // shutting down clears the exporter
    } finally {
      await tracing.shutdown();
    }
    const parent = spans.find((s) => s.name === 'parent')!;
    expect(spans.map((s) => s.name).sort()).toEqual([
      'feature_store.activeVersion',
      'feature_store.getTrending',
      'parent',
      'vector_index.search',
    ]);
    for (const span of spans.filter((s) => s !== parent)) {
      expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    }
    const read = spans.find((s) => s.name === 'feature_store.activeVersion')!;
    expect(read.attributes).toMatchObject({ 'db.system': 'redis', 'db.operation.name': 'activeVersion' });
    expect(spans.find((s) => s.name === 'feature_store.getTrending')!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans.find((s) => s.name === 'vector_index.search')!.attributes['db.system']).toBe('embedded');
    // Traced calls are timed as well as untraced ones.
    expect(
      await sampleCount(metrics, 'redis_operation_duration_seconds', '{operation="activeVersion"}'),
    ).toBe(2);
  });
});
