/**
 * The event bus conformance suite: one set of behaviours every adapter of the port must show.
 * `memory/event-bus.test.ts` runs it in-process, `kafka/event-bus.int.test.ts` against a real
 * broker. Each test gets a fresh harness (its own topics) and a fresh consumer group id.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_HEADERS, EVENT_SCHEMA_VERSION, type EventType, type UserEvent } from '../../events.ts';
import { sleep } from '../../retry.ts';
import type { BatchContext, BusMessage, ConsumeOptions, Consumer, EventBus } from '../event-bus.ts';

export interface RawBusMessage {
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

export interface EventBusHarness {
  /** A started bus whose topics are unique to this harness. */
  bus: EventBus;
  topics: { events: string; deadLetter: string };
  partitions: number;
  /** Appends bytes as they are, bypassing the schema. */
  publishRaw(topic: string, messages: RawBusMessage[]): Promise<void>;
  /** Closes the bus and removes what the harness created. */
  dispose(): Promise<void>;
}

export interface ConformanceOptions {
  /** How long a test waits for deliveries. @default 10_000 */
  waitMs?: number;
}

const EVENT_TYPES_CYCLE: EventType[] = ['click', 'add_to_cart', 'purchase'];

export function makeEvent(userIdx: number, itemIdx: number, eventType: EventType = 'click'): UserEvent {
  return {
    event_id: randomUUID(),
    event_type: eventType,
    user_idx: userIdx,
    item_idx: itemIdx,
    ts: new Date().toISOString(),
    source: 'conformance',
  };
}

/** `count` events over `users` users, each user's item numbers increasing (to check order). */
function eventStream(count: number, users: number): UserEvent[] {
  return Array.from({ length: count }, (_, i) =>
    makeEvent(i % users, i, EVENT_TYPES_CYCLE[i % EVENT_TYPES_CYCLE.length]),
  );
}

interface Delivery {
  message: BusMessage;
  context: BatchContext;
  event: UserEvent | null;
}

