/**
 * Kafka adapter of the event bus port (`EVENT_BUS=kafka`), on kafkajs.
 *
 * - Publishing: an idempotent producer (`idempotent: true`, acks = all in-sync replicas), key =
 *   `user_idx` so one user's events keep their order in one partition; concurrent publishes share
 *   produce requests (see publisher.ts). Trace-context headers given to `publish` travel as
 *   message headers; dead letters keep every original header.
 * - Topics: created with the admin client with the configured partitions and replication
 *   factor; an existing topic is left as it is (adding partitions would move keys).
 * - Consuming: see consumer.ts (commit after success, pause-and-retry per partition).
 */
import { type Admin, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { DependencyError, describeError } from '../../errors.ts';
import { EVENT_HEADERS, EVENT_SCHEMA_VERSION, type UserEvent } from '../../events.ts';
import type { Logger } from '../../observability/logger.ts';
import { sleep } from '../../retry.ts';
import type { BusMessage, ConsumeOptions, Consumer, EventBus } from '../event-bus.ts';
import { createKafkaClient, type KafkaConfig } from './client.ts';
import { startKafkaConsumer } from './consumer.ts';
import { CoalescingPublisher } from './publisher.ts';

/** How long a topic just created may stay unknown to the broker's metadata. */
const METADATA_LAG_MS = 10_000;

/** The error of metadata that does not know a topic (yet): UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE. */
export function isMetadataLag(error: unknown): boolean {
  // kafkajs may wrap the broker's error (retries exceeded): look down the causes.
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE') return true;
  }
  return false;
}

export interface KafkaEventBusOptions {
  config: KafkaConfig;
  logger: Logger;
  /** Replication factor of topics this bus creates. @default 1 */
  replicationFactor?: number;
  /** Backoff before a failed batch is fetched again. @default 100 ms doubling to 5 s */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Called when a consumer dies for good (kafkajs will not restart it): the process should exit. */
  onFatal?: (error: unknown) => void;
  /** Role in the client id (`recsys-updater`, ...). */
  role?: string;
}

export const KAFKA_BUS_DEFAULTS = {
  replicationFactor: 1,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 5000,
  idleFetchWaitMs: 100,
} as const;

export class KafkaEventBus implements EventBus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly publisher: CoalescingPublisher;
  private readonly consumers = new Set<Consumer>();
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: KafkaEventBusOptions) {
    this.logger = options.logger.child({ component: 'event-bus', adapter: 'kafka' });
    this.kafka = createKafkaClient(options.config, options.logger, { role: options.role });
    this.producer = this.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.admin = this.kafka.admin();
    this.publisher = new CoalescingPublisher(this.producer);
  }

  /** Connects the producer and the admin client. Idempotent. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      try {
        await Promise.all([this.admin.connect(), this.producer.connect()]);
      } catch (error) {
        this.starting = undefined;
        throw new DependencyError(
          'kafka',
          `cannot connect to ${this.options.config.brokers.join(',')} (KAFKA_BROKERS): ${describeError(error)}`,
          { cause: error },
        );
      }
    })();
    return this.starting;
  }

  /** Stops the consumers (each finishing its batch), then disconnects. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.consumers].map((c) => c.stop()));
      await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
    })();
    return this.closing;
  }

  async ping(): Promise<void> {
    await this.start();
    try {
      await this.admin.describeCluster();
    } catch (error) {
      throw new DependencyError('kafka', `no answer: ${describeError(error)}`, { cause: error });
    }
  }

  async ensureTopics(): Promise<void> {
    await this.start();
    const { topics, partitions } = this.options.config;
    const replicationFactor = this.options.replicationFactor ?? KAFKA_BUS_DEFAULTS.replicationFactor;
    const wanted = [topics.events, topics.deadLetter];
    try {
      const existing = new Set(await this.admin.listTopics());
      const missing = wanted.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        try {
          await this.admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })),
          });
        } catch (error) {
          // The topics were created, but the metadata the wait for leaders asked did not know
          // them yet (kafkajs waits out LEADER_NOT_AVAILABLE only): the reads below wait it out.
          if (!isMetadataLag(error)) throw error;
        }
        this.logger.info({ topics: missing, partitions, replicationFactor }, 'topics created');
      }
      const metadata = await this.topicMetadata(wanted);
      for (const t of metadata.topics) {
        if (t.partitions.length !== partitions) {
          this.logger.warn(
            { topic: t.name, partitions: t.partitions.length, configured: partitions },
            'topic exists with another partition count than KAFKA_PARTITIONS; left unchanged',
          );
        }
      }
    } catch (error) {
      // Two processes creating the same topic at once: the loser sees TOPIC_ALREADY_EXISTS.
      if (describeError(error).includes('already exists')) return;
      throw new DependencyError(
        'kafka',
        `cannot create topics ${wanted.join(', ')}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** The topics' metadata, asked again while a fresh topic is not known to the broker asked yet. */
  private async topicMetadata(topics: string[]) {
    const deadline = Date.now() + METADATA_LAG_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.admin.fetchTopicMetadata({ topics });
      } catch (error) {
        if (!isMetadataLag(error) || Date.now() > deadline) throw error;
        await sleep(Math.min(50 * 2 ** attempt, 500));
      }
    }
  }

  async publish(events: UserEvent[], headers: Record<string, string> = {}): Promise<void> {
    await this.start();
    await this.publisher.send(
      this.options.config.topics.events,
      events.map((event) => ({
        key: String(event.user_idx),
        value: JSON.stringify(event),
        headers: { ...headers, [EVENT_HEADERS.schemaVersion]: EVENT_SCHEMA_VERSION },
      })),
    );
  }

  async publishDeadLetter(message: BusMessage, reason: string, error?: string): Promise<void> {
    await this.start();
    const headers: Record<string, string> = {
      ...message.headers,
      [EVENT_HEADERS.dlqReason]: reason,
      [EVENT_HEADERS.dlqOriginalTopic]: message.topic,
      [EVENT_HEADERS.dlqOriginalPartition]: String(message.partition),
      [EVENT_HEADERS.dlqOriginalOffset]: message.offset,
    };
    if (error !== undefined) headers[EVENT_HEADERS.dlqError] = error;
    await this.publisher.send(this.options.config.topics.deadLetter, [
      { key: message.key, value: message.value, headers },
    ]);
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const consumer = await startKafkaConsumer(this.kafka, options, {
      topic: options.topic ?? this.options.config.topics.events,
      logger: this.options.logger,
      retry: {
        initialDelayMs: this.options.retry?.initialDelayMs ?? KAFKA_BUS_DEFAULTS.retryInitialDelayMs,
        maxDelayMs: this.options.retry?.maxDelayMs ?? KAFKA_BUS_DEFAULTS.retryMaxDelayMs,
      },
      onFatal: this.options.onFatal,
      idleFetchWaitMs: KAFKA_BUS_DEFAULTS.idleFetchWaitMs,
      defaultConcurrency: this.options.config.partitions,
      sessionTimeoutMs: this.options.config.sessionTimeoutMs,
    });
    const tracked: Consumer = {
      stop: async () => {
        await consumer.stop();
        this.consumers.delete(tracked);
      },
    };
    this.consumers.add(tracked);
    return tracked;
  }
}
