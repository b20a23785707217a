import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { sleep } from '../lib/retry.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { MemoryEventBus } from '../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { publishVersion } from '../lib/stores/publish.ts';
import { createApp } from '../serve/app.ts';
import { startEmbeddedStream } from './embedded.ts';
import { loadCatalog } from './producer/catalog.ts';

let dir: string;
let bundleDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embedded-stream-'));
  bundleDir = (await syntheticBundle({ items: 200, users: 80, rank: 8, seed: 4, outDir: dir })).dir;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('embedded stream (npm start)', () => {
  it('applies simulated traffic and API purchases in one process, without Kafka or Redis', async () => {
    const featureStore = new MemoryFeatureStore();
    const vectorIndex = new EmbeddedVectorIndex();
    const { version } = await publishVersion({ featureStore, vectorIndex, bundleDir });
    const config = loadConfig({});
    const bus = new MemoryEventBus({ topics: config.kafka.topics, partitions: config.kafka.partitions });
    const metrics = createMetrics({ defaultMetrics: false });
    const logger = createLogger({ level: 'silent' });
    const app = createApp({ featureStore, vectorIndex, eventBus: bus, metrics, logger });
    const stream = await startEmbeddedStream({
      featureStore,
      vectorIndex,
      bus,
      config,
      metrics,
      logger,
      simulator: { catalog: await loadCatalog(bundleDir), rate: 400 },
    });
    try {
      const user = 5;
      const before = await featureStore.getUserVector(version, user);
      const res = await app.request('/events/purchase', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_idx: user, item_idx: 17 }),
      });
      expect(res.status).toBe(202);
      const { event_id } = (await res.json()) as { event_id: string };
      const started = performance.now();
      while ((await featureStore.processedEventIds([event_id])).size === 0) {
        if (performance.now() - started > 2000) throw new Error('purchase not applied');
        await sleep(1);
      }
      expect(await featureStore.getUserVector(version, user)).not.toEqual(before);
      await sleep(1200);
      expect(stream.simulatorProgress()?.sent).toBeGreaterThan(300);
      expect(stream.updater.stats.applied).toBeGreaterThan(300);
      expect(stream.updater.stats.deadLettered).toBe(0);
    } finally {
      await stream.stop();
      await stream.stop();
    }
    const { values } = await metrics.eventsProcessed.get();
    expect(values.reduce((sum, v) => sum + v.value, 0)).toBe(stream.updater.stats.applied);
  });
});
