/**
 * Redis feature store (`FEATURE_STORE=redis`), on a single node or Redis Cluster.
 *
 * Layout in keys.ts, scripts in scripts.ts, design notes in docs/stores.md. In short:
 * vectors are raw little-endian float32 strings, one key per user and model version; a user's
 * keys share a hash tag so `applyUserUpdate` is one atomic Lua script even on a cluster; the
 * version pointer is switched by a script that checks the version exists; `dropVersion` SCANs
 * (never KEYS) and UNLINKs in batches. Every call has a time budget: `readTimeoutMs` on the
 * request path, `writeTimeoutMs` for single writes, `bulkTimeoutMs` for batch loads and drops.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { bufferToVector, vectorToBuffer } from '../../vectors.ts';
import { canonicalTimestamp, trendingScopeKey } from '../common.ts';
import {
  type AssignedId,
  type FeatureStore,
  HISTORY_LIMIT,
  type IdKind,
  PROCESSED_EVENT_TTL_MS,
  type UserProfileSeed,
  type UserState,
  type UserUpdate,
} from '../feature-store.ts';
import type { ModelVersionInfo, ProfileCounters, Purchase, TrendingScope } from '../types.ts';
import {
  closeRedis,
  connectRedis,
  createRedisClient,
  type RedisClient,
  type RedisConnectionOptions,
  scanKeys,
  translateRedisError,
  unlinkKeys,
  withTimeout,
} from './connection.ts';
import { FeatureStoreKeys } from './keys.ts';
import {
  ACTIVATE_VERSION,
  APPLY_USER_UPDATE,
  ASSIGN_IDS,
  DROP_VERSION_METADATA,
  FORGET_LIVE_IDS,
  RAISE_ID_COUNTER,
  REPLACE_PROFILE,
} from './scripts.ts';
import { TrackedCache, type TrackedCacheStats } from './tracked-cache.ts';

export interface RedisFeatureStoreOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Redis Cluster seeds (`host:port`); empty for a single node. @default [] */
  clusterNodes?: string[];
  /** Prefix of every key. @default 'recsys:' */
  keyPrefix?: string;
  /** Budget of one read on the request path. @default 250 */
  readTimeoutMs?: number;
  /** Budget of one small write (online update, pointer switch). @default 2000 */
  writeTimeoutMs?: number;
  /** Budget of one bulk call (a batch of a load, a version drop). @default 60000 */
  bulkTimeoutMs?: number;
  /** Budget for connecting in `start()`. @default 5000 */
  connectTimeoutMs?: number;
  /** Extra TLS settings for `rediss://` (see RedisConnectionOptions.tls). */
  tls?: RedisConnectionOptions['tls'];
  /** Entries per pipelined burst of a bulk write. @default 1000 */
  chunkSize?: number;
  /** How long applied event ids are remembered. @default PROCESSED_EVENT_TTL_MS (7 days) */
  processedEventTtlMs?: number;
  /**
   * Entries of the client-side cache of `getUserState`'s reads (the version pointer, user vectors
   * and histories), kept current by Redis's invalidation messages (CLIENT TRACKING); 0 turns it
   * off. Single node only: ignored on a cluster. @default 0
   */
  clientCacheEntries?: number;
  logger?: Logger;
}

export const REDIS_FEATURE_STORE_DEFAULTS = {
  keyPrefix: 'recsys:',
  readTimeoutMs: 250,
  writeTimeoutMs: 2000,
  bulkTimeoutMs: 60_000,
  connectTimeoutMs: 5000,
  chunkSize: 1000,
} as const;

