import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../../lib/stores/memory/feature-store.ts';
import { HttpProblem } from '../problem.ts';
import { acceptEvents } from './events.ts';
import { NewIdLimiter } from './id-limiter.ts';

describe('acceptEvents: numbering never-seen ids', () => {
  it('answers 503 no-model and publishes nothing while no id map was ever loaded', async () => {
    const featureStore = new MemoryFeatureStore();
    await featureStore.start();
    const eventBus = new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' }, partitions: 1 });
    const metrics = createMetrics({ defaultMetrics: false });
    const limiter = new NewIdLimiter({ perClient: 10, total: 10 });
    const error = await acceptEvents(
      { featureStore, eventBus, metrics, idLimiter: limiter },
      [{ event_type: 'purchase', customer_id: 'a'.repeat(64), article_id: '0108775015' }],
      () => '',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpProblem);
    expect((error as HttpProblem).status).toBe(503);
    expect((error as HttpProblem).slug).toBe('no-model');
    expect((await metrics.purchaseEventsAccepted.get()).values[0]?.value ?? 0).toBe(0);
    expect(await featureStore.userIdxOf('a'.repeat(64))).toBeNull();
    // Nothing numbered, so nothing counted against the limit.
    expect(limiter.take('anonymous', 10)).toEqual({ ok: true });
  });
});

describe('NewIdLimiter', () => {
  it('bounds per client and in total per minute, and resets with the minute', () => {
    let now = 60_000 * 100 + 15_000;
    const limiter = new NewIdLimiter({ perClient: 3, total: 5 }, () => now);
    expect(limiter.take('a', 3)).toEqual({ ok: true });
    expect(limiter.take('a', 1)).toEqual({ ok: false, scope: 'client', retryAfterSeconds: 45 });
    expect(limiter.take('b', 2)).toEqual({ ok: true });
    expect(limiter.take('c', 1)).toEqual({ ok: false, scope: 'total', retryAfterSeconds: 45 });
    limiter.giveBack('b', 1);
    expect(limiter.take('c', 1)).toEqual({ ok: true });
    now += 45_000;
    expect(limiter.take('a', 3)).toEqual({ ok: true });
  });
});
