/**
 * The app factory: `createApp(deps)` wires the ports into the Hono application.
 *
 * The ports it is given are wrapped here, once: timing into the store latency histograms, then a
 * deadline on every data call, so handlers never wait on a store longer than `storeTimeoutMs`,
 * and a circuit breaker per store (breaker.ts), so a store that is down costs a request
 * microseconds, not a timeout, and its degraded answer.
 * No I/O happens at construction; `main.ts` owns starting and stopping the adapters. Tests call
 * `app.request(...)` in-process.
 */

import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { describeError } from '../lib/errors.ts';
import { instrumentFeatureStore, instrumentVectorIndex } from '../lib/observability/instrument.ts';
import { CircuitBreaker } from './breaker.ts';
import type { ServeContext } from './context.ts';
import { withDeadline, withDeadlines } from './deadline.ts';
import { type AppDeps, SERVE_DEFAULTS, type ServeOptions } from './deps.ts';
import { API_KEY_HEADER, apiKeyAuth } from './middleware/api-key.ts';
import { closeOnBodyErrors } from './middleware/close-on-error.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { requestLog } from './middleware/request-log.ts';
import { traceRequests } from './middleware/tracing.ts';
import { HttpProblem, problemFor, problemResponse } from './problem.ts';
import { registerDemoRoutes } from './routes/demo.ts';
import { registerDocsRoutes } from './routes/docs.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerProfileRoutes } from './routes/profile.ts';
import { registerRecommendRoutes } from './routes/recommend.ts';
import { registerSimilarRoutes } from './routes/similar.ts';
import { NewIdLimiter } from './services/id-limiter.ts';
import { createRecommender } from './services/recommendations.ts';
import { validationHook } from './validation.ts';

/** Names the ports carry in dependency errors and problem responses. */
export const DEPENDENCY = {
  featureStore: 'feature store',
  vectorIndex: 'vector index',
  eventBus: 'event bus',
} as const;

export const API_TITLE = 'Real-time recommendation API';
export const API_VERSION = '1.0.0';

export function createApp(deps: AppDeps) {
  const options: ServeOptions = { ...SERVE_DEFAULTS, ...deps.options };
  const { metrics, logger } = deps;
  const breakers: CircuitBreaker[] = [];
  /** The port bounded by the store budget (`overrides`: own budgets) behind its circuit breaker. */
  const guard = <T extends { ping(): Promise<void> }>(
    port: T,
    dependency: string,
    overrides: Record<string, number> = {},
  ): T => {
    const breaker = new CircuitBreaker(dependency, {
      probe: () => withDeadline(port.ping(), dependency, options.storeTimeoutMs),
      onChange: (state, name, cause) => {
        if (state === 'open')
          logger?.warn({ dependency: name, err: describeError(cause) }, 'circuit open: answering degraded');
        else logger?.info({ dependency: name }, 'circuit closed: the dependency answers again');
      },
    });
    breakers.push(breaker);
    return withDeadlines(port, dependency, options.storeTimeoutMs, overrides, breaker);
  };
  const featureStore = guard(instrumentFeatureStore(deps.featureStore, metrics), DEPENDENCY.featureStore);
  const vectorIndex = guard(instrumentVectorIndex(deps.vectorIndex, metrics), DEPENDENCY.vectorIndex);
  const eventBus = guard(deps.eventBus, DEPENDENCY.eventBus, { publish: options.publishTimeoutMs });
  const ctx: ServeContext = {
    featureStore,
    vectorIndex,
    eventBus,
    metrics,
    logger,
    options,
    now: deps.now,
    newEventId: deps.newEventId,
    idLimiter: new NewIdLimiter(options.newIds, deps.now ? () => deps.now!().getTime() : Date.now),
    recommender: createRecommender({
      featureStore,
      vectorIndex,
      metrics,
      logger,
      serve: options,
      ...(deps.now ? { now: () => deps.now!().getTime() } : {}),
    }),
  };

  const app = new OpenAPIHono({ defaultHook: validationHook() });

  app.use('*', closeOnBodyErrors());
  app.use('*', httpMetrics(metrics));
  app.use('*', traceRequests());
  if (logger) app.use('*', requestLog(logger));
  if (options.corsOrigins.length > 0) {
    const any = options.corsOrigins.includes('*');
    app.use(
      '*',
      cors({
        origin: any ? '*' : [...options.corsOrigins],
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['content-type', API_KEY_HEADER, 'authorization'],
        maxAge: 600,
      }),
    );
  }
  const limitBody = bodyLimit({
    maxSize: options.bodyLimitBytes,
    onError: () => {
      throw new HTTPException(413, { message: `the request body exceeds ${options.bodyLimitBytes} bytes` });
    },
  });
  const requireKey = apiKeyAuth(options.apiKeys);
  for (const path of ['/events', '/events/*']) app.use(path, limitBody, requireKey);

  registerRecommendRoutes(app, ctx);
  registerSimilarRoutes(app, ctx);
  registerProfileRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerHealthRoutes(app, ctx);
  registerDemoRoutes(app);

  app.get('/metrics', async (c) => {
    const body = await metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': metrics.registry.contentType });
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'ApiKey', {
    type: 'apiKey',
    in: 'header',
    name: API_KEY_HEADER,
    description: 'required on the event endpoints when API_KEYS is set',
  });
  let openApiDocument: unknown;
  app.get('/openapi.json', (c) => {
    openApiDocument ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: API_TITLE,
        version: API_VERSION,
        description: 'Personalized recommendations, similar items, user profiles and event ingestion.',
      },
      tags: [
        { name: 'recommendations' },
        { name: 'items' },
        { name: 'users' },
        { name: 'events' },
        { name: 'operations' },
      ],
    });
    return c.json(openApiDocument);
  });
  registerDocsRoutes(app, API_TITLE);

  app.notFound((c) => {
    const problem = problemFor(
      new HttpProblem(404, 'not-found', 'Not found', `no route for ${c.req.method} ${c.req.path}`),
    );
    return problemResponse(problem);
  });
  app.onError((error, c) => {
    const problem = problemFor(error, c.req.path);
    if (problem.unexpected) logger?.error({ err: error, path: c.req.path }, 'request failed');
    else if (problem.status >= 500)
      logger?.warn({ err: describeError(error), path: c.req.path }, 'request degraded');
    return problemResponse(problem);
  });

  /**
   * Pings every dependency each `intervalMs` through its breaker (a failed ping opens the circuit,
   * so an outage is known before requests meet it — event intake then answers 503 at once instead
   * of after EVENT_PUBLISH_TIMEOUT_MS), and reads the version pointer (so the degraded answers
   * are ready from the start). Returns the function that stops the watch and the
   * breakers' pings. `0`: no watch.
   */
  const watchDependencies = (intervalMs: number): (() => Promise<void>) => {
    const ports: Array<{ ping(): Promise<void> }> = [featureStore, vectorIndex, eventBus];
    const watch = () => {
      for (const port of ports) port.ping().catch(() => undefined);
      // The version pointer too: the fallback lists of a new version are loaded before a request
      // needs them, and an API that has not served yet knows what to degrade to.
      ctx.recommender.versions.read().catch(() => undefined);
    };
    if (intervalMs > 0) watch();
    const timer = intervalMs > 0 ? setInterval(watch, intervalMs) : undefined;
    timer?.unref();
    return async () => {
      if (timer !== undefined) clearInterval(timer);
      for (const breaker of breakers) breaker.stop();
    };
  };

  return Object.assign(app, { watchDependencies });
}

export type RecsysApp = ReturnType<typeof createApp>;