interface Script {
  text: string;
  sha: string;
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

const SCRIPTS = {
  activate: script(ACTIVATE_VERSION),
  dropMetadata: script(DROP_VERSION_METADATA),
  replaceProfile: script(REPLACE_PROFILE),
  applyUpdate: script(APPLY_USER_UPDATE),
  assignIds: script(ASSIGN_IDS),
  forgetLiveIds: script(FORGET_LIVE_IDS),
  raiseIdCounter: script(RAISE_ID_COUNTER),
};

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function historyEntry(p: Purchase): string {
  return `${p.item_idx}|${p.ts}`;
}

function parseHistoryEntry(entry: string): Purchase {
  const bar = entry.indexOf('|');
  return { item_idx: Number(entry.slice(0, bar)), ts: entry.slice(bar + 1) };
}

/** A cached read: the answer boxed, so that a cached "no such key" is told from a miss. */
interface Box<T> {
  value: T;
}

/** A cached history: the first `limit` entries asked for (all of them when fewer came back). */
interface CachedHistory {
  limit: number;
  purchases: readonly Purchase[];
}

function historyCovers(cached: CachedHistory, limit: number): boolean {
  return cached.limit >= limit || cached.purchases.length < cached.limit;
}

export class RedisFeatureStore implements FeatureStore {
  readonly kind = 'redis' as const;
  readonly keys: FeatureStoreKeys;
  private readonly client: RedisClient;
  private readonly readMs: number;
  private readonly writeMs: number;
  private readonly bulkMs: number;
  private readonly connectMs: number;
  private readonly chunkSize: number;
  private readonly eventTtlMs: number;
  private readonly logger: Logger | undefined;
  /** The client-side cache of the request path's reads (null when off). */
  private readonly cache: TrackedCache | null = null;
  private state: 'new' | 'started' | 'closed' = 'new';
  /** The version the pointer named at the last `getUserState` (the guess for the next one). */
  private lastActive: string | null = null;

  constructor(options: RedisFeatureStoreOptions) {
    const d = REDIS_FEATURE_STORE_DEFAULTS;
    this.keys = new FeatureStoreKeys(options.keyPrefix ?? d.keyPrefix);
    this.readMs = options.readTimeoutMs ?? d.readTimeoutMs;
    this.writeMs = options.writeTimeoutMs ?? d.writeTimeoutMs;
    this.bulkMs = options.bulkTimeoutMs ?? d.bulkTimeoutMs;
    this.connectMs = options.connectTimeoutMs ?? d.connectTimeoutMs;
    this.chunkSize = options.chunkSize ?? d.chunkSize;
    this.eventTtlMs = options.processedEventTtlMs ?? PROCESSED_EVENT_TTL_MS;
    this.logger = options.logger;
    this.client = createRedisClient({
      url: options.url,
      clusterNodes: options.clusterNodes,
      connectTimeoutMs: this.connectMs,
      connectionName: 'recsys-feature-store',
      tls: options.tls,
    });
    // ioredis reports connection trouble as events too; without a listener Node would crash.
    this.client.on('error', (error: Error) =>
      this.logger?.warn({ err: error.message }, 'redis connection error'),
    );
    const cacheEntries = options.clientCacheEntries ?? 0;
    if (cacheEntries > 0) {
      if (this.client instanceof Redis) {
        this.cache = new TrackedCache(this.client, cacheEntries, this.connectMs, this.logger);
      } else {
        this.logger?.info('the Redis client cache is not used on a cluster');
      }
    }
  }

  /** Counters of the client-side cache (null when it is off). */
  clientCacheStats(): TrackedCacheStats | null {
    return this.cache?.stats() ?? null;
  }

  async start(): Promise<void> {
    if (this.state === 'started') return;
    if (this.state === 'closed')
      throw new ValidationError('a closed Redis feature store cannot be restarted');
    await connectRedis(this.client, this.connectMs);
    try {
      await this.cache?.start();
    } catch (error) {
      await closeRedis(this.client);
      throw error;
    }
    this.state = 'started';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.all([closeRedis(this.client), this.cache?.close()]);
  }

  async ping(): Promise<void> {
    await this.call('ping', this.readMs, () => this.client.ping());
  }

  // --- model versions -------------------------------------------------------------------------

  async putVersionInfo(info: ModelVersionInfo): Promise<void> {
    await this.call('putVersionInfo', this.writeMs, () =>
      this.client.hset(this.keys.versions, info.version, JSON.stringify(info)),
    );
  }

  async getVersionInfo(version: string): Promise<ModelVersionInfo | null> {
    const raw = await this.call('getVersionInfo', this.readMs, () =>
      this.client.hget(this.keys.versions, version),
    );
    return raw === null ? null : (JSON.parse(raw) as ModelVersionInfo);
  }

