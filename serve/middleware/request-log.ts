/**
 * Request log: one structured info line per request, written when the response is ready.
 *
 * Fields: `method`, `route` (the pattern that answered, like the `route` label of the HTTP
 * metrics, so lines group by endpoint and never carry ids), `status`, `ms` (wall time to the
 * response), and `trace_id` when the request's span is recording, so a slow line leads straight
 * to its trace in Jaeger. Registered inside the tracing middleware, where the span is active.
 *
 * Health probes and metrics scrapes arrive every few seconds from machines, not users: their lines
 * go out at `debug`, unless the answer is an error (status ≥ 400), which stays at `info`.
 */
import { trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../lib/observability/logger.ts';
import { routeLabel } from './http-metrics.ts';

/** The message of every request line. */
export const REQUEST_LOG_MESSAGE = 'request';

/** Routes whose successful requests are logged at debug (probes and scrapes). */
export const QUIET_ROUTES: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);

export interface RequestLogLine {
  trace_id?: string;
  method: string;
  route: string;
  status: number;
  ms: number;
}

export function requestLog(logger: Logger): MiddlewareHandler {
  return async function logRequest(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const line: RequestLogLine = {
        method: c.req.method,
        route: routeLabel(c),
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
      };
      const span = trace.getActiveSpan();
      if (span?.isRecording()) line.trace_id = span.spanContext().traceId;
      if (line.status < 400 && QUIET_ROUTES.has(line.route)) logger.debug(line, REQUEST_LOG_MESSAGE);
      else logger.info(line, REQUEST_LOG_MESSAGE);
    }
  };
}
