/**
 * Redis connections for the store adapters: one place that turns the configured URL (and
 * cluster seeds) into an ioredis client, bounds every call by a time budget, and translates
 * ioredis failures into the project's errors.
 *
 * - `redis://user:pass@host:port/db` or `rediss://...` (TLS); credentials and TLS carry over to
 *   every node when `clusterNodes` is set and Redis Cluster is used.
 * - The offline queue is off: while disconnected, commands fail at once with a retriable
 *   DependencyError instead of piling up and running late; ioredis reconnects in the background.
 * - Auto-pipelining batches the commands issued in one tick into one round trip per node, which
 *   is how bulk writes stay fast on both a single node and a cluster.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, ReplyError } from 'ioredis';
import { AppError, DependencyError, TimeoutError, ValidationError } from '../../errors.ts';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` URL; for a cluster, the credentials and TLS used on every node. */
  url: string;
  /** `host:port` seeds; when non-empty, Redis Cluster is used. @default [] */
  clusterNodes?: string[];
  /** Budget for establishing the connection in `start()`. @default 5000 */
  connectTimeoutMs?: number;
  /** Client name shown by CLIENT LIST. @default 'recsys' */
  connectionName?: string;
  /**
   * Extra TLS settings for `rediss://` (e.g. `ca` for a private certificate authority; the
   * system roots and NODE_EXTRA_CA_CERTS apply otherwise). Ignored for `redis://`.
   */
  tls?: TlsOptions;
}

export const REDIS_CONNECTION_DEFAULTS = {
  connectTimeoutMs: 5000,
  connectionName: 'recsys',
} as const;

/** Longest pause between reconnect attempts (a refused attempt costs Redis nothing). */
const RECONNECT_MAX_DELAY_MS = 500;

/** Replies that mean "try again later", not "this command is wrong". */
const RETRIABLE_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK)\b/;

function parseHostPort(seed: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(seed.trim());
  if (!match) {
    throw new ValidationError(`REDIS_CLUSTER_NODES: ${JSON.stringify(seed)} is not host:port`);
  }
  return { host: match[1]!, port: Number(match[2]) };
}

/** Creates a client (not connected yet; call `connect()`). */
export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  const connectTimeout = options.connectTimeoutMs ?? REDIS_CONNECTION_DEFAULTS.connectTimeoutMs;
  const common = {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout,
    connectionName: options.connectionName ?? REDIS_CONNECTION_DEFAULTS.connectionName,
    // Reconnect attempts at most 500 ms apart: service returns within that of Redis's return.
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, RECONNECT_MAX_DELAY_MS),
  };
  const url = new URL(options.url);
  const tls = url.protocol === 'rediss:' ? { ...options.tls } : undefined;
  const seeds = options.clusterNodes ?? [];
  if (seeds.length === 0) return new Redis(options.url, tls ? { ...common, tls } : common);

  const nodeOptions = {
    ...common,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls,
  };
  return new Cluster(seeds.map(parseHostPort), {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRedirections: 8,
    retryDelayOnFailover: 100,
    clusterRetryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, RECONNECT_MAX_DELAY_MS),
    redisOptions: nodeOptions,
  });
}

/**
 * Connects within the budget; on failure stops the background reconnect loop and throws a
 * retriable DependencyError (TimeoutError when the budget ran out).
 */
export async function connectRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  // ioredis rejects connect() with a generic "Connection is closed" and reports the reason
  // (refused, WRONGPASS, TLS failure) as an 'error' event: keep the last one to tell the caller.
  let reason: unknown;
  const onError = (error: unknown) => {
    reason = error;
  };
  client.on('error', onError);
  try {
    await withTimeout(client.connect(), timeoutMs, 'connect');
  } catch (error) {
    client.disconnect();
    throw translateRedisError(reason ?? error, 'connect');
  } finally {
    client.off('error', onError);
  }
}

/** Ends the connection politely (QUIT), or forcefully when that does not finish in time. */
export async function closeRedis(client: RedisClient, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  try {
    await withTimeout(client.quit(), timeoutMs, 'quit');
  } catch {
    client.disconnect();
  }
}

/** Runs `operation` within `timeoutMs`; a late answer is ignored, a late failure swallowed. */
export async function withTimeout<T>(operation: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError('redis', timeoutMs, { details: { operation: what } })),
      timeoutMs,
    );
  });
  operation.catch(() => undefined);
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Maps anything ioredis throws to a DependencyError (retriable unless Redis rejected the command). */
export function translateRedisError(error: unknown, operation: string): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ReplyError) {
    return new DependencyError('redis', `${operation}: ${message}`, {
      cause: error,
      retriable: RETRIABLE_REPLIES.test(message),
      details: { operation },
    });
  }
  return new DependencyError('redis', `${operation}: ${message}`, { cause: error, details: { operation } });
}

/** The nodes to SCAN: every master of a cluster, or the single client. */
export function scanTargets(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Escapes glob characters so a key prefix matches itself literally in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Calls `onKeys` with every key matching `pattern`, a SCAN page at a time (never KEYS), on every
 * master node.
 */
export async function scanKeys(
  client: RedisClient,
  pattern: string,
  onKeys: (keys: string[]) => Promise<void>,
  count = 1000,
): Promise<void> {
  for (const node of scanTargets(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) await onKeys(keys);
    } while (cursor !== '0');
  }
}

/** UNLINKs keys in one command on a single node, key by key (auto-pipelined) on a cluster. */
export async function unlinkKeys(client: RedisClient, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  if (client instanceof Cluster) await Promise.all(keys.map((k) => client.unlink(k)));
  else await client.unlink(...keys);
}