  async listVersions(): Promise<string[]> {
    const versions = await this.call('listVersions', this.readMs, () =>
      this.client.hkeys(this.keys.versions),
    );
    return versions.sort();
  }

  async activateVersion(version: string): Promise<void> {
    const done = await this.call('activateVersion', this.writeMs, () =>
      this.forgetting([this.keys.active], () =>
        this.eval(SCRIPTS.activate, [this.keys.versions, this.keys.active], [version]),
      ),
    );
    if (done !== 1)
      throw new NotFoundError(`model version ${version} has no stored info; cannot activate it`);
  }

  async activeVersion(): Promise<string | null> {
    return this.call('activeVersion', this.readMs, () => this.client.get(this.keys.active));
  }

  async dropVersion(version: string): Promise<void> {
    const k = this.keys;
    const done = await this.call('dropVersion', this.writeMs, () =>
      this.eval(SCRIPTS.dropMetadata, [k.versions, k.active, k.vectorCounts, k.trending(version)], [version]),
    );
    if (done !== 1) {
      throw new ValidationError(`model version ${version} is active; activate another before dropping it`);
    }
    let removed = 0;
    try {
      await this.call('dropVersion', this.bulkMs, () =>
        scanKeys(this.client, k.userVectorPattern(version), async (keys) => {
          await unlinkKeys(this.client, keys);
          removed += keys.length;
        }),
      );
    } finally {
      this.cache?.forgetAll();
    }
    this.logger?.info({ version, userVectors: removed }, 'dropped model version from redis');
  }

  // --- user vectors ---------------------------------------------------------------------------

  async putUserVectors(version: string, entries: Array<[number, Float32Array]>): Promise<void> {
    await this.call('putUserVectors', this.bulkMs, async () => {
      for (const chunk of chunks(entries, this.chunkSize)) {
        // SET NX first: it both writes new users and tells which were new, so the count stays exact.
        const keys = chunk.map(([u]) => this.keys.userVector(version, u));
        const values = chunk.map(([, v]) => vectorToBuffer(v));
        const existing = await this.forgetting(keys, async () => {
          const created = await Promise.all(keys.map((key, i) => this.client.set(key, values[i]!, 'NX')));
          const overwritten = keys.flatMap((_key, i) => (created[i] === 'OK' ? [] : [i]));
          await Promise.all(overwritten.map((i) => this.client.set(keys[i]!, values[i]!)));
          return overwritten;
        });
        const fresh = chunk.length - existing.length;
        if (fresh > 0) await this.client.hincrby(this.keys.vectorCounts, version, fresh);
      }
    });
  }

  async getUserVector(version: string, userIdx: number): Promise<Float32Array | null> {
    const raw = await this.call('getUserVector', this.readMs, () =>
      this.client.getBuffer(this.keys.userVector(version, userIdx)),
    );
    return raw === null ? null : bufferToVector(raw);
  }

  async countUserVectors(version: string): Promise<number> {
    const raw = await this.call('countUserVectors', this.readMs, () =>
      this.client.hget(this.keys.vectorCounts, version),
    );
    return raw === null ? 0 : Number(raw);
  }

  // --- trending -------------------------------------------------------------------------------

  async putTrending(version: string, scope: TrendingScope, itemIdxs: number[]): Promise<void> {
    await this.call('putTrending', this.writeMs, () =>
      this.client.hset(this.keys.trending(version), trendingScopeKey(scope), JSON.stringify(itemIdxs)),
    );
  }

  async getTrending(version: string, scope: TrendingScope): Promise<number[]> {
    const raw = await this.call('getTrending', this.readMs, () =>
      this.client.hget(this.keys.trending(version), trendingScopeKey(scope)),
    );
    return raw === null ? [] : (JSON.parse(raw) as number[]);
  }

  // --- id maps --------------------------------------------------------------------------------

  async putUserIds(entries: Array<[string, number]>): Promise<void> {
    await this.call('putUserIds', this.bulkMs, () => this.putIdPairs('user', entries));
    await this.raiseIdCounter('user', entries);
  }

  async putItemIds(entries: Array<[string, number]>): Promise<void> {
    await this.call('putItemIds', this.bulkMs, () => this.putIdPairs('item', entries));
    await this.raiseIdCounter('item', entries);
  }

