/**
 * Closes the connection after an error answer to a request that carries a body.
 *
 * An answer given before the body was read (413 over the size limit, 401 without a key, 415, 404
 * on an unknown route) leaves the body's unread bytes on a keep-alive socket, where they would be
 * parsed as the next request ("socket hang up" for the client's next call on it). Draining a body
 * that may be large is work for nothing, so such answers say `Connection: close` and the client
 * opens a fresh connection for its next request, as proxies do after a 413. Error answers to
 * requests without a body, and every success, keep the connection.
 */
import type { MiddlewareHandler } from 'hono';

export function closeOnBodyErrors(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.res.status < 400) return;
    const { headers } = c.req.raw;
    const length = headers.get('content-length');
    const hasBody = (length !== null && length !== '0') || headers.has('transfer-encoding');
    if (hasBody) c.res.headers.set('connection', 'close');
  };
}
