import { describe, expect, it } from 'vitest';
import { DependencyError, NotFoundError, TimeoutError } from '../lib/errors.ts';
import { CircuitBreaker } from './breaker.ts';
import { withDeadlines } from './deadline.ts';

const down = () => new DependencyError('feature store', 'connect ECONNREFUSED');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive retriable failures and refuses at once', () => {
    const changes: string[] = [];
    const breaker = new CircuitBreaker('feature store', {
      probe: () => new Promise(() => {}),
      failureThreshold: 3,
      onChange: (state) => changes.push(state),
    });
    try {
      breaker.settled(down());
      breaker.settled(down());
      expect(breaker.state).toBe('closed');
      expect(breaker.allow()).toBe(true);
      breaker.settled(new TimeoutError('feature store', 250));
      expect(breaker.state).toBe('open');
      expect(changes).toEqual(['open']);
      expect(breaker.allow()).toBe(false);
      expect(breaker.refusal().message).toBe('feature store: unavailable');
      expect(breaker.refusal().retriable).toBe(true);
    } finally {
      breaker.stop();
    }
  });

  it('does not count answers that are not outages; a success resets the count; a failed ping opens at once', () => {
    const breaker = new CircuitBreaker('feature store', {
      probe: () => new Promise(() => {}),
      failureThreshold: 2,
    });
    try {
      breaker.settled(down());
      breaker.settled(new NotFoundError('no such version'));
      breaker.settled(down());
      expect(breaker.state).toBe('closed');
      breaker.settled(new TimeoutError('feature store', 250), true);
      expect(breaker.state).toBe('open');
    } finally {
      breaker.stop();
    }
  });

  it('pings while open, without letting requests through, and closes on the first answer', async () => {
    let healthy = false;
    let probes = 0;
    const changes: string[] = [];
    const breaker = new CircuitBreaker('vector index', {
      probe: async () => {
        probes++;
        if (!healthy) throw down();
      },
      failureThreshold: 1,
      probeAfterMs: 20,
      onChange: (state) => changes.push(state),
    });
    breaker.settled(down());
    await sleep(70);
    expect(probes).toBeGreaterThanOrEqual(2);
    expect(breaker.allow()).toBe(false);
    healthy = true;
    const back = performance.now();
    while (breaker.state === 'open' && performance.now() - back < 1000) await sleep(5);
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
    expect(changes).toEqual(['open', 'closed']);
    const after = probes;
    await sleep(50);
    expect(probes).toBe(after); // no pings while closed
  });
});

describe('withDeadlines with a breaker', () => {
  it('refuses calls without invoking the port while open, and serves again once a ping answers', async () => {
    let calls = 0;
    let healthy = false;
    const port = {
      async read(): Promise<string> {
        calls++;
        if (!healthy) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return 'ok';
      },
      async ping(): Promise<void> {
        if (!healthy) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
    };
    const breaker = new CircuitBreaker('feature store', {
      probe: () => port.ping(),
      failureThreshold: 2,
      probeAfterMs: 20,
    });
    const guarded = withDeadlines(port, 'feature store', 250, {}, breaker);
    for (let i = 0; i < 2; i++) {
      // In the port's words; the adapter's error is the cause (for the logs).
      const error = (await guarded.read().catch((e: unknown) => e)) as Error;
      expect(error.message).toBe('feature store: unavailable');
      expect((error.cause as Error).message).toMatch(/ECONNREFUSED/);
    }
    expect(calls).toBe(2);
    const refused = await guarded.read().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DependencyError);
    expect((refused as Error).message).toBe('feature store: unavailable');
    expect(calls).toBe(2);
    healthy = true;
    await sleep(60);
    await expect(guarded.read()).resolves.toBe('ok');
    expect(calls).toBe(3);
  });

  it('counts a call that outlives its budget as a failure, and a failed ping opens the circuit', async () => {
    const port = {
      slow: () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 60)),
      ping: () => Promise.reject(new Error('ECONNRESET')),
    };
    const breaker = new CircuitBreaker('vector index', {
      probe: () => new Promise(() => {}),
      failureThreshold: 2,
    });
    try {
      const guarded = withDeadlines(port, 'vector index', 10, {}, breaker);
      await expect(guarded.slow()).rejects.toBeInstanceOf(TimeoutError);
      expect(breaker.state).toBe('closed');
      await expect(guarded.ping()).rejects.toThrow('vector index: unavailable');
      expect(breaker.state).toBe('open');
    } finally {
      breaker.stop();
    }
  });
});