  async assignIds(kind: IdKind, keys: string[]): Promise<AssignedId[] | null> {
    return this.call('assignIds', this.bulkMs, async () => {
      const distinct = [...new Set(keys)];
      const { forward } = this.idMapKeys(kind);
      // Ids in the loaded map keep their number; only the others go to the numbering script.
      const known = await Promise.all(distinct.map((key) => this.client.hget(forward(key), key)));
      const byKey = new Map<string, AssignedId>();
      const unknown: string[] = [];
      distinct.forEach((key, i) => {
        const raw = known[i];
        if (raw === null || raw === undefined) unknown.push(key);
        else byKey.set(key, { key, idx: Number(raw), created: false });
      });
      for (const chunk of chunks(unknown, this.chunkSize)) {
        const out = (await this.eval(
          SCRIPTS.assignIds,
          [this.keys.idCounter(kind), this.keys.liveIds(kind), this.keys.liveIdsReverse(kind)],
          chunk,
        )) as number[] | null;
        if (out === null) return null;
        const pairs: Array<[string, number]> = [];
        chunk.forEach((key, i) => {
          const idx = Number(out[2 * i]);
          byKey.set(key, { key, idx, created: out[2 * i + 1] === 1 });
          pairs.push([key, idx]);
        });
        // The lookups read the bucketed maps: write the numbers there too (same values when a
        // number was given before, so a crash between the two steps is mended by a retry).
        await this.putIdPairs(kind, pairs);
      }
      return keys.map((key) => byKey.get(key)!);
    });
  }

  async putUserSegments(entries: Array<[number, string]>): Promise<void> {
    await this.call('putUserSegments', this.bulkMs, () =>
      this.hsetBucketed(entries, ([userIdx, segment], add) =>
        add(this.keys.userSegments(userIdx), String(userIdx), segment),
      ),
    );
  }

  async getUserSegment(userIdx: number): Promise<string | null> {
    return this.call('getUserSegment', this.readMs, () =>
      this.client.hget(this.keys.userSegments(userIdx), String(userIdx)),
    );
  }

  async liveIds(kind: IdKind): Promise<Array<[string, number]>> {
    return this.call('liveIds', this.bulkMs, async () => {
      const flat = await this.client.hgetall(this.keys.liveIds(kind));
      return Object.entries(flat)
        .map(([key, idx]): [string, number] => [key, Number(idx)])
        .sort((a, b) => a[1] - b[1]);
    });
  }

  async forgetLiveIds(kind: IdKind, pairs: Array<[string, number]>): Promise<number> {
    return this.call('forgetLiveIds', this.bulkMs, async () => {
      // The bucketed maps hold every pair first (the same values assignIds wrote), so a number
      // leaves the live set only once the lookups answer it without it.
      await this.putIdPairs(kind, pairs);
      let dropped = 0;
      for (const chunk of chunks(pairs, this.chunkSize)) {
        dropped += Number(
          await this.eval(
            SCRIPTS.forgetLiveIds,
            [this.keys.liveIds(kind), this.keys.liveIdsReverse(kind)],
            chunk.flatMap(([key, idx]) => [key, String(idx)]),
          ),
        );
      }
      return dropped;
    });
  }

  async userIdxOf(customerId: string): Promise<number | null> {
    const raw = await this.call('userIdxOf', this.readMs, () =>
      this.client.hget(this.keys.customerToUser(customerId), customerId),
    );
    return raw === null ? null : Number(raw);
  }

  async customerIdOf(userIdx: number): Promise<string | null> {
    return this.call('customerIdOf', this.readMs, () =>
      this.client.hget(this.keys.userToCustomer(userIdx), String(userIdx)),
    );
  }

  async itemIdxOf(articleId: string): Promise<number | null> {
    const raw = await this.call('itemIdxOf', this.readMs, () =>
      this.client.hget(this.keys.articleToItem(articleId), articleId),
    );
    return raw === null ? null : Number(raw);
  }

  async articleIdOf(itemIdx: number): Promise<string | null> {
    return this.call('articleIdOf', this.readMs, () =>
      this.client.hget(this.keys.itemToArticle(itemIdx), String(itemIdx)),
    );
  }

  // --- history and profile --------------------------------------------------------------------

