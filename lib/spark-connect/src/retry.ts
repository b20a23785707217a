/**
 * Exponential backoff with full jitter for transient gRPC failures (server restarting,
 * connection dropped). Kept inside the client so it has no project dependencies.
 */

export interface RetryPolicy {
  /** Attempts including the first. @default 6 */
  attempts: number;
  /** First backoff ceiling in ms. @default 100 */
  initialDelayMs: number;
  /** Largest backoff ceiling in ms. @default 10000 */
  maxDelayMs: number;
  /** Growth factor of the ceiling per attempt. @default 3 */
  factor: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 6,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 3,
};

/** Delay before retry number `attempt` (0-based): uniform in [0, min(max, initial * factor^attempt)]. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** attempt);
  return Math.round(random() * ceiling);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` until it succeeds, `shouldRetry` refuses the error, or the attempts run out. */
export async function withRetry<T>(
  policy: RetryPolicy,
  shouldRetry: (error: unknown) => boolean,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt + 1 >= policy.attempts || !shouldRetry(error)) throw error;
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
