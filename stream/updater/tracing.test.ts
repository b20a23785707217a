import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import {
  initTracing,
  injectTraceHeaders,
  SpanKind,
  type Tracing,
  withSpan,
} from '../../lib/observability/tracing.ts';
import { sleep } from '../../lib/retry.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../../lib/stores/memory/feature-store.ts';
import { publishVersion } from '../../lib/stores/publish.ts';
import { createUpdater } from './updater.ts';

describe('updater tracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
  });

  it('continues the publisher trace in the span of the user update', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = initTracing({ enabled: true, serviceName: 'test', exporter, synchronous: true });
    const dir = await mkdtemp(join(tmpdir(), 'updater-tracing-'));
    try {
      const { dir: bundleDir } = await syntheticBundle({
        items: 30,
        users: 10,
        rank: 8,
        seed: 5,
        outDir: dir,
      });
      const featureStore = new MemoryFeatureStore();
      const vectorIndex = new EmbeddedVectorIndex();
      await publishVersion({ featureStore, vectorIndex, bundleDir });
      const bus = new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' } });
      const updater = createUpdater({
        featureStore,
        vectorIndex,
        bus,
        config: loadConfig({ KAFKA_TOPIC_EVENTS: 'e', KAFKA_TOPIC_DLQ: 'd', UPDATER_DEBOUNCE_MS: '0' }),
        metrics: createMetrics({ defaultMetrics: false }),
        logger: createLogger({ level: 'silent' }),
      });
      await updater.start();
      const event = {
        event_id: randomUUID(),
        event_type: 'purchase' as const,
        user_idx: 3,
        item_idx: 4,
        ts: new Date().toISOString(),
      };
      await withSpan('POST /events/purchase', () => bus.publish([event], injectTraceHeaders()), {
        kind: SpanKind.PRODUCER,
      });
      await bus.publish([{ ...event, event_id: randomUUID(), user_idx: 5 }]); // no trace context
      while (updater.stats.applied < 2) await sleep(5);
      await updater.stop();

      const spans = exporter.getFinishedSpans();
      const post = spans.find((s) => s.name === 'POST /events/purchase')!;
      const applied = spans.filter((s) => s.name === 'updater.apply_user_update');
      expect(applied).toHaveLength(1);
      expect(applied[0]!.spanContext().traceId).toBe(post.spanContext().traceId);
      expect(applied[0]!.attributes['recsys.user_idx']).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