  async putProfiles(seeds: UserProfileSeed[]): Promise<void> {
    // Validate and encode everything first, so a bad seed fails the call before any write.
    const encoded = seeds.map((seed) => {
      const recent = seed.recent
        .slice(0, HISTORY_LIMIT)
        .map((p) => historyEntry({ item_idx: p.item_idx, ts: canonicalTimestamp(p.ts) }));
      const c = seed.counters;
      const fields: string[] = [];
      for (const [group, n] of Object.entries(c.product_groups)) fields.push(`g:${group}`, String(n));
      for (const [type, n] of Object.entries(c.product_types)) fields.push(`t:${type}`, String(n));
      const args = [
        String(c.total_purchases),
        c.first_purchase_at === null ? '' : canonicalTimestamp(c.first_purchase_at),
        c.last_purchase_at === null ? '' : canonicalTimestamp(c.last_purchase_at),
        String(recent.length),
        ...recent,
        String(fields.length / 2),
        ...fields,
      ];
      return { keys: [this.keys.history(seed.userIdx), this.keys.profile(seed.userIdx)], args };
    });
    await this.call('putProfiles', this.bulkMs, async () => {
      for (const chunk of chunks(encoded, this.chunkSize)) {
        await this.forgetting(
          chunk.map(({ keys }) => keys[0]!),
          () => Promise.all(chunk.map(({ keys, args }) => this.eval(SCRIPTS.replaceProfile, keys, args))),
        );
      }
    });
  }

  async getRecentPurchases(userIdx: number, limit: number): Promise<Purchase[]> {
    if (limit <= 0) return [];
    const entries = await this.call('getRecentPurchases', this.readMs, () =>
      this.client.lrange(this.keys.history(userIdx), 0, limit - 1),
    );
    return entries.map(parseHistoryEntry);
  }

  async getProfileCounters(userIdx: number): Promise<ProfileCounters | null> {
    const hash = await this.call('getProfileCounters', this.readMs, () =>
      this.client.hgetall(this.keys.profile(userIdx)),
    );
    if (Object.keys(hash).length === 0) return null;
    const counters: ProfileCounters = {
      total_purchases: Number(hash['total'] ?? 0),
      first_purchase_at: hash['first'] ?? null,
      last_purchase_at: hash['last'] ?? null,
      product_groups: {},
      product_types: {},
    };
    for (const [field, value] of Object.entries(hash)) {
      if (field.startsWith('g:')) counters.product_groups[field.slice(2)] = Number(value);
      else if (field.startsWith('t:')) counters.product_types[field.slice(2)] = Number(value);
    }
    return counters;
  }

  /**
   * One round trip: the pointer, the user's vector in the version the pointer named last time,
   * and the history go out together (auto-pipelined; on a cluster, to their nodes at once). Only
   * when the pointer has moved since (a new version switched in) is the vector read again, for
   * the version the pointer names now — so the answer is always the active version's. With the
   * client cache on, a user whose three keys are all held is answered without Redis.
   */
  async getUserState(userIdx: number | null, historyLimit: number): Promise<UserState> {
    if (this.cache !== null && this.state === 'started') {
      const held = this.heldUserState(this.cache, userIdx, historyLimit);
      if (held !== null) return held;
    }
    return this.call('getUserState', this.readMs, async () => {
      const guess = this.lastActive;
      const [version, guessed, recent] = await Promise.all([
        this.readActive(),
        userIdx !== null && guess !== null ? this.readVector(guess, userIdx) : null,
        userIdx !== null && historyLimit > 0 ? this.readHistory(userIdx, historyLimit) : [],
      ]);
      this.lastActive = version;
      const raw =
        version === null || userIdx === null
          ? null
          : version === guess
            ? guessed
            : await this.readVector(version, userIdx);
      return { version, vector: raw === null ? null : bufferToVector(raw), recent };
    });
  }

