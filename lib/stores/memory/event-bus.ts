/**
 * In-process event bus: the embedded adapter of the event bus port (`EVENT_BUS=memory`).
 *
 * It keeps Kafka's contract in miniature so the updater runs unchanged on it: a topic is a fixed
 * number of partitions, each an append-only log with offsets; a message's partition follows from
 * its key, so one user's events stay in order. A consumer group keeps a committed offset per
 * partition, shares the partitions among its members (round-robin, reassigned when a member
 * joins or leaves; a partition changes hands only after its batch in hand is committed), and
 * commits only after the handler resolves. A failing handler pauses its partition and gets the
 * same batch again after a backoff; other partitions go on. Nothing survives the process.
 */
import { EVENT_HEADERS, EVENT_SCHEMA_VERSION, type UserEvent } from '../../events.ts';
import type { Logger } from '../../observability/logger.ts';
import { backoffDelay, sleep } from '../../retry.ts';
import type { BatchContext, BusMessage, ConsumeOptions, Consumer, EventBus } from '../event-bus.ts';

export interface MemoryEventBusOptions {
  topics: { events: string; deadLetter: string };
  /** Partitions of each topic. @default 3 */
  partitions?: number;
  /**
   * Messages a partition keeps once every consumer group has committed past them (a topic no
   * group reads keeps this many newest messages). Bounds memory in a long `npm start`.
   * @default 10_000
   */
  retainMessages?: number;
  /** Backoff before a failed batch is handed over again. @default 100 ms doubling to 5 s */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  logger?: Logger;
}

export const MEMORY_BUS_DEFAULTS = {
  partitions: 3,
  retainMessages: 10_000,
  maxBatchSize: 1000,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 5000,
} as const;

