/**
 * `GET /health/live` (the process answers) and `GET /health/ready` (every dependency answers a
 * ping within the store budget; 503 naming the ones that do not).
 */
import { createRoute } from '@hono/zod-openapi';
import type { App, ServeContext } from '../context.ts';
import { healthResponse } from '../schemas.ts';

const live = createRoute({
  method: 'get',
  path: '/health/live',
  tags: ['operations'],
  summary: 'Liveness',
  responses: {
    200: { description: 'the process is up', content: { 'application/json': { schema: healthResponse } } },
  },
});

const ready = createRoute({
  method: 'get',
  path: '/health/ready',
  tags: ['operations'],
  summary: 'Readiness: feature store, vector index and event bus answer',
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: healthResponse } } },
    503: { description: 'a dependency is down', content: { 'application/json': { schema: healthResponse } } },
  },
});

type Check = { status: 'up' | 'down'; error?: string };

async function check(ping: () => Promise<void>): Promise<Check> {
  try {
    await ping();
    return { status: 'up' };
  } catch (error) {
    // The port's own words (`feature store: unavailable`); the adapter's error is in the log.
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  }
}

export function registerHealthRoutes(app: App, ctx: ServeContext): void {
  app.openapi(live, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(ready, async (c) => {
    const [featureStore, vectorIndex, eventBus] = await Promise.all([
      check(() => ctx.featureStore.ping()),
      check(() => ctx.vectorIndex.ping()),
      check(() => ctx.eventBus.ping()),
    ]);
    const checks = { feature_store: featureStore, vector_index: vectorIndex, event_bus: eventBus };
    const modelVersion =
      featureStore.status === 'up' ? await ctx.featureStore.activeVersion().catch(() => null) : null;
    const up = featureStore.status === 'up' && vectorIndex.status === 'up' && eventBus.status === 'up';
    if (up) return c.json({ status: 'ready' as const, checks, model_version: modelVersion }, 200);
    return c.json({ status: 'not_ready' as const, checks, model_version: modelVersion }, 503);
  });
}
