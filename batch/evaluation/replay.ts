/**
 * The stream window of the prequential protocol, replayed through the online updater itself:
 * the window's events are published to an in-process event bus and consumed by `createUpdater`
 * (stream/updater/updater.ts) writing to the evaluation's feature store — the same parsing,
 * duplicate checks, EMA fold with the configured weights, debounce batching, history and
 * profile updates as the live system. Nothing of the online step is re-implemented here.
 */
import type { Config } from '../../lib/config.ts';
import type { EventType, UserEvent } from '../../lib/events.ts';
import type { Logger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { createUpdater, type UpdaterStats } from '../../stream/updater/updater.ts';
import { BatchError } from '../context.ts';

export interface ReplayEvent {
  userIdx: number;
  itemIdx: number;
  eventType: EventType;
  /** ISO-8601 UTC time of the event (the purchase day at midnight for transactions). */
  ts: string;
}

/** A UUID for the n-th replayed event (the event schema asks for one; replays are deterministic). */
export function replayEventId(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

/** Events published per call, so a long window does not build one huge array of messages. */
const PUBLISH_CHUNK = 5000;

/**
 * Publishes `events` (oldest first per user) to a fresh in-process bus, runs the updater on it
 * until every event is applied, counted as a duplicate or dead-lettered, and returns the
 * updater's counters. Throws when the updater stops making progress.
 */
export async function replayThroughUpdater(options: {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  events: readonly ReplayEvent[];
  config: Pick<Config, 'kafka' | 'stream'>;
  logger: Logger;
  /** Give up when nothing moves for this long. @default 30000 */
  stallMs?: number;
  signal?: AbortSignal;
}): Promise<UpdaterStats> {
  const { events, config, logger } = options;
  const bus = new MemoryEventBus({
    topics: config.kafka.topics,
    partitions: config.kafka.partitions,
    // Every replayed event stays until the updater commits it.
    retainMessages: Math.max(10_000, events.length),
    logger,
  });
  await bus.start();
  await bus.ensureTopics();
  const updater = createUpdater({
    featureStore: options.featureStore,
    vectorIndex: options.vectorIndex,
    bus,
    config,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    options: { groupId: 'evaluation-replay' },
  });
  await updater.start();
  try {
    for (let start = 0; start < events.length; start += PUBLISH_CHUNK) {
      const chunk: UserEvent[] = events.slice(start, start + PUBLISH_CHUNK).map((e, i) => ({
        event_id: replayEventId(start + i + 1),
        event_type: e.eventType,
        user_idx: e.userIdx,
        item_idx: e.itemIdx,
        ts: e.ts,
        source: 'evaluation-replay',
      }));
      await bus.publish(chunk);
    }
    const stallMs = options.stallMs ?? 30_000;
    const done = () => updater.stats.applied + updater.stats.duplicates + updater.stats.deadLettered;
    let last = -1;
    let lastMoved = performance.now();
    while (done() < events.length) {
      options.signal?.throwIfAborted();
      const now = performance.now();
      if (done() !== last) {
        last = done();
        lastMoved = now;
      } else if (now - lastMoved > stallMs) {
        throw new BatchError(
          `the stream replay stalled: ${done()} of ${events.length} events handled after ${stallMs} ms without progress`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { ...updater.stats };
  } finally {
    await updater.stop();
    await bus.close();
  }
}
