import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { initTracing, type Tracing } from '../../lib/observability/tracing.ts';
import { REQUEST_LOG_MESSAGE, requestLog } from './request-log.ts';
import { traceRequests } from './tracing.ts';

/** A pino logger writing into an array of parsed lines. */
function capturingLogger(level: pino.Level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) if (text !== '') lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: pino({ level }, destination), lines };
}

function appWith(logger: pino.Logger) {
  const app = new Hono();
  app.use('*', traceRequests());
  app.use('*', requestLog(logger));
  app.get('/items/:item_idx', (c) => c.json({ id: c.req.param('item_idx') }));
  app.get('/health/live', (c) => c.json({ status: 'ok' }));
  app.get('/health/ready', (c) => c.json({ ready: false }, 503));
  app.get('/metrics', (c) => c.text('# metrics'));
  app.get('/teapot', () => {
    throw new HTTPException(418, { message: 'short and stout' });
  });
  app.onError((error, c) => c.text('failed', error instanceof HTTPException ? error.status : 500));
  return app;
}

describe('request log', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('writes one info line per request with the route pattern, status and duration', async () => {
    const { logger, lines } = capturingLogger();
    const app = appWith(logger);
    await app.request('/items/42');
    await app.request('/teapot');
    await app.request('/nowhere');
    await expect.poll(() => lines.length).toBe(3);
    const [ok, failed, unmatched] = lines;
    expect(ok).toMatchObject({
      level: 30,
      msg: REQUEST_LOG_MESSAGE,
      method: 'GET',
      route: '/items/:item_idx',
    });
    expect(ok!.status).toBe(200);
    expect(typeof ok!.ms).toBe('number');
    expect(ok!.ms).toBeGreaterThanOrEqual(0);
    expect(ok).not.toHaveProperty('trace_id');
    expect(failed).toMatchObject({ route: '/teapot', status: 418 });
    expect(unmatched).toMatchObject({ route: 'unmatched', status: 404 });
  });

  it('logs successful probes and scrapes at debug, failing ones at info', async () => {
    for (const level of ['info', 'debug'] as const) {
      const { logger, lines } = capturingLogger(level);
      const app = appWith(logger);
      await app.request('/health/live');
      await app.request('/metrics');
      await app.request('/health/ready');
      await app.request('/items/1');
      await expect.poll(() => lines.length).toBe(level === 'info' ? 2 : 4);
      const byRoute = Object.fromEntries(lines.map((l) => [l.route, l.level]));
      expect(byRoute['/health/ready']).toBe(30);
      expect(byRoute['/items/:item_idx']).toBe(30);
      if (level === 'debug') {
        expect(byRoute['/health/live']).toBe(20);
        expect(byRoute['/metrics']).toBe(20);
      }
    }
  });

  it('adds the trace id of the recording request span', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = initTracing({ enabled: true, serviceName: 'log-test', exporter, synchronous: true });
    const { logger, lines } = capturingLogger();
    await appWith(logger).request('/items/7');
    await expect.poll(() => lines.length).toBe(1);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'GET /items/:item_idx')!;
    expect(lines[0]!.trace_id).toBe(span.spanContext().traceId);
    expect(lines[0]!.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });
});