  /** The user's state from the client cache alone, or null when any of its keys is not held. */
  private heldUserState(cache: TrackedCache, userIdx: number | null, historyLimit: number): UserState | null {
    const active = cache.peek<Box<string | null>>(this.keys.active);
    if (active === undefined) return null;
    const version = active.value;
    let raw: Buffer | null = null;
    if (version !== null && userIdx !== null) {
      const vector = cache.peek<Box<Buffer | null>>(this.keys.userVector(version, userIdx));
      if (vector === undefined) return null;
      raw = vector.value;
    }
    let recent: Purchase[] = [];
    if (userIdx !== null && historyLimit > 0) {
      const history = cache.peek<CachedHistory>(this.keys.history(userIdx));
      if (history === undefined || !historyCovers(history, historyLimit)) return null;
      recent = history.purchases.slice(0, historyLimit);
    }
    this.lastActive = version;
    return { version, vector: raw === null ? null : bufferToVector(raw), recent };
  }

  private async readActive(): Promise<string | null> {
    const key = this.keys.active;
    if (this.cache === null) return this.client.get(key);
    const held = this.cache.peek<Box<string | null>>(key);
    if (held !== undefined) return held.value;
    return (
      await this.cache.load(key, async (r): Promise<Box<string | null>> => ({ value: await r.get(key) }))
    ).value;
  }

  private async readVector(version: string, userIdx: number): Promise<Buffer | null> {
    const key = this.keys.userVector(version, userIdx);
    if (this.cache === null) return this.client.getBuffer(key);
    const held = this.cache.peek<Box<Buffer | null>>(key);
    if (held !== undefined) return held.value;
    return (
      await this.cache.load(
        key,
        async (r): Promise<Box<Buffer | null>> => ({ value: await r.getBuffer(key) }),
      )
    ).value;
  }

  private async readHistory(userIdx: number, limit: number): Promise<Purchase[]> {
    const key = this.keys.history(userIdx);
    if (this.cache === null) return (await this.client.lrange(key, 0, limit - 1)).map(parseHistoryEntry);
    const held = this.cache.peek<CachedHistory>(key);
    if (held !== undefined && historyCovers(held, limit)) return held.purchases.slice(0, limit);
    const loaded = await this.cache.load(
      key,
      async (r): Promise<CachedHistory> => ({
        limit,
        purchases: Object.freeze(
          (await r.lrange(key, 0, limit - 1)).map((e) => Object.freeze(parseHistoryEntry(e))),
        ),
      }),
    );
    return loaded.purchases.slice(0, limit);
  }

  async getPurchasedItems(userIdx: number): Promise<number[]> {
    const entries = await this.call('getPurchasedItems', this.readMs, () =>
      this.client.lrange(this.keys.history(userIdx), 0, HISTORY_LIMIT - 1),
    );
    return [...new Set(entries.map((e) => parseHistoryEntry(e).item_idx))];
  }

  // --- online updates -------------------------------------------------------------------------

  async processedEventIds(eventIds: string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const found = await this.call('processedEventIds', this.readMs, () =>
      Promise.all(eventIds.map((id) => this.client.exists(this.keys.eventApplied(id)))),
    );
    return new Set(eventIds.filter((_, i) => found[i] === 1));
  }

  async appliedUserEvents(events: Array<{ eventId: string; userIdx: number }>): Promise<Set<string>> {
    if (events.length === 0) return new Set();
    // The user's own event set, written by the update script in the user's slot.
    const oldest = Date.now() - this.eventTtlMs;
    const scores = await this.call('appliedUserEvents', this.readMs, () =>
      Promise.all(events.map((e) => this.client.zscore(this.keys.userEvents(e.userIdx), e.eventId))),
    );
    return new Set(
      events.filter((_, i) => scores[i] != null && Number(scores[i]) > oldest).map((e) => e.eventId),
    );
  }

