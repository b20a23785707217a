/**
 * Server-assisted client-side caching of request-path reads (Redis 6+ `CLIENT TRACKING`, the
 * RESP2 redirect form), so that a user asked for again is answered from process memory and still
 * sees every write to their keys.
 *
 * Two connections of their own, beside the store's main one:
 * - the **reader**: tracking is on for it, so Redis remembers every key it reads;
 * - the **listener**: subscribed to `__redis__:invalidate`, where Redis names each tracked key
 *   that changed (written, deleted, expired or evicted), or sends an empty message on FLUSHALL.
 *
 * Correctness rules (the invalidation and the read answer travel on different connections):
 * - A read's answer is kept only if no invalidation of its key arrived while it was in flight
 *   (an early invalidation would otherwise be overtaken by the stale answer it invalidates).
 * - Every disconnect of either connection drops the whole cache, and nothing is kept again until
 *   tracking is re-armed on the new connections (invalidations sent meanwhile are lost).
 * - Up to `maxEntries` are kept, the least recently used going first, approximated by a clock
 *   (second chance: a hit sets the entry's flag, eviction passes over flagged entries once). A hit
 *   never deletes and re-inserts its key: V8's Map leaves each deleted entry in its key's hash
 *   chain until the table is rehashed, so moving one hot key (the version pointer, asked for by
 *   every request) to the end at each hit made its lookups walk thousands of dead entries.
 *   Redis's own tracking table (`tracking-table-max-keys`) bounds the server side and invalidates
 *   what it forgets.
 *
 * Cluster deployments do not use it (each node would need its own pair of connections).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.ts';
import { closeRedis, connectRedis } from './connection.ts';

const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** A held answer, and whether it was asked for since the clock hand last passed it. */
interface Slot {
  value: unknown;
  used: boolean;
}

interface InFlight {
  reads: number;
  invalidated: boolean;
}

export interface TrackedCacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  flushes: number;
  entries: number;
  armed: boolean;
}

export class TrackedCache {
  readonly reader: Redis;
  private readonly listener: Redis;
  private readonly entries = new Map<string, Slot>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Bumped at every flush: a read that began in an older epoch keeps nothing. */
  private epoch = 0;
  private armed = false;
  private arming: Promise<void> | null = null;
  /** The listener connection's client id once it is subscribed (null after it closes). */
  private listenerId: number | null = null;
  private closed = false;
  private readonly counts = { hits: 0, misses: 0, invalidations: 0, flushes: 0 };

