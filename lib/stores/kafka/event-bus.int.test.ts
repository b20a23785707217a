/**
 * The event bus conformance suite against a real Kafka broker (KAFKA_BROKERS, default
 * localhost:9092), plus what only the Kafka adapter has: topic creation with the configured
 * partitions, and concurrent publishes sharing produce requests without losing a message.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../observability/logger.ts';
import { describeEventBusConformance, type EventBusHarness, makeEvent } from '../conformance/event-bus.ts';
import { KafkaEventBus } from './event-bus.ts';

const base = loadConfig();
const logger = createLogger({ level: (process.env['TEST_LOG_LEVEL'] as 'info' | undefined) ?? 'silent' });
const raw = new Kafka({ brokers: base.kafka.brokers, clientId: 'bus-test', logLevel: logLevel.NOTHING });
const admin = raw.admin();
const producer = raw.producer({ idempotent: true, allowAutoTopicCreation: false });

beforeAll(async () => {
  await admin.connect();
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  await admin.disconnect();
});

async function kafkaHarness(partitions = 3): Promise<EventBusHarness & { bus: KafkaEventBus }> {
  const id = randomUUID().slice(0, 8);
  const topics = { events: `test-events-${id}`, deadLetter: `test-dlq-${id}` };
  const config = loadConfig({
    ...process.env,
    KAFKA_TOPIC_EVENTS: topics.events,
    KAFKA_TOPIC_DLQ: topics.deadLetter,
    KAFKA_PARTITIONS: String(partitions),
  });
  const bus = new KafkaEventBus({
    config: config.kafka,
    logger,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  await bus.start();
  await bus.ensureTopics();
  return {
    bus,
    topics,
    partitions,
    publishRaw: async (topic, messages) => {
      await producer.send({
        topic,
        messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      });
    },
    dispose: async () => {
      await bus.close();
      await admin.deleteTopics({ topics: [topics.events, topics.deadLetter] }).catch(() => {});
    },
  };
}

describeEventBusConformance('kafka', () => kafkaHarness(), { waitMs: 20_000 });

describe('KafkaEventBus specifics', () => {
  it('creates both topics with the configured partitions, and ensureTopics is idempotent', async () => {
    const h = await kafkaHarness(4);
    try {
      await h.bus.ensureTopics();
      const metadata = await admin.fetchTopicMetadata({ topics: [h.topics.events, h.topics.deadLetter] });
      expect(metadata.topics.map((t) => t.partitions.length)).toEqual([4, 4]);
    } finally {
      await h.dispose();
    }
  });

  it('loses nothing when many publishes run at once (they share produce requests)', async () => {
    const h = await kafkaHarness(3);
    try {
      const events = Array.from({ length: 400 }, (_, i) => makeEvent(i % 37, i));
      await Promise.all(events.map((e) => h.bus.publish([e])));
      const offsets = await admin.fetchTopicOffsets(h.topics.events);
      const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      expect(total).toBe(400);
    } finally {
      await h.dispose();
    }
  });

  it('reports an unreachable broker as a DependencyError naming KAFKA_BROKERS', async () => {
    const config = loadConfig({ KAFKA_BROKERS: 'localhost:1' });
    const bus = new KafkaEventBus({ config: config.kafka, logger });
    try {
      await expect(bus.start()).rejects.toThrow(/KAFKA_BROKERS/);
    } finally {
      await bus.close();
    }
  });
});
