import { afterEach, describe, expect, it, vi } from 'vitest';
import { DependencyError, NotFoundError, TimeoutError } from '../lib/errors.ts';
import { withDeadline, withDeadlines } from './deadline.ts';

const never = () => new Promise<never>(() => {});

describe('withDeadline', () => {
  it('passes values and app errors through unchanged', async () => {
    expect(await withDeadline(Promise.resolve(3), 'redis', 50)).toBe(3);
    const notFound = new NotFoundError('gone');
    await expect(withDeadline(Promise.reject(notFound), 'redis', 50)).rejects.toBe(notFound);
  });

  it('rejects with a TimeoutError naming the dependency when the budget runs out', async () => {
    const error = await withDeadline(never(), 'vector index', 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toBe('vector index: timed out after 20 ms');
    expect((error as TimeoutError).retriable).toBe(true);
  });

  describe('timers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('arms none for a call that has settled within the turn, one for a call still pending', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      expect(await withDeadline(Promise.resolve('now'), 'redis', 50)).toBe('now');
      expect(vi.getTimerCount()).toBe(0);
      let release!: (value: string) => void;
      const later = withDeadline(new Promise<string>((resolve) => (release = resolve)), 'redis', 50);
      await Promise.resolve();
      await Promise.resolve();
      expect(vi.getTimerCount()).toBe(1);
      release('later');
      expect(await later).toBe('later');
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  it('turns foreign failures into DependencyErrors with the cause kept', async () => {
    const cause = new Error('ECONNREFUSED');
    const error = await withDeadline(Promise.reject(cause), 'redis', 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('redis');
    expect((error as DependencyError).cause).toBe(cause);
    expect((error as DependencyError).message).toBe('redis: unavailable');
  });

  it("puts an adapter's dependency failures in the port's words, the adapter's error as the cause", async () => {
    const adapter = new DependencyError('redis', 'getUserVector: Connection is closed.');
    const error = (await withDeadline(Promise.reject(adapter), 'feature store', 50).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.message).toBe('feature store: unavailable');
    expect(error.cause).toBe(adapter);
    const slow = new TimeoutError('redis', 250);
    const timeout = (await withDeadline(Promise.reject(slow), 'feature store', 50).catch(
      (e: unknown) => e,
    )) as Error;
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout.message).toBe('feature store: timed out after 250 ms');
    const rejected = new DependencyError('redis', 'WRONGTYPE Operation against a key', { retriable: false });
    const failed = (await withDeadline(Promise.reject(rejected), 'feature store', 50).catch(
      (e: unknown) => e,
    )) as DependencyError;
    expect(failed.message).toBe('feature store: request failed');
    expect(failed.retriable).toBe(false);
  });
});

describe('withDeadlines', () => {
  it('bounds data calls, leaves lifecycle calls alone, and honours per-method budgets', async () => {
    const target = {
      kind: 'fake',
      slow: never,
      start: () => new Promise<string>((resolve) => setTimeout(() => resolve('started'), 40)),
      publish: () => new Promise<string>((resolve) => setTimeout(() => resolve('acked'), 40)),
    };
    const bounded = withDeadlines(target, 'bus', 10, { publish: 200 });
    expect(bounded.kind).toBe('fake');
    await expect(bounded.slow()).rejects.toBeInstanceOf(TimeoutError);
    expect(await bounded.start()).toBe('started');
    expect(await bounded.publish()).toBe('acked');
  });
});
