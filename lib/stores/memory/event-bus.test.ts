import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeEventBusConformance } from '../conformance/event-bus.ts';
import { MemoryEventBus } from './event-bus.ts';

function memoryHarness(partitions = 3) {
  const topics = { events: `events-${randomUUID()}`, deadLetter: `dlq-${randomUUID()}` };
  const bus = new MemoryEventBus({ topics, partitions, retry: { initialDelayMs: 5, maxDelayMs: 20 } });
  return {
    bus,
    topics,
    partitions,
    publishRaw: async (topic: string, messages: Parameters<MemoryEventBus['publishRaw']>[1]) =>
      bus.publishRaw(topic, messages),
    dispose: () => bus.close(),
  };
}

describeEventBusConformance('memory', async () => memoryHarness(), { waitMs: 3000 });
describeEventBusConformance('memory, one partition', async () => memoryHarness(1), { waitMs: 3000 });

describe('MemoryEventBus specifics', () => {
  it('trims what every group has committed beyond the retention', async () => {
    const topics = { events: 'e', deadLetter: 'd' };
    const bus = new MemoryEventBus({ topics, partitions: 1, retainMessages: 10 });
    let seen = 0;
    const consumer = await bus.consume({
      groupId: 'g',
      onBatch: async (m) => {
        seen += m.length;
      },
    });
    for (let i = 0; i < 100; i++) bus.publishRaw('e', [{ key: 'k', value: String(i) }]);
    while (seen < 100) await new Promise((r) => setTimeout(r, 5));
    await consumer.stop();
    bus.publishRaw('e', [{ key: 'k', value: 'last' }]);
    expect(bus.endOffsets('e')).toEqual([101]);
    // A new group reading from the beginning sees only the retained tail.
    const tail: string[] = [];
    const late = await bus.consume({
      groupId: 'late',
      onBatch: async (m) => void tail.push(...m.map((x) => x.value.toString())),
    });
    while (!tail.includes('last')) await new Promise((r) => setTimeout(r, 5));
    await late.stop();
    expect(tail.length).toBeLessThanOrEqual(13);
    expect(tail.length).toBeGreaterThanOrEqual(10);
  });

  it('keeps uncommitted messages of a stopped group however many arrive', async () => {
    const topics = { events: 'e', deadLetter: 'd' };
    const bus = new MemoryEventBus({ topics, partitions: 1, retainMessages: 5 });
    const first = await bus.consume({ groupId: 'g', onBatch: async () => {} });
    await first.stop();
    for (let i = 0; i < 50; i++) bus.publishRaw('e', [{ key: 'k', value: String(i) }]);
    const got: string[] = [];
    const again = await bus.consume({
      groupId: 'g',
      onBatch: async (m) => void got.push(...m.map((x) => x.value.toString())),
    });
    while (got.length < 50) await new Promise((r) => setTimeout(r, 5));
    await again.stop();
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('gathers a burst into one batch within the batch window', async () => {
    const bus = new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' }, partitions: 1 });
    const sizes: number[] = [];
    const consumer = await bus.consume({
      groupId: 'g',
      batchWindowMs: 300, // generous: the appends below are 2 ms apart
      onBatch: async (m) => void sizes.push(m.length),
    });
    for (let i = 0; i < 5; i++) {
      bus.publishRaw('e', [{ key: 'k', value: String(i) }]);
      await new Promise((r) => setTimeout(r, 2));
    }
    while (sizes.reduce((a, b) => a + b, 0) < 5) await new Promise((r) => setTimeout(r, 5));
    await consumer.stop();
    expect(sizes).toEqual([5]);
  });

  it('limits the partitions handled at once to `concurrency`', async () => {
    const bus = new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' }, partitions: 4 });
    let active = 0;
    let peak = 0;
    let handled = 0;
    const consumer = await bus.consume({
      groupId: 'g',
      concurrency: 1,
      onBatch: async (m) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        handled += m.length;
      },
    });
    bus.publishRaw(
      'e',
      Array.from({ length: 40 }, (_, i) => ({ key: String(i), value: 'x' })),
    );
    while (handled < 40) await new Promise((r) => setTimeout(r, 5));
    await consumer.stop();
    expect(peak).toBe(1);
  });
});