/** Consumes into an array; `until` resolves when a predicate over the deliveries holds. */
async function collector(
  bus: EventBus,
  options: Omit<ConsumeOptions, 'onBatch'> & {
    onBatch?: (messages: BusMessage[], context: BatchContext) => Promise<void>;
  },
) {
  const deliveries: Delivery[] = [];
  const batches: BusMessage[][] = [];
  const consumer: Consumer = await bus.consume({
    ...options,
    onBatch: async (messages, context) => {
      await options.onBatch?.(messages, context);
      batches.push(messages);
      for (const message of messages) {
        let event: UserEvent | null = null;
        try {
          event = JSON.parse(message.value.toString('utf8')) as UserEvent;
        } catch {
          // raw test payloads need not be JSON
        }
        deliveries.push({ message, context, event });
      }
    },
  });
  return { consumer, deliveries, batches };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function ids(deliveries: Delivery[]): string[] {
  return deliveries.map((d) => d.event?.event_id ?? '');
}

export function describeEventBusConformance(
  adapter: string,
  makeHarness: () => Promise<EventBusHarness>,
  options: ConformanceOptions = {},
): void {
  const waitMs = options.waitMs ?? 10_000;

  describe(`event bus conformance: ${adapter}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function harness(): Promise<EventBusHarness> {
      const h = await makeHarness();
      cleanups.push(() => h.dispose());
      return h;
    }
    function track(consumer: Consumer): Consumer {
      cleanups.push(() => consumer.stop());
      return consumer;
    }
    const group = () => `conformance-${randomUUID().slice(0, 8)}`;

    it('creates its topics idempotently and answers ping', async () => {
      const { bus } = await harness();
      await bus.ensureTopics();
      await bus.ensureTopics();
      await expect(bus.ping()).resolves.toBeUndefined();
    });

    it('delivers every published event once, keyed by user, in per-user order, with headers', async () => {
      const { bus, partitions } = await harness();
      const events = eventStream(120, 7);
      await bus.publish(events.slice(0, 60), {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });
      await bus.publish(events.slice(60));
      const c = await collector(bus, { groupId: group() });
      track(c.consumer);
      await waitFor('120 deliveries', () => c.deliveries.length >= events.length, waitMs);
      await sleep(100);

      expect(c.deliveries).toHaveLength(events.length);
      expect(new Set(ids(c.deliveries))).toEqual(new Set(events.map((e) => e.event_id)));
      for (const d of c.deliveries) {
        expect(d.event).toEqual(events.find((e) => e.event_id === d.event?.event_id));
        expect(d.message.key).toBe(String(d.event?.user_idx));
        expect(d.message.headers[EVENT_HEADERS.schemaVersion]).toBe(EVENT_SCHEMA_VERSION);
        expect(d.message.partition).toBeGreaterThanOrEqual(0);
        expect(d.message.partition).toBeLessThan(partitions);
      }
      const traced = c.deliveries.filter((d) => (d.event?.item_idx ?? 0) < 60);
      for (const d of traced) expect(d.message.headers['traceparent']).toMatch(/^00-0af7/);
      const untraced = c.deliveries.filter((d) => (d.event?.item_idx ?? 0) >= 60);
      for (const d of untraced) expect(d.message.headers['traceparent']).toBeUndefined();

      // One user's events share a partition and arrive in publish order.
      const byUser = new Map<number, Delivery[]>();
      for (const d of c.deliveries)
        byUser.set(d.event!.user_idx, [...(byUser.get(d.event!.user_idx) ?? []), d]);
      for (const list of byUser.values()) {
        expect(new Set(list.map((d) => d.message.partition)).size).toBe(1);
        const items = list.map((d) => d.event!.item_idx);
        expect(items).toEqual([...items].sort((a, b) => a - b));
      }
      // Offsets increase within each partition; batches hold one partition each.
      for (const batch of c.batches) {
        expect(new Set(batch.map((m) => m.partition)).size).toBe(1);
        const offsets = batch.map((m) => BigInt(m.offset));
        for (let i = 1; i < offsets.length; i++) expect(offsets[i]! > offsets[i - 1]!).toBe(true);
      }
      for (const d of c.deliveries) {
        expect(d.context.lag).toBeGreaterThanOrEqual(0);
        expect(BigInt(d.context.highWatermark) > BigInt(d.message.offset)).toBe(true);
      }
    });

    it('commits after the handler resolves: a new member of the group resumes where it stopped', async () => {
      const { bus } = await harness();
      const groupId = group();
      const first = eventStream(30, 5);
      await bus.publish(first);
      const a = await collector(bus, { groupId });
      await waitFor('first 30', () => a.deliveries.length >= 30, waitMs);
      await a.consumer.stop();
      await a.consumer.stop(); // idempotent

      const second = eventStream(20, 5);
      await bus.publish(second);
      const b = await collector(bus, { groupId });
      track(b.consumer);
      await waitFor('next 20', () => b.deliveries.length >= 20, waitMs);
      await sleep(300);
      expect(new Set(ids(b.deliveries))).toEqual(new Set(second.map((e) => e.event_id)));
      expect(b.deliveries).toHaveLength(20);
    });

    it('retries a failed batch from its first message, skipping nothing', async () => {
      const { bus } = await harness();
      const events = eventStream(40, 4);
      await bus.publish(events);
      const failures = new Map<number, number>();
      const seen: string[] = [];
      const c = await collector(bus, {
        groupId: group(),
        onBatch: async (messages) => {
          const p = messages[0]!.partition;
          const n = failures.get(p) ?? 0;
          seen.push(...messages.map((m) => m.offset));
          if (n < 2) {
            failures.set(p, n + 1);
            throw new Error(`induced failure ${n + 1} on partition ${p}`);
          }
        },
      });
      track(c.consumer);
      await waitFor('all 40 after retries', () => c.deliveries.length >= 40, waitMs * 2);
      await sleep(200);
      expect(c.deliveries).toHaveLength(40);
      expect(new Set(ids(c.deliveries))).toEqual(new Set(events.map((e) => e.event_id)));
      // Every partition that failed was handed the same first offset again.
      for (const [p, n] of failures) {
        expect(n).toBe(2);
        const first = c.deliveries
          .filter((d) => d.message.partition === p)
          .map((d) => BigInt(d.message.offset))
          .sort((x, y) => (x < y ? -1 : 1))[0];
        expect(first).toBe(0n);
      }
      expect(seen.length).toBeGreaterThan(40);
    });

    it('a partition whose handler keeps failing does not block the others, nor loses its messages', async () => {
      const { bus, partitions } = await harness();
      if (partitions < 2) return;
      const groupId = group();
      const events = eventStream(60, 12);
      await bus.publish(events);
      let stuck: number | undefined;
      const a = await collector(bus, {
        groupId,
        onBatch: async (messages) => {
          const p = messages[0]!.partition;
          stuck ??= p;
          if (p === stuck) throw new Error('this partition is broken');
        },
      });
      await waitFor('a healthy partition', () => a.deliveries.length > 0, waitMs);
      await sleep(1500); // the healthy partitions drain while the broken one keeps failing
      await a.consumer.stop();
      expect(a.deliveries.every((d) => d.message.partition !== stuck)).toBe(true);

      const b = await collector(bus, { groupId });
      track(b.consumer);
      await waitFor('the rest', () => a.deliveries.length + b.deliveries.length >= events.length, waitMs);
      await sleep(300);
      const union = [...ids(a.deliveries), ...ids(b.deliveries)];
      expect(union).toHaveLength(events.length);
      expect(new Set(union)).toEqual(new Set(events.map((e) => e.event_id)));
      expect(b.deliveries.every((d) => d.message.partition === stuck)).toBe(true);
    });

    it('stop() returns while a batch keeps failing, and the group gets that batch again', async () => {
      const { bus } = await harness();
      const groupId = group();
      const events = eventStream(10, 1); // one user: one partition
      await bus.publish(events);
      let attempts = 0;
      const a = await collector(bus, {
        groupId,
        onBatch: async () => {
          attempts++;
          throw new Error('store down');
        },
      });
      await waitFor('a failed attempt', () => attempts > 0, waitMs);
      await a.consumer.stop();
      expect(a.deliveries).toHaveLength(0);

      const b = await collector(bus, { groupId });
      track(b.consumer);
      await waitFor('redelivery', () => b.deliveries.length >= 10, waitMs);
      expect(ids(b.deliveries)).toEqual(events.map((e) => e.event_id));
    });

    it('members of one group share the partitions; other groups get everything', async () => {
      const { bus, partitions } = await harness();
      const groupId = group();
      const a = await collector(bus, { groupId });
      track(a.consumer);
      const b = await collector(bus, { groupId });
      track(b.consumer);
      const other = await collector(bus, { groupId: group() });
      track(other.consumer);
      const events = eventStream(90, 30);
      await bus.publish(events);
      await waitFor('all 90 in the group', () => a.deliveries.length + b.deliveries.length >= 90, waitMs);
      await waitFor('all 90 in the other group', () => other.deliveries.length >= 90, waitMs);
      await sleep(300);
      const union = [...ids(a.deliveries), ...ids(b.deliveries)];
      expect(union).toHaveLength(90);
      expect(new Set(union)).toEqual(new Set(events.map((e) => e.event_id)));
      expect(other.deliveries).toHaveLength(90);
      if (partitions >= 2) {
        expect(a.deliveries.length).toBeGreaterThan(0);
        expect(b.deliveries.length).toBeGreaterThan(0);
        const pa = new Set(a.deliveries.map((d) => d.message.partition));
        for (const d of b.deliveries) expect(pa.has(d.message.partition)).toBe(false);
      }

      // When one member leaves, the other takes over its partitions.
      await b.consumer.stop();
      const later = eventStream(30, 30);
      await bus.publish(later);
      const laterIds = new Set(later.map((e) => e.event_id));
      await waitFor(
        'the remaining member to take over',
        () => a.deliveries.filter((d) => laterIds.has(d.event?.event_id ?? '')).length >= 30,
        waitMs * 2,
      );
    });

    it('fromBeginning: false skips what was there before the group joined', async () => {
      const { bus } = await harness();
      const old = eventStream(10, 3);
      await bus.publish(old);
      const c = await collector(bus, { groupId: group(), fromBeginning: false });
      track(c.consumer);
      // A Kafka consumer settles its start offset at its first fetch: publish until one arrives.
      let lastPublish = 0;
      await waitFor(
        'a message published after joining',
        () => {
          if (c.deliveries.length > 0) return true;
          if (Date.now() - lastPublish > 200) {
            lastPublish = Date.now();
            void bus.publish([makeEvent(1, 1000)]);
          }
          return false;
        },
        waitMs,
      );
      const oldIds = new Set(old.map((e) => e.event_id));
      expect(c.deliveries.some((d) => oldIds.has(d.event?.event_id ?? ''))).toBe(false);
    });

    it('dead letters keep the original bytes, key and headers, and add the reason and origin', async () => {
      const { bus, topics, publishRaw } = await harness();
      await publishRaw(topics.events, [
        {
          key: '42',
          value: '{"not": "an event"',
          headers: { traceparent: '00-abc-def-01', 'x-custom': 'kept' },
        },
      ]);
      const src = await collector(bus, { groupId: group() });
      track(src.consumer);
      await waitFor('the raw message', () => src.deliveries.length >= 1, waitMs);
      const original = src.deliveries[0]!.message;
      await bus.publishDeadLetter(original, 'malformed', 'value is not valid JSON');

      const dlq = await collector(bus, { groupId: group(), topic: topics.deadLetter });
      track(dlq.consumer);
      await waitFor('the dead letter', () => dlq.deliveries.length >= 1, waitMs);
      const dead = dlq.deliveries[0]!.message;
      expect(dead.topic).toBe(topics.deadLetter);
      expect(dead.key).toBe('42');
      expect(dead.value.toString('utf8')).toBe('{"not": "an event"');
      expect(dead.headers['traceparent']).toBe('00-abc-def-01');
      expect(dead.headers['x-custom']).toBe('kept');
      expect(dead.headers[EVENT_HEADERS.dlqReason]).toBe('malformed');
      expect(dead.headers[EVENT_HEADERS.dlqError]).toBe('value is not valid JSON');
      expect(dead.headers[EVENT_HEADERS.dlqOriginalTopic]).toBe(topics.events);
      expect(dead.headers[EVENT_HEADERS.dlqOriginalPartition]).toBe(String(original.partition));
      expect(dead.headers[EVENT_HEADERS.dlqOriginalOffset]).toBe(original.offset);
    });

    it('close() stops its consumers', async () => {
      const { bus } = await harness();
      const events = eventStream(5, 5);
      const c = await collector(bus, { groupId: group() });
      await bus.publish(events);
      await waitFor('5 deliveries', () => c.deliveries.length >= 5, waitMs);
      await bus.close();
      await bus.close();
      await c.consumer.stop();
    });
  });
}
