import { describe, expect, it } from 'vitest';
import { featureStoreConformance } from '../conformance/feature-store.ts';
import { MemoryFeatureStore } from './feature-store.ts';

featureStoreConformance('memory', async () => {
  const store = new MemoryFeatureStore();
  await store.start();
  return store;
});

describe('MemoryFeatureStore', () => {
  it('forgets processed event ids after their TTL', async () => {
    let now = 1_000_000;
    const store = new MemoryFeatureStore({ processedEventTtlMs: 1000, now: () => now });
    await store.start();
    await store.putVersionInfo({
      version: 'v1',
      rank: 2,
      created_at: '2026-01-01T00:00:00.000Z',
      users: 1,
      items: 1,
    });
    await store.applyUserUpdate({ version: 'v1', userIdx: 1, vector: new Float32Array(2), eventIds: ['e1'] });
    expect(await store.processedEventIds(['e1'])).toEqual(new Set(['e1']));
    now += 999;
    expect(await store.processedEventIds(['e1'])).toEqual(new Set(['e1']));
    now += 1;
    expect(await store.processedEventIds(['e1'])).toEqual(new Set());
  });
});
