import { describe, expect, it } from 'vitest';
import { AppError, DependencyError } from './errors.ts';
import { backoffDelay, retry } from './retry.ts';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, scaled by jitter', () => {
    const top = () => 0.999999;
    expect(backoffDelay(0, { initialDelayMs: 100, random: top })).toBe(99);
    expect(backoffDelay(3, { initialDelayMs: 100, random: top })).toBe(799);
    expect(backoffDelay(20, { initialDelayMs: 100, maxDelayMs: 1000, random: top })).toBe(999);
    expect(backoffDelay(5, { random: () => 0 })).toBe(0);
  });
});

describe('retry', () => {
  it('retries retriable errors and returns the first success', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new DependencyError('redis', 'connection refused');
        return 'ok';
      },
      { initialDelayMs: 1 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry errors that are not retriable', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new AppError('BAD', 'bad input');
      }),
    ).rejects.toThrow('bad input');
    expect(calls).toBe(1);
  });

  it('gives up after the given attempts with the last error', async () => {
    let calls = 0;
    const seen: number[] = [];
    await expect(
      retry(
        async () => {
          calls++;
          throw new DependencyError('kafka', `down ${calls}`);
        },
        { attempts: 4, initialDelayMs: 1, onRetry: (_e, attempt) => seen.push(attempt) },
      ),
    ).rejects.toThrow('kafka: down 4');
    expect(calls).toBe(4);
    expect(seen).toEqual([0, 1, 2]);
  });
});