  constructor(
    base: Redis,
    private readonly maxEntries: number,
    private readonly connectMs: number,
    private readonly logger?: Logger,
  ) {
    const name = base.options.connectionName ?? 'recsys';
    this.reader = base.duplicate({ connectionName: `${name}-tracked` });
    // Not resubscribed by ioredis: the listener must tell its new client id before subscribing.
    this.listener = base.duplicate({ connectionName: `${name}-invalidations`, autoResubscribe: false });
    for (const connection of [this.reader, this.listener]) {
      connection.on('error', (error: Error) =>
        this.logger?.debug({ err: error.message }, 'redis client cache connection error'),
      );
      connection.on('close', () => {
        if (connection === this.listener) this.listenerId = null;
        this.disarm('connection closed');
      });
      connection.on('ready', () => {
        if (this.reader.status === 'ready' && this.listener.status === 'ready') void this.arm();
      });
    }
    this.listener.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.invalidate(message);
    });
  }

  async start(): Promise<void> {
    await Promise.all([
      connectRedis(this.reader, this.connectMs),
      connectRedis(this.listener, this.connectMs),
    ]);
    await this.arm();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.disarm('closed');
    await Promise.all([closeRedis(this.reader), closeRedis(this.listener)]);
  }

  /** The cached value of `key`, or `undefined` when it is not held (or caching is not armed). */
  peek<T>(key: string): T | undefined {
    if (!this.armed) return undefined;
    const slot = this.entries.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    this.counts.hits += 1;
    return slot.value as T;
  }

  /**
   * Reads `key` through the tracked connection and keeps the answer (never `undefined`), unless
   * the key was invalidated while the read was in flight or the cache was flushed meanwhile.
   */
  async load<T>(key: string, read: (reader: Redis) => Promise<T>): Promise<T> {
    this.counts.misses += 1;
    const epoch = this.epoch;
    const mayKeep = this.armed;
    let flight = this.inFlight.get(key);
    if (flight) flight.reads += 1;
    else {
      flight = { reads: 1, invalidated: false };
      this.inFlight.set(key, flight);
    }
    try {
      const answer = await read(this.reader);
      if (mayKeep && this.armed && epoch === this.epoch && !flight.invalidated) this.store(key, answer);
      return answer;
    } finally {
      flight.reads -= 1;
      if (flight.reads === 0 && this.inFlight.get(key) === flight) this.inFlight.delete(key);
    }
  }

  /**
   * Drops `keys` now, for this process's own writes: Redis's invalidation of them travels on
   * another connection and may arrive after the write's answer, so a read right after the write
   * could otherwise see the old value.
   */
  forget(keys: readonly string[]): void {
    for (const key of keys) {
      this.entries.delete(key);
      const flight = this.inFlight.get(key);
      if (flight) flight.invalidated = true;
    }
  }

  /** Drops everything (a write whose keys are not listed, such as a version drop). */
  forgetAll(): void {
    this.flush();
  }

  stats(): TrackedCacheStats {
    return { ...this.counts, entries: this.entries.size, armed: this.armed };
  }

  private store(key: string, value: unknown): void {
    const held = this.entries.get(key);
    if (held !== undefined) {
      held.value = value;
      held.used = true;
      return;
    }
    // Room first, so the answer just read is never the one to go.
    if (this.entries.size >= this.maxEntries) this.evictOne();
    this.entries.set(key, { value, used: false });
  }

  /**
   * The clock's hand is the map's insertion order: the oldest entry not asked for since the hand
   * last passed goes; each flagged one passed over loses its flag and moves to the end. Ends
   * within two passes, as every entry passed over is unflagged.
   */
  private evictOne(): void {
    for (const [key, slot] of this.entries) {
      this.entries.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.entries.set(key, slot);
    }
  }

  /** An invalidation message: the keys that changed, or null/empty for "everything" (FLUSHALL). */
  private invalidate(message: unknown): void {
    const keys = Array.isArray(message) ? message : null;
    if (keys === null || keys.length === 0) {
      this.flush();
      return;
    }
    this.counts.invalidations += keys.length;
    this.forget(keys.map(String));
  }

  private flush(): void {
    this.epoch += 1;
    this.counts.flushes += 1;
    this.entries.clear();
    for (const flight of this.inFlight.values()) flight.invalidated = true;
  }

  private disarm(reason: string): void {
    if (this.armed) this.logger?.info({ reason }, 'redis client cache off until tracking is re-armed');
    this.armed = false;
    this.flush();
  }

  /** Turns tracking on for the reader, redirected to the listener's current connection. */
  private arm(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.arming) return this.arming;
    this.arming = (async () => {
      try {
        this.flush();
        let id = this.listenerId;
        if (id === null) {
          // A subscribed connection answers only (un)subscribe commands: ask its id first.
          id = Number(await this.listener.client('ID'));
          await this.listener.subscribe(INVALIDATE_CHANNEL);
          this.listenerId = id;
        }
        // OFF first: a reader that kept its connection would otherwise keep an old redirect.
        await this.reader.client('TRACKING', 'OFF');
        await this.reader.client('TRACKING', 'ON', 'REDIRECT', String(id));
        if (this.reader.status === 'ready' && this.listener.status === 'ready' && !this.closed) {
          this.armed = true;
          this.logger?.debug({ redirect: id }, 'redis client cache armed');
        }
      } catch (error) {
        this.logger?.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'redis client cache could not turn tracking on; reads go to Redis',
        );
      } finally {
        this.arming = null;
      }
    })();
    return this.arming;
  }
}
