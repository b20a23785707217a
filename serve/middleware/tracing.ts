/**
 * Request tracing: one SERVER span per request, named by method and route pattern, so the spans
 * of store calls and the event publish (whose context travels to the updater in Kafka headers)
 * hang under it. With tracing off (the default) requests pass straight through: no span, not even
 * the OpenTelemetry no-op one.
 */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { SpanKind, SpanStatusCode, tracingEnabled, withSpan } from '../../lib/observability/tracing.ts';

export function traceRequests(): MiddlewareHandler {
  return async function traceRequest(c, next) {
    if (!tracingEnabled()) return next();
    await withSpan(
      `HTTP ${c.req.method}`,
      async (span) => {
        await next();
        if (!span.isRecording()) return;
        const route = routePath(c, -1);
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', c.res.status);
        if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      },
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method } },
    );
  };
}
