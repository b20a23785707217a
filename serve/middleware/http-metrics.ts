/**
 * HTTP metrics middleware: counts and times every request by route pattern, method and status.
 *
 * The route label is the pattern that answered (`/recommend/:user_idx`), never the raw path, and
 * requests no route matched share the label `unmatched`, so label values stay a small fixed set.
 * Label children are cached, which keeps the per-request cost to a map lookup and two updates.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from '../../lib/observability/metrics.ts';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Label of requests that no route answered. */
export const UNMATCHED_ROUTE = 'unmatched';

interface Children {
  count: { inc(): void };
  duration: { observe(value: number): void };
}

/**
 * The route label of a finished request: the pattern that answered (the last matched route is the
 * handler's, since middleware is registered first), or `unmatched` when only middleware matched.
 */
export function routeLabel(c: Context): string {
  const pattern = routePath(c, -1);
  return pattern === '' || pattern === '*' || pattern.endsWith('/*') ? UNMATCHED_ROUTE : pattern;
}

export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  const children = new Map<string, Children>();
  const childrenFor = (route: string, method: string, status: string): Children => {
    const key = `${method} ${status} ${route}`;
    let found = children.get(key);
    if (found === undefined) {
      const labels = { route, method, status };
      found = {
        count: metrics.httpRequests.labels(labels),
        duration: metrics.httpRequestDuration.labels(labels),
      };
      children.set(key, found);
    }
    return found;
  };

  return async function recordHttpMetrics(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : 'OTHER';
      const child = childrenFor(route, method, String(c.res.status));
      child.count.inc();
      child.duration.observe((performance.now() - started) / 1000);
    }
  };
}
