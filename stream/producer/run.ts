/**
 * Publishes simulated events at a steady rate: the loop behind `npm run stream:produce`, the
 * quickstart's background traffic and the benchmarks' load.
 *
 * Pacing: the number of events due is `rate × elapsed`; whatever is due goes out as one publish
 * (up to `maxBatch`), then the loop sleeps until the next event is due. A slow acknowledgement
 * therefore makes the next publish larger rather than lowering the rate. A failed publish is
 * counted and reported, and the loop goes on.
 */

import { describeError } from '../../lib/errors.ts';
import type { UserEvent } from '../../lib/events.ts';
import { sleep } from '../../lib/retry.ts';
import type { EventBus } from '../../lib/stores/event-bus.ts';
import type { EventSimulator } from './simulator.ts';

export interface ProducerProgress {
  elapsedS: number;
  /** Events acknowledged by the bus so far. */
  sent: number;
  failed: number;
  /** Acknowledged events per second over the last interval. */
  ratePerS: number;
  byType: Record<UserEvent['event_type'], number>;
}

export interface RunProducerOptions {
  bus: EventBus;
  simulator: EventSimulator;
  /** Events per second. */
  rate: number;
  /** Stop after this long; undefined runs until the signal aborts. */
  durationMs?: number;
  signal?: AbortSignal;
  /** Events per publish at most. @default 5000 */
  maxBatch?: number;
  /** Called about once a second and at the end. */
  onProgress?: (progress: ProducerProgress) => void;
  /** Called with every acknowledged batch (tests and benchmarks record what was sent). */
  onSent?: (events: UserEvent[]) => void;
  onError?: (error: unknown) => void;
  /** Extra headers on every message (e.g. trace context). */
  headers?: () => Record<string, string>;
}

export async function runProducer(options: RunProducerOptions): Promise<ProducerProgress> {
  if (!(options.rate > 0)) throw new RangeError(`rate must be positive, got ${options.rate}`);
  const maxBatch = options.maxBatch ?? 5000;
  const started = performance.now();
  const progress: ProducerProgress = {
    elapsedS: 0,
    sent: 0,
    failed: 0,
    ratePerS: 0,
    byType: { click: 0, add_to_cart: 0, purchase: 0 },
  };
  let generated = 0;
  let lastReport = started;
  let sentAtLastReport = 0;

  const report = (now: number) => {
    progress.elapsedS = (now - started) / 1000;
    progress.ratePerS = ((progress.sent - sentAtLastReport) * 1000) / Math.max(1, now - lastReport);
    lastReport = now;
    sentAtLastReport = progress.sent;
    options.onProgress?.({ ...progress, byType: { ...progress.byType } });
  };

  while (!options.signal?.aborted) {
    const now = performance.now();
    const elapsed = now - started;
    const finished = options.durationMs !== undefined && elapsed >= options.durationMs;
    const limit = options.durationMs === undefined ? elapsed : Math.min(elapsed, options.durationMs);
    const due = Math.min(Math.floor((options.rate * limit) / 1000) - generated, maxBatch);
    if (due > 0) {
      const wallClock = new Date();
      const events = Array.from({ length: due }, () => options.simulator.next(wallClock));
      generated += due;
      try {
        await options.bus.publish(events, options.headers?.());
        progress.sent += due;
        for (const e of events) progress.byType[e.event_type]++;
        options.onSent?.(events);
      } catch (error) {
        progress.failed += due;
        options.onError?.(error instanceof Error ? error : new Error(describeError(error)));
      }
    } else if (finished) {
      break;
    } else {
      const nextDueMs = ((generated + 1) * 1000) / options.rate - elapsed;
      await sleep(Math.max(1, Math.min(nextDueMs, 50)), options.signal).catch(() => {});
    }
    if (performance.now() - lastReport >= 1000) report(performance.now());
  }
  report(performance.now());
  return progress;
}
