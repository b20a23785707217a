/**
 * Event bus port: publish user events durably, consume them with commit-after-success.
 *
 * Adapters: `memory` (in-process queue, default) and `kafka` (kafkajs). One conformance suite
 * (conformance/event-bus.ts) runs against both.
 */
import type { UserEvent } from '../events.ts';

export interface BusMessage {
  /** Partition key (`user_idx` as a string for user events). */
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  partition: number;
  /** Offset as a decimal string (Kafka offsets exceed 2^53 in theory). */
  offset: string;
  topic: string;
}

/** Where a delivered batch sits in its partition. */
export interface BatchContext {
  topic: string;
  partition: number;
  /** Offset the next message written to the partition will get, as a decimal string. */
  highWatermark: string;
  /** Messages in the partition after this batch (what is still to consume). */
  lag: number;
}

export interface ConsumeOptions {
  groupId: string;
  /** @default the events topic */
  topic?: string;
  /** Start from the earliest offset when the group has none. @default true */
  fromBeginning?: boolean;
  /**
   * How long the bus may wait to gather a batch once a message is available, so a burst arrives
   * as one batch (Kafka: the fetch wait with a large minimum size). 0 delivers at once. @default 0
   */
  batchWindowMs?: number;
  /** Upper bound of messages per batch (memory bus; Kafka batches by bytes). @default 1000 */
  maxBatchSize?: number;
  /** Partitions handled at the same time by this consumer. @default all assigned */
  concurrency?: number;
  /**
   * Handles one batch of one partition, in offset order. Offsets are committed only after it
   * resolves; if it throws, the partition pauses and the same batch is retried with backoff
   * (nothing is skipped or lost) while other partitions go on.
   */
  onBatch: (messages: BusMessage[], context: BatchContext) => Promise<void>;
}

export interface Consumer {
  /** Finishes the batch in hand, commits, leaves the group. Idempotent. */
  stop(): Promise<void>;
}

export interface EventBus {
  readonly kind: 'memory' | 'kafka';
  start(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;
  /** Creates the events and dead-letter topics if missing. Idempotent. */
  ensureTopics(): Promise<void>;
  /** Resolves once every event is acknowledged (Kafka: acks from all in-sync replicas). */
  publish(events: UserEvent[], headers?: Record<string, string>): Promise<void>;
  /** Sends a message that could not be processed to the dead-letter topic with its reason. */
  publishDeadLetter(message: BusMessage, reason: string, error?: string): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
}
