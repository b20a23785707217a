/**
 * Retry with exponential backoff and full jitter.
 *
 * Only errors the `shouldRetry` predicate accepts are retried (by default: `AppError`s marked
 * `retriable`). The delay before attempt n is a random value in [0, min(maxDelay, initial * factor^n)],
 * which spreads reconnect storms ("full jitter").
 */
import { isRetriable } from './errors.ts';

export interface RetryOptions {
  /** Total attempts including the first. @default 5 */
  attempts?: number;
  /** @default 100 */
  initialDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
  /** @default 2 */
  factor?: number;
  /** @default isRetriable */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait, for logging. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Aborts the waiting between attempts. */
  signal?: AbortSignal;
  /** Source of randomness in [0, 1); replaceable in tests. @default Math.random */
  random?: () => number;
}

export const RETRY_DEFAULTS = {
  attempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 5000,
  factor: 2,
} as const;

export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'random'> = {},
): number {
  const initial = options.initialDelayMs ?? RETRY_DEFAULTS.initialDelayMs;
  const max = options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
  const factor = options.factor ?? RETRY_DEFAULTS.factor;
  const random = options.random ?? Math.random;
  const ceiling = Math.min(max, initial * factor ** attempt);
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? RETRY_DEFAULTS.attempts;
  const shouldRetry = options.shouldRetry ?? ((error: unknown) => isRetriable(error));
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !shouldRetry(error, attempt)) throw error;
      const delay = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
