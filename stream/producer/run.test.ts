import { describe, expect, it } from 'vitest';
import type { UserEvent } from '../../lib/events.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import { syntheticCatalog } from './catalog.ts';
import { runProducer } from './run.ts';
import { createEventSimulator } from './simulator.ts';

describe('runProducer', () => {
  it('publishes at the asked rate for the asked duration, everything acknowledged', async () => {
    const bus = new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' }, partitions: 3 });
    const sent: UserEvent[] = [];
    const progress: Array<{ sent: number; elapsedS: number }> = [];
    const result = await runProducer({
      bus,
      simulator: createEventSimulator(syntheticCatalog(100, 50)),
      rate: 2000,
      durationMs: 1200,
      onSent: (events) => sent.push(...events),
      onProgress: (p) => progress.push({ sent: p.sent, elapsedS: p.elapsedS }),
    });
    expect(result.sent).toBe(2400);
    expect(result.failed).toBe(0);
    expect(sent).toHaveLength(2400);
    expect(bus.endOffsets('e').reduce((a, b) => a + b, 0)).toBe(2400);
    expect(result.byType.click + result.byType.add_to_cart + result.byType.purchase).toBe(2400);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // Paced, not dumped at once: at the first report, about rate × elapsed had gone out.
    const first = progress[0]!;
    expect(first.sent / first.elapsedS).toBeGreaterThan(1600);
    expect(first.sent / first.elapsedS).toBeLessThan(2400);
  });

  it('stops when the signal aborts and counts failed publishes', async () => {
    const bus = new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' }, partitions: 1 });
    let calls = 0;
    const failing = Object.assign(Object.create(bus) as MemoryEventBus, {
      publish: async (events: UserEvent[]) => {
        if (++calls % 2 === 0) throw new Error('broker down');
        return bus.publish(events);
      },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const errors: unknown[] = [];
    const result = await runProducer({
      bus: failing,
      simulator: createEventSimulator(syntheticCatalog(10, 10)),
      rate: 1000,
      signal: controller.signal,
      onError: (e) => errors.push(e),
    });
    expect(result.elapsedS).toBeLessThan(1);
    expect(result.failed).toBeGreaterThan(0);
    expect(result.sent).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(result.sent).toBe(bus.endOffsets('e')[0]);
  });
});
