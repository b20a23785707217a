/**
 * Time budgets for store calls on the request path.
 *
 * `withDeadlines(target, dependency, timeoutMs)` wraps a port so each data call either settles
 * within its budget or rejects with a `TimeoutError` naming the dependency; failures that are not
 * already `AppError`s become `DependencyError`s, so the HTTP edge can tell "store is down" (503,
 * fallback) from "bad input" (4xx) without knowing any adapter. The late call is not cancelled;
 * its result is simply ignored.
 */
import { AppError, DependencyError, TimeoutError } from '../lib/errors.ts';
import { type AsyncMethod, wrapMethods } from '../lib/observability/instrument.ts';
import type { CircuitBreaker } from './breaker.ts';

/** Calls that may legitimately take long (connecting, draining, creating topics). */
const UNBOUNDED = new Set(['start', 'close', 'consume', 'ensureTopics']);

export function withDeadline<T>(
  promise: Promise<T>,
  dependency: string,
  timeoutMs: number,
  breaker?: CircuitBreaker,
  /** The call is a ping: its failure opens the breaker at once. */
  ping = false,
): Promise<T> {
  // One promise per call (no Promise.race): this runs several times per request. The timer is
  // armed only if the call has not settled by the end of the current microtask turn: the
  // embedded adapters answer at once, and a timer per call cost more than their work.
  const started = performance.now();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        breaker?.settled();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        const failure = asPortError(error, dependency);
        breaker?.settled(failure, ping);
        reject(failure);
      },
    );
    queueMicrotask(() => {
      if (settled) return;
      const left = Math.max(0, timeoutMs - (performance.now() - started));
      timer = setTimeout(() => {
        // The late call's own settlement is ignored from here on.
        settled = true;
        const timeout = new TimeoutError(dependency, timeoutMs);
        breaker?.settled(timeout, ping);
        reject(timeout);
      }, left);
    });
  });
}

/**
 * What a failed port call rejects with: an `AppError` of the project as it is (not found, bad
 * input, a timeout of this port), and a dependency failure under the port's name in the user's
 * terms — `feature store: unavailable`, `feature store: timed out after 250 ms` — with the
 * adapter's own error (`redis: getUserVector: Connection is closed.`) kept as its cause, for the
 * logs only. So problem bodies and the unauthenticated readiness probe never show internals.
 */
export function asPortError(error: unknown, dependency: string): AppError {
  if (error instanceof AppError && !(error instanceof DependencyError)) return error;
  if (error instanceof DependencyError && error.dependency === dependency) return error;
  if (error instanceof TimeoutError) {
    const ms = Number(error.details['timeoutMs']);
    return new TimeoutError(dependency, Number.isFinite(ms) ? ms : 0, { cause: error });
  }
  const retriable = error instanceof AppError ? error.retriable : true;
  return new DependencyError(dependency, retriable ? 'unavailable' : 'request failed', {
    cause: error,
    retriable,
  });
}

/**
 * A view of `target` whose data calls are bounded by `timeoutMs`; `overrides` gives some methods
 * their own budget (e.g. a broker acknowledgement). With a `breaker`, every data call goes through
 * it: refused at once while the circuit is open, its outcome reported otherwise.
 */
export function withDeadlines<T extends object>(
  target: T,
  dependency: string,
  timeoutMs: number,
  overrides: Record<string, number> = {},
  breaker?: CircuitBreaker,
): T {
  return wrapMethods(target, (method, original): AsyncMethod | undefined => {
    if (UNBOUNDED.has(method)) return undefined;
    const budget = overrides[method] ?? timeoutMs;
    if (breaker === undefined) return (...args) => withDeadline(original(...args), dependency, budget);
    return (...args) => {
      if (!breaker.allow()) return Promise.reject(breaker.refusal());
      let call: Promise<unknown>;
      try {
        call = original(...args);
      } catch (error) {
        call = Promise.reject(error);
      }
      return withDeadline(call, dependency, budget, breaker, method === 'ping');
    };
  });
}
