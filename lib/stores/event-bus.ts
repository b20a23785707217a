/**
 * Event bus port: publish user events durably, consume them with commit-after-success.
 *
 * Adapters: `memory` (in-process queue, default) and `kafka` (kafkajs). One conformance suite
 * (event-bus.conformance.ts) runs against both.
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

export interface ConsumeOptions {
  groupId: string;
  topic?: string;
  /** Start from the earliest offset when the group has none. @default true */
  fromBeginning?: boolean;
  /**
   * Handles one batch of one partition, in offset order. Offsets are committed only after it
   * resolves; if it throws, the batch is retried (nothing is skipped or lost).
   */
  onBatch: (messages: BusMessage[]) => Promise<void>;
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
