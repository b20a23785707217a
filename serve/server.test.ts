import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.ts';
import { wrapMethods } from '../lib/observability/instrument.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { freePort } from '../test/support/net.ts';
import { ensureModelLoaded, startApi } from './bootstrap.ts';
import { listen } from './server.ts';
import { ShutdownSequence } from './shutdown.ts';

const silent = createLogger({ level: 'silent' });

describe('ShutdownSequence', () => {
  it('runs steps in reverse order, once, and goes on past a failing step', async () => {
    const order: string[] = [];
    const shutdown = new ShutdownSequence(silent);
    shutdown.add('store', async () => {
      order.push('store');
    });
    shutdown.add('bus', async () => {
      order.push('bus');
      throw new Error('flush failed');
    });
    shutdown.add('server', async () => {
      order.push('server');
    });
    const [first, second] = await Promise.all([shutdown.run(), shutdown.run()]);
    expect(order).toEqual(['server', 'bus', 'store']);
    expect(first).toBe(false);
    expect(second).toBe(false);
    expect(await shutdown.run()).toBe(false);
    expect(order).toHaveLength(3);
    expect(() => shutdown.add('late', async () => {})).toThrow(/shutdown has begun/);
  });
});

describe('listen', () => {
  it('lets an in-flight request finish on close, then refuses new connections', async () => {
    const app = new Hono();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    app.get('/slow', async (c) => {
      arrived();
      await gate;
      return c.text('done');
    });
    const server = await listen(app, { host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${server.url}/slow`).then(async (r) => [r.status, await r.text()]);
    await started;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    release();
    expect(await inFlight).toEqual([200, 'done']);
    await closing;
    expect(closed).toBe(true);
    await expect(fetch(`${server.url}/slow`)).rejects.toThrow();
    await server.close(); // idempotent
  });

  it('cuts connections still open after the drain timeout', async () => {
    const app = new Hono();
    app.get('/hang', () => new Promise<Response>(() => {}));
    const server = await listen(app, { host: '127.0.0.1', port: 0, drainTimeoutMs: 100 });
    const hanging = fetch(`${server.url}/hang`).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await hanging).toBeInstanceOf(Error);
  });
});

describe('API process', () => {
  let modelsDir: string;
  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'api-models-'));
    await syntheticBundle({ items: 400, users: 60, rank: 8, seed: 7, outDir: modelsDir });
  });
  afterAll(async () => {
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('loads the newest bundle into empty in-process stores, serves, and shuts down cleanly', async () => {
    const config = loadConfig({ MODELS_DIR: modelsDir, HOST: '127.0.0.1' });
    config.api.port = 0;
    const api = await startApi(config, silent);
    try {
      const ready = await fetch(`${api.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', model_version: 'v20200922-000000' });
      const recs = (await (await fetch(`${api.url}/recommend/1?k=5`)).json()) as {
        source: string;
        items: unknown[];
      };
      expect(recs.source).toBe('personalized');
      expect(recs.items).toHaveLength(5);
    } finally {
      expect(await api.shutdown.run()).toBe(true);
    }
    await expect(fetch(`${api.url}/health/live`)).rejects.toThrow();
  });

  it('fills only the vector index when the feature store already serves a version', async () => {
    const featureStore = new MemoryFeatureStore();
    const first = new EmbeddedVectorIndex();
    expect(await ensureModelLoaded(featureStore, first, modelsDir, silent)).toBe('v20200922-000000');
    const writes: string[] = [];
    const watched = wrapMethods(featureStore, (method, original) =>
      method.startsWith('put') || method.startsWith('activate')
        ? (...args) => {
            writes.push(method);
            return original(...args);
          }
        : undefined,
    );
    const second = new EmbeddedVectorIndex();
    expect(await ensureModelLoaded(watched, second, modelsDir, silent)).toBe('v20200922-000000');
    expect(writes).toEqual([]);
    expect(await second.activeVersion()).toBe('v20200922-000000');
    expect(await second.count('v20200922-000000')).toBe(400);
    const empty = await mkdtemp(join(tmpdir(), 'api-no-models-'));
    expect(
      await ensureModelLoaded(new MemoryFeatureStore(), new EmbeddedVectorIndex(), empty, silent),
    ).toBeNull();
    await rm(empty, { recursive: true });
  });

  it('npm run serve stops on SIGTERM in reverse start-up order and exits 0', async () => {
    const port = await freePort();
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        MODELS_DIR: modelsDir,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await expect.poll(() => output.includes('API listening'), { timeout: 30_000, interval: 100 }).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopped = output
      .split('\n')
      .filter((line) => line.includes('"msg":"stopped"'))
      .map((line) => (JSON.parse(line) as { step: string }).step);
    expect(stopped).toEqual([
      'dependency watch',
      'http server',
      'event bus',
      'vector index',
      'feature store',
      'tracing',
    ]);
  }, 60_000);

  it('with API_WORKERS=2 runs two workers on one port and stops both on SIGTERM', async () => {
    const port = await freePort();
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        MODELS_DIR: modelsDir,
        API_WORKERS: '2',
        FEATURE_STORE: 'memory',
        EVENT_BUS: 'memory',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const count = (text: string) => output.split(text).length - 1;
    await expect.poll(() => count('API listening'), { timeout: 60_000, interval: 100 }).toBe(2);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`http://127.0.0.1:${port}/recommend/3?k=2`).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(Array(8).fill(200));
    // In-process adapters are per worker: the primary says so once.
    expect(count('each API worker gets its own copy of the in-process adapters')).toBe(1);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(count('"step":"http server"')).toBe(2);
    expect(count('"step":"feature store"')).toBe(2);
  }, 90_000);

  it('exits 2 naming the variable when the configuration is invalid', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('PORT: must be an integer');
  }, 60_000);
});
