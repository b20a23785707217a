/**
 * The stream inside one process, for `npm start`: the updater core on the in-process event bus,
 * writing to the same feature store the API reads, plus (optionally) the shopper simulator as
 * background traffic. No Kafka, no Redis: live updates on a laptop with nothing installed.
 *
 * The API publishes to the same `bus`, so `POST /events/purchase` changes that user's
 * recommendations within milliseconds, exactly as with Kafka.
 */
import type { Config } from '../lib/config.ts';
import { describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { Metrics } from '../lib/observability/metrics.ts';
import type { EventBus } from '../lib/stores/event-bus.ts';
import type { FeatureStore } from '../lib/stores/feature-store.ts';
import type { VectorIndex } from '../lib/stores/vector-index.ts';
import { type ProducerProgress, runProducer } from './producer/run.ts';
import { type Catalog, createEventSimulator } from './producer/simulator.ts';
import { createUpdater, type Updater } from './updater/updater.ts';

export interface EmbeddedStreamOptions {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  /** Usually the memory bus the API publishes to. */
  bus: EventBus;
  config: Pick<Config, 'kafka' | 'stream'>;
  metrics: Metrics;
  logger: Logger;
  /** Background traffic: simulated events per second drawn from `catalog` (0 or unset: none). */
  simulator?: { catalog: Catalog; rate: number; seed?: number };
}

export interface EmbeddedStream {
  readonly updater: Updater;
  /** Simulator progress so far (null without a simulator). */
  simulatorProgress(): ProducerProgress | null;
  /** Stops the simulator, then the updater (which finishes its batch). Idempotent. */
  stop(): Promise<void>;
}

export async function startEmbeddedStream(options: EmbeddedStreamOptions): Promise<EmbeddedStream> {
  const logger = options.logger.child({ component: 'embedded-stream' });
  await options.bus.start();
  await options.bus.ensureTopics();
  const updater = createUpdater({
    featureStore: options.featureStore,
    vectorIndex: options.vectorIndex,
    bus: options.bus,
    config: options.config,
    metrics: options.metrics,
    logger: options.logger,
  });
  await updater.start();

  const controller = new AbortController();
  let progress: ProducerProgress | null = null;
  let simulating: Promise<unknown> = Promise.resolve();
  const sim = options.simulator;
  if (sim && sim.rate > 0) {
    simulating = runProducer({
      bus: options.bus,
      simulator: createEventSimulator(sim.catalog, { seed: sim.seed }),
      rate: sim.rate,
      signal: controller.signal,
      onProgress: (p) => {
        progress = p;
      },
      onError: (error) => logger.warn({ error: describeError(error) }, 'simulator publish failed'),
    }).catch((error: unknown) => logger.error({ error: describeError(error) }, 'simulator stopped'));
    logger.info({ rate: sim.rate }, 'simulator started');
  }

  let stopping: Promise<void> | undefined;
  return {
    updater,
    simulatorProgress: () => progress,
    stop() {
      stopping ??= (async () => {
        controller.abort();
        await simulating;
        await updater.stop();
      })();
      return stopping;
    },
  };
}
