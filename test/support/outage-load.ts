/**
 * The API and the load of the outage tests: the app over HTTP on given stores (memory event bus,
 * silent logs), workers calling the API over HTTP in a loop (a user per call,
 * a tenth of the calls to a second path) and recording every answer with its time, and a wait
 * for the first personalized list after a dependency came back.
 */
import { createLogger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { createApp } from '../../serve/app.ts';
import { type HttpServerHandle, listen } from '../../serve/server.ts';

/** The API on `featureStore` and `vectorIndex`, listening on a free port of 127.0.0.1. */
export function serveOn(featureStore: FeatureStore, vectorIndex: VectorIndex): Promise<HttpServerHandle> {
  const app = createApp({
    featureStore,
    vectorIndex,
    eventBus: new MemoryEventBus({ topics: { events: 'events', deadLetter: 'dead' } }),
    metrics: createMetrics(),
    logger: createLogger({ level: 'silent' }),
  });
  return listen(app, { host: '127.0.0.1', port: 0 });
}

export interface OutageAnswer {
  /** When the request was sent and when its answer came (performance.now). */
  sentAt: number;
  at: number;
  path: string;
  status: number;
  source?: string;
  fallback_reason?: string;
  detail?: string;
}

export interface OutageLoad {
  answers: OutageAnswer[];
  /** Stops the workers and waits for their last calls. */
  stop(): Promise<void>;
}

/** `paths(i)` names the call for user `i` of `users`. */
export function startLoad(
  baseUrl: string,
  users: number,
  paths: (i: number) => string,
  workers = 6,
): OutageLoad {
  const answers: OutageAnswer[] = [];
  let stopped = false;
  const worker = async (seed: number) => {
    let i = seed;
    while (!stopped) {
      i = (i * 7919 + 13) % users;
      const path = paths(i);
      const sentAt = performance.now();
      const res = await fetch(`${baseUrl}${path}`);
      const body = (await res.json()) as Omit<OutageAnswer, 'sentAt' | 'at' | 'path' | 'status'>;
      answers.push({ sentAt, at: performance.now(), path, status: res.status, ...body });
    }
  };
  const running = Promise.all(Array.from({ length: workers }, (_, w) => worker(w + 1)));
  return {
    answers,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** When (performance.now) `path` first answered a personalized list, or NaN within `timeoutMs`. */
export async function untilPersonalized(baseUrl: string, path: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const res = await fetch(`${baseUrl}${path}`);
    const body = (await res.json()) as { source?: string };
    if (res.status === 200 && body.source === 'personalized') return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Number.NaN;
}
