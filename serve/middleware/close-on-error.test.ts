import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../../lib/stores/memory/feature-store.ts';
import { createApp } from '../app.ts';
import { type HttpServerHandle, listen } from '../server.ts';

describe('error answers to requests with a body, on a keep-alive connection', () => {
  let server: HttpServerHandle;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    const app = createApp({
      featureStore: new MemoryFeatureStore(),
      vectorIndex: new EmbeddedVectorIndex(),
      eventBus: new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' } }),
      metrics: createMetrics(),
      options: { bodyLimitBytes: 1024, apiKeys: ['secret'] },
    });
    server = await listen(app, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    agent.destroy();
    await server?.close();
  });

  /** One request through the single-socket agent: status, Connection header, and which socket. */
  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; connection: string | undefined; socket: unknown }>((resolve, reject) => {
      const req = http.request(`${server.url}${path}`, { method, agent, headers }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode!, connection: res.headers.connection, socket: req.socket }),
        );
      });
      req.on('error', reject);
      if (body !== undefined) req.end(body);
      else req.end();
    });

  it('closes the connection after a 413, a 401 or a 404 it did not read the body of; the next request works', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(200_000) });
    const json = { 'content-type': 'application/json', 'x-api-key': 'secret' };
    // (The size limit is checked before the key: the 401 gets a body under the limit.)
    const small = JSON.stringify({ padding: 'x'.repeat(900) });
    const cases = [
      { path: '/events/purchase', headers: json, body: big, status: 413 },
      { path: '/events/purchase', headers: { 'content-type': 'application/json' }, body: small, status: 401 },
      { path: '/no/such/route', headers: json, body: big, status: 404 },
    ];
    for (const { path, headers, body, status } of cases) {
      const refused = await send('POST', path, body, headers);
      expect(refused).toMatchObject({ status, connection: 'close' });
      // Without the close, the unread body would be parsed as this request: "socket hang up".
      const next = await send('GET', '/health/live');
      expect(next).toMatchObject({ status: 200, connection: 'keep-alive' });
    }
  });

  it('keeps the connection for successes and for errors without a body', async () => {
    const first = await send('GET', '/health/live');
    const missing = await send('GET', '/no/such/route');
    const again = await send('GET', '/health/live');
    expect(missing).toMatchObject({ status: 404, connection: 'keep-alive' });
    expect(again.socket).toBe(first.socket);
  });
});