  async applyUserUpdate(update: UserUpdate): Promise<void> {
    const k = this.keys;
    const purchaseArgs: string[] = [];
    for (const p of update.purchases ?? []) {
      const ts = canonicalTimestamp(p.ts);
      purchaseArgs.push(
        historyEntry({ item_idx: p.item_idx, ts }),
        ts,
        p.product_group_name,
        p.product_type_name,
      );
    }
    const keys = [
      k.userVector(update.version, update.userIdx),
      k.history(update.userIdx),
      k.profile(update.userIdx),
      k.userEvents(update.userIdx),
    ];
    const args: Array<string | Buffer> = [
      String(Date.now()),
      String(this.eventTtlMs),
      String(HISTORY_LIMIT),
      update.vector ? '1' : '0',
      update.vector ? vectorToBuffer(update.vector) : '',
      String(update.eventIds.length),
      ...update.eventIds,
      String(purchaseArgs.length / 4),
      ...purchaseArgs,
    ];
    await this.call('applyUserUpdate', this.writeMs, async () => {
      const result = await this.forgetting(keys.slice(0, 2), () =>
        this.eval(SCRIPTS.applyUpdate, keys, args),
      );
      if (result === -1) return; // a redelivery: already applied
      // Outside the user's slot, so not in the script; the per-user marks inside it are what
      // makes a retry after a crash here safe.
      const marks = update.eventIds.map((id) =>
        this.client.set(k.eventApplied(id), '1', 'PX', this.eventTtlMs),
      );
      if (result === 1) marks.push(this.client.hincrby(k.vectorCounts, update.version, 1).then(() => 'OK'));
      await Promise.all(marks);
    });
  }

  // --- internals ------------------------------------------------------------------------------

  /** Raises the map's numbering counter past every index of `entries` (see `assignIds`). */
  private async raiseIdCounter(kind: IdKind, entries: Array<[string, number]>): Promise<void> {
    let next = 0;
    for (const [, idx] of entries) if (idx + 1 > next) next = idx + 1;
    await this.call('raiseIdCounter', this.writeMs, () =>
      this.eval(SCRIPTS.raiseIdCounter, [this.keys.idCounter(kind)], [String(next)]),
    );
  }

  /** The bucket keys of one id map: original id → index, index → original id. */
  private idMapKeys(kind: IdKind): { forward: (id: string) => string; reverse: (idx: number) => string } {
    const k = this.keys;
    return kind === 'user'
      ? { forward: (c) => k.customerToUser(c), reverse: (u) => k.userToCustomer(u) }
      : { forward: (a) => k.articleToItem(a), reverse: (i) => k.itemToArticle(i) };
  }

  private async putIdPairs(kind: IdKind, entries: Array<[string, number]>): Promise<void> {
    const { forward, reverse } = this.idMapKeys(kind);
    await this.hsetBucketed(entries, ([id, idx], add) => {
      add(forward(id), id, String(idx));
      add(reverse(idx), String(idx), id);
    });
  }

  /**
   * Writes bucketed hash fields: `fieldsOf` adds each entry's (key, field, value) triples, and each
   * chunk of entries goes as one HSET per bucket key, auto-pipelined by the client (cluster-safe:
   * every command names one key).
   */
  private async hsetBucketed<T>(
    entries: readonly T[],
    fieldsOf: (entry: T, add: (key: string, field: string, value: string) => void) => void,
  ): Promise<void> {
    for (const chunk of chunks(entries, this.chunkSize * 4)) {
      const byKey = new Map<string, string[]>();
      const add = (key: string, field: string, value: string) => {
        const fields = byKey.get(key);
        if (fields) fields.push(field, value);
        else byKey.set(key, [field, value]);
      };
      for (const entry of chunk) fieldsOf(entry, add);
      await Promise.all([...byKey].map(([key, fields]) => this.client.hset(key, ...fields)));
    }
  }

  /** Runs a write, then drops the keys it touches from the client cache (see TrackedCache.forget). */
  private async forgetting<T>(keys: readonly string[], write: () => Promise<T>): Promise<T> {
    if (this.cache === null) return write();
    try {
      return await write();
    } finally {
      this.cache.forget(keys);
    }
  }

  private async eval(s: Script, keys: string[], args: Array<string | Buffer>): Promise<unknown> {
    try {
      return await this.client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.client.eval(s.text, keys.length, ...keys, ...args);
      }
      throw error;
    }
  }

  /** Runs one store call within its budget, with errors translated. */
  private async call<T>(operation: string, budgetMs: number, fn: () => Promise<T>): Promise<T> {
    if (this.state !== 'started') {
      throw translateRedisError(
        new Error(this.state === 'new' ? 'the store is not started' : 'the store is closed'),
        operation,
      );
    }
    try {
      return await withTimeout(fn(), budgetMs, operation);
    } catch (error) {
      throw translateRedisError(error, operation);
    }
  }
}
