import { describe, expect, it } from 'vitest';
import type { FeatureStore } from '../stores/feature-store.ts';
import type { VectorIndex } from '../stores/vector-index.ts';
import { instrumentFeatureStore, instrumentVectorIndex, wrapMethods } from './instrument.ts';
import { createMetrics } from './metrics.ts';

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
});
