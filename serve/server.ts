/**
 * The HTTP server around the app: listen, and close gracefully — stop accepting, let in-flight
 * requests finish (idle keep-alive connections are closed as they become idle), and cut what is
 * still open after the drain timeout.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from '../lib/observability/logger.ts';

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How long `close()` waits for in-flight requests. @default 10000 */
  drainTimeoutMs?: number;
  logger?: Logger;
}

export interface HttpServerHandle {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  port: number;
  /** Stops accepting, drains, resolves when every connection is closed. Idempotent. */
  close(): Promise<void>;
}

export const DRAIN_TIMEOUT_MS = 10_000;
const IDLE_SWEEP_MS = 50;

export async function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  options: ListenOptions,
): Promise<HttpServerHandle> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  options.logger?.info({ url }, 'API listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      const http = server as import('node:http').Server;
      const sweep = setInterval(() => http.closeIdleConnections(), IDLE_SWEEP_MS);
      const deadline = setTimeout(() => {
        options.logger?.warn('drain timeout: closing the connections still open');
        http.closeAllConnections();
      }, options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
      http.close(() => {
        clearInterval(sweep);
        clearTimeout(deadline);
        resolve();
      });
      http.closeIdleConnections();
    });
    return closing;
  };
  return { url, port: address.port, close };
}
