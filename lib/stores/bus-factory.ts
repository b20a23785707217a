/**
 * Picks the event bus adapter named by `EVENT_BUS`: `memory` (in-process, default for
 * `npm start`) or `kafka`. The bus is not started: call `start()` (and `ensureTopics()` where the
 * process owns the topics).
 */
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import type { EventBus } from './event-bus.ts';
import { KafkaEventBus } from './kafka/event-bus.ts';
import { MemoryEventBus } from './memory/event-bus.ts';

export interface EventBusFactoryOptions {
  /** Role in the Kafka client id, e.g. `api`, `updater`. */
  role?: string;
  /** Kafka only: called when a consumer dies for good; the process should exit. */
  onFatal?: (error: unknown) => void;
}

export function createEventBus(
  config: Config,
  logger: Logger,
  options: EventBusFactoryOptions = {},
): EventBus {
  const child = logger.child({ component: 'event-bus' });
  switch (config.adapters.eventBus) {
    case 'memory':
      return new MemoryEventBus({
        topics: config.kafka.topics,
        partitions: config.kafka.partitions,
        logger: child,
      });
    case 'kafka':
      return new KafkaEventBus({
        config: config.kafka,
        logger,
        replicationFactor: config.kafka.replicationFactor,
        role: options.role,
        onFatal: options.onFatal,
      });
  }
}
