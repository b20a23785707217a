/**
 * Time budgets for store calls on the request path.
 *
 * `withDeadlines(target, dependency, timeoutMs)` wraps a port so each data call either settles
 * within its budget or rejects with a `TimeoutError` naming the dependency; failures that are not
 * already `AppError`s become `DependencyError`s, so the HTTP edge can tell "store is down" (503,
 * fallback) from "bad input" (4xx) without knowing any adapter. The late call is not cancelled;
 * its result is simply ignored.
 */
import { AppError, DependencyError, describeError, TimeoutError } from '../lib/errors.ts';
import { type AsyncMethod, wrapMethods } from '../lib/observability/instrument.ts';

/** Calls that may legitimately take long (connecting, draining, creating topics). */
const UNBOUNDED = new Set(['start', 'close', 'consume', 'ensureTopics']);

export function withDeadline<T>(promise: Promise<T>, dependency: string, timeoutMs: number): Promise<T> {
  // One promise per call (no Promise.race): this runs several times per request. The timer is
  // armed only if the call has not settled by the end of the current microtask turn: the
  // embedded adapters answer at once, and a timer per call cost more than their work.
  const started = performance.now();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    promise.then(
      (value) => {
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        reject(
          error instanceof AppError
            ? error
            : new DependencyError(dependency, describeError(error), { cause: error }),
        );
      },
    );
    queueMicrotask(() => {
      if (settled) return;
      const left = Math.max(0, timeoutMs - (performance.now() - started));
      timer = setTimeout(() => reject(new TimeoutError(dependency, timeoutMs)), left);
    });
  });
}

/**
 * A view of `target` whose data calls are bounded by `timeoutMs`; `overrides` gives some methods
 * their own budget (e.g. a broker acknowledgement).
 */
export function withDeadlines<T extends object>(
  target: T,
  dependency: string,
  timeoutMs: number,
  overrides: Record<string, number> = {},
): T {
  return wrapMethods(target, (method, original): AsyncMethod | undefined => {
    if (UNBOUNDED.has(method)) return undefined;
    const budget = overrides[method] ?? timeoutMs;
    return (...args) => withDeadline(original(...args), dependency, budget);
  });
}
