import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, withRetry } from '../src/retry.ts';

const fast = { attempts: 4, initialDelayMs: 1, maxDelayMs: 2, factor: 2 };

describe('retry', () => {
  it('draws delays within the growing, capped ceiling', () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 0, () => 0.999)).toBeLessThanOrEqual(100);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 2, () => 0.999)).toBeCloseTo(900, -1);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 20, () => 0.999)).toBeLessThanOrEqual(10_000);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 3, () => 0)).toBe(0);
  });

  it('retries retriable failures until success', async () => {
    let calls = 0;
    const value = await withRetry(
      fast,
      () => true,
      async () => {
        calls++;
        if (calls < 3) throw new Error('flaky');
        return 'ok';
      },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after the attempts, and at once on non-retriable errors', async () => {
    let calls = 0;
    await expect(
      withRetry(
        fast,
        () => true,
        async () => {
          calls++;
          throw new Error('down');
        },
      ),
    ).rejects.toThrow('down');
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      withRetry(
        fast,
        () => false,
        async () => {
          calls++;
          throw new Error('bad request');
        },
      ),
    ).rejects.toThrow('bad request');
    expect(calls).toBe(1);
  });
});