/** A raw message for `publishRaw` (tests and tools that need bytes the schema would refuse). */
export interface RawMessage {
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

interface StoredMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** FNV-1a over the key's UTF-8 bytes; keyless messages spread round-robin. */
function partitionFor(key: string | null, partitions: number, roundRobin: () => number): number {
  if (key === null) return roundRobin() % partitions;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

class PartitionLog {
  /** Offset of `messages[0]`. */
  base = 0;
  readonly messages: StoredMessage[] = [];
  private waiters = new Set<() => void>();

  get end(): number {
    return this.base + this.messages.length;
  }

  append(message: StoredMessage): number {
    this.messages.push(message);
    this.wake();
    return this.end - 1;
  }

  read(from: number, max: number): Array<[offset: number, StoredMessage]> {
    const start = Math.max(from, this.base) - this.base;
    return this.messages.slice(start, start + max).map((m, i) => [this.base + start + i, m]);
  }

  trimTo(offset: number): void {
    const drop = Math.min(offset - this.base, this.messages.length);
    if (drop <= 0) return;
    this.messages.splice(0, drop);
    this.base += drop;
  }

  /** Resolves at the next append or wake-up, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

class Topic {
  readonly logs: PartitionLog[];
  private next = 0;
  constructor(
    readonly name: string,
    partitions: number,
  ) {
    this.logs = Array.from({ length: partitions }, () => new PartitionLog());
  }
  partitionOf(key: string | null): number {
    return partitionFor(key, this.logs.length, () => this.next++);
  }
}

class Member {
  stopping = false;
  readonly abort = new AbortController();
  readonly loops = new Set<Promise<void>>();
  constructor(readonly options: ConsumeOptions) {}
}

class Group {
  readonly committed = new Map<number, number>();
  readonly members: Member[] = [];
  readonly owner: Array<Member | undefined>;
  /** The last loop started per partition; a new owner's loop starts after it ends. */
  readonly loops: Array<Promise<void>>;
  constructor(
    readonly id: string,
    readonly topic: Topic,
  ) {
    this.owner = topic.logs.map(() => undefined);
    this.loops = topic.logs.map(() => Promise.resolve());
  }
}

/** A counting semaphore bounding how many partitions one consumer handles at once. */
function limiter(max: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

export class MemoryEventBus implements EventBus {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly consumers = new Set<Consumer>();
  private readonly partitions: number;
  private readonly retain: number;
  private readonly logger: Logger | undefined;

  constructor(private readonly options: MemoryEventBusOptions) {
    this.partitions = options.partitions ?? MEMORY_BUS_DEFAULTS.partitions;
    this.retain = options.retainMessages ?? MEMORY_BUS_DEFAULTS.retainMessages;
    this.logger = options.logger;
    if (!(Number.isInteger(this.partitions) && this.partitions >= 1)) {
      throw new RangeError(`MemoryEventBus: partitions must be a positive integer, got ${this.partitions}`);
    }
  }

  async start(): Promise<void> {}

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
  }

  async ensureTopics(): Promise<void> {
    this.topic(this.options.topics.events);
    this.topic(this.options.topics.deadLetter);
  }

  async publish(events: UserEvent[], headers: Record<string, string> = {}): Promise<void> {
    this.publishRaw(
      this.options.topics.events,
      events.map((event) => ({
        key: String(event.user_idx),
        value: JSON.stringify(event),
        headers: { ...headers, [EVENT_HEADERS.schemaVersion]: EVENT_SCHEMA_VERSION },
      })),
    );
  }

  async publishDeadLetter(message: BusMessage, reason: string, error?: string): Promise<void> {
    const headers: Record<string, string> = {
      ...message.headers,
      [EVENT_HEADERS.dlqReason]: reason,
      [EVENT_HEADERS.dlqOriginalTopic]: message.topic,
      [EVENT_HEADERS.dlqOriginalPartition]: String(message.partition),
      [EVENT_HEADERS.dlqOriginalOffset]: message.offset,
    };
    if (error !== undefined) headers[EVENT_HEADERS.dlqError] = error;
    this.publishRaw(this.options.topics.deadLetter, [{ key: message.key, value: message.value, headers }]);
  }

  /** Appends messages as they are, without the schema (for tests and tools). */
  publishRaw(topicName: string, messages: RawMessage[]): void {
    const topic = this.topic(topicName);
    for (const m of messages) {
      const value = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value);
      const log = topic.logs[topic.partitionOf(m.key)]!;
      log.append({ key: m.key, value, headers: { ...m.headers } });
      this.trim(topic, log, topic.logs.indexOf(log));
    }
  }

  /** Offset after the last message of each partition of a topic (a test and tool helper). */
  endOffsets(topicName: string): number[] {
    return this.topic(topicName).logs.map((log) => log.end);
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const topic = this.topic(options.topic ?? this.options.topics.events);
    const key = `${options.groupId}\u0000${topic.name}`;
    let group = this.groups.get(key);
    if (!group) {
      group = new Group(options.groupId, topic);
      this.groups.set(key, group);
    }
    const fromBeginning = options.fromBeginning ?? true;
    topic.logs.forEach((log, p) => {
      if (!group.committed.has(p)) group.committed.set(p, fromBeginning ? log.base : log.end);
    });
    const member = new Member(options);
    const run = limiter(options.concurrency ?? Number.POSITIVE_INFINITY);
    const g = group;
    g.members.push(member);
    this.rebalance(g, run);

    let stopping: Promise<void> | undefined;
    const consumer: Consumer = {
      stop: () => {
        stopping ??= (async () => {
          member.stopping = true;
          g.members.splice(g.members.indexOf(member), 1);
          this.rebalance(g, run);
          member.abort.abort();
          for (const log of topic.logs) log.wake();
          await Promise.all([...member.loops]);
          this.consumers.delete(consumer);
        })();
        return stopping;
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = new Topic(name, this.partitions);
      this.topics.set(name, topic);
    }
    return topic;
  }

  /** Round-robin assignment over the members in join order; moved partitions restart their loop. */
  private rebalance(group: Group, run: ReturnType<typeof limiter>): void {
    group.topic.logs.forEach((log, p) => {
      const next = group.members.length === 0 ? undefined : group.members[p % group.members.length];
      if (group.owner[p] === next) return;
      group.owner[p] = next;
      log.wake();
      if (!next) return;
      const previous = group.loops[p]!;
      const loop = previous.then(() => this.consumePartition(group, p, next, run));
      group.loops[p] = loop;
      next.loops.add(loop);
      void loop.finally(() => next.loops.delete(loop));
    });
  }

  private async consumePartition(
    group: Group,
    p: number,
    member: Member,
    run: ReturnType<typeof limiter>,
  ): Promise<void> {
    const log = group.topic.logs[p]!;
    const { onBatch } = member.options;
    const windowMs = member.options.batchWindowMs ?? 0;
    const maxBatch = member.options.maxBatchSize ?? MEMORY_BUS_DEFAULTS.maxBatchSize;
    const signal = member.abort.signal;
    const owns = () => group.owner[p] === member && !member.stopping;
    let attempt = 0;
    while (owns()) {
      const position = Math.max(group.committed.get(p) ?? log.base, log.base);
      if (log.end <= position) {
        await log.changed(signal);
        continue;
      }
      if (windowMs > 0 && log.end - position < maxBatch) {
        await sleep(windowMs, signal).catch(() => {});
        if (!owns()) break;
      }
      const batch: BusMessage[] = log.read(position, maxBatch).map(([offset, m]) => ({
        key: m.key,
        value: m.value,
        headers: { ...m.headers },
        partition: p,
        offset: String(offset),
        topic: group.topic.name,
      }));
      const next = position + batch.length;
      const context: BatchContext = {
        topic: group.topic.name,
        partition: p,
        highWatermark: String(log.end),
        lag: log.end - next,
      };
      try {
        await run(() => onBatch(batch, context));
      } catch (error) {
        const delay = backoffDelay(attempt++, {
          initialDelayMs: this.options.retry?.initialDelayMs ?? MEMORY_BUS_DEFAULTS.retryInitialDelayMs,
          maxDelayMs: this.options.retry?.maxDelayMs ?? MEMORY_BUS_DEFAULTS.retryMaxDelayMs,
        });
        this.logger?.warn(
          { err: error, topic: group.topic.name, partition: p, offset: position, attempt, delayMs: delay },
          'batch handler failed; partition paused, retrying the same batch',
        );
        await sleep(delay, signal).catch(() => {});
        continue;
      }
      attempt = 0;
      group.committed.set(p, next);
      this.trim(group.topic, log, p);
    }
  }

  /** Drops what every group has committed, keeping `retainMessages`; amortised in chunks. */
  private trim(topic: Topic, log: PartitionLog, p: number): void {
    const surplus = log.messages.length - this.retain;
    if (surplus < Math.max(1, this.retain >> 2)) return;
    let limit = log.base + surplus;
    for (const group of this.groups.values()) {
      if (group.topic === topic) limit = Math.min(limit, group.committed.get(p) ?? log.base);
    }
    log.trimTo(limit);
  }
}
