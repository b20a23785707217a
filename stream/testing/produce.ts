/**
 * Test helper: sends simulated events to the events topic of `kafka` (created when missing) at
 * `rate` per second until about `count` are acknowledged, and returns how many were.
 */
import type { Config } from '../../lib/config.ts';
import type { UserEvent } from '../../lib/events.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { KafkaEventBus } from '../../lib/stores/kafka/event-bus.ts';
import { syntheticCatalog } from '../producer/catalog.ts';
import { runProducer } from '../producer/run.ts';
import { createEventSimulator } from '../producer/simulator.ts';

export async function produceSimulatedEvents(
  kafka: Config['kafka'],
  options: {
    count: number;
    seed: number;
    rate?: number;
    catalog?: { users: number; items: number };
    onSent?: (events: UserEvent[]) => void;
  },
): Promise<number> {
  const rate = options.rate ?? 1000;
  const { users, items } = options.catalog ?? { users: 300, items: 200 };
  const bus = new KafkaEventBus({ config: kafka, logger: createLogger({ level: 'silent' }) });
  try {
    await bus.start();
    await bus.ensureTopics();
    const result = await runProducer({
      bus,
      simulator: createEventSimulator(syntheticCatalog(users, items), { seed: options.seed }),
      rate,
      durationMs: (options.count * 1000) / rate,
      onSent: options.onSent,
    });
    if (result.failed > 0) throw new Error(`${result.failed} simulated events were not acknowledged`);
    return result.sent;
  } finally {
    await bus.close();
  }
}
