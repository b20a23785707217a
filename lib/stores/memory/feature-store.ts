/**
 * In-process feature store (`FEATURE_STORE=memory`): the default for `npm start` and fast tests.
 *
 * Same contract as the Redis adapter, checked by the shared conformance suite. All state lives in
 * maps owned by this object; vectors are copied on the way in and out so callers can never mutate
 * stored state by accident. Every method is synchronous underneath, so each one is trivially
 * atomic with respect to the others.
 */
import { DependencyError, NotFoundError, ValidationError } from '../../errors.ts';
import { addPurchaseToCounters, canonicalTimestamp, emptyCounters, trendingScopeKey } from '../common.ts';
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

export interface MemoryFeatureStoreOptions {
  /** How long applied event ids are remembered. @default PROCESSED_EVENT_TTL_MS (7 days) */
  processedEventTtlMs?: number;
  /** Clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

interface Profile {
  /** Newest first. */
  recent: Purchase[];
  counters: ProfileCounters;
}

export class MemoryFeatureStore implements FeatureStore {
  readonly kind = 'memory' as const;

  private readonly processedTtlMs: number;
  private readonly now: () => number;
  private closed = false;

  private readonly infos = new Map<string, ModelVersionInfo>();
  /** version → user → vector; kept apart from `infos` so vectors may be loaded before the info. */
  private readonly vectors = new Map<string, Map<number, Float32Array>>();
  /** version → scope key → item ids. */
  private readonly trending = new Map<string, Map<string, number[]>>();
  private active: string | null = null;
  private readonly customerToUser = new Map<string, number>();
  private readonly userToCustomer = new Map<number, string>();
  private readonly articleToItem = new Map<string, number>();
  private readonly itemToArticle = new Map<number, string>();
  /** Per id map: the next number `assignIds` gives (null until a map is loaded) and its numbers. */
  private readonly idMaps: Record<IdKind, LiveIds> = {
    user: { forward: this.customerToUser, reverse: this.userToCustomer, next: null, live: new Map() },
    item: { forward: this.articleToItem, reverse: this.itemToArticle, next: null, live: new Map() },
  };
  private readonly profiles = new Map<number, Profile>();
  private readonly segments = new Map<number, string>();
  /** event id → expiry time (ms). */
  private readonly processed = new Map<string, number>();

  constructor(options: MemoryFeatureStoreOptions = {}) {
    this.processedTtlMs = options.processedEventTtlMs ?? PROCESSED_EVENT_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  // --- model versions -------------------------------------------------------------------------

  async putVersionInfo(info: ModelVersionInfo): Promise<void> {
    this.assertOpen();
    this.infos.set(info.version, structuredClone(info));
  }

  async getVersionInfo(version: string): Promise<ModelVersionInfo | null> {
    this.assertOpen();
    const info = this.infos.get(version);
    return info ? structuredClone(info) : null;
  }

  async listVersions(): Promise<string[]> {
    this.assertOpen();
    return [...this.infos.keys()].sort();
  }

  async activateVersion(version: string): Promise<void> {
    this.assertOpen();
    if (!this.infos.has(version)) {
      throw new NotFoundError(`model version ${version} has no stored info; cannot activate it`);
    }
    this.active = version;
  }

  async activeVersion(): Promise<string | null> {
    this.assertOpen();
    return this.active;
  }

  async dropVersion(version: string): Promise<void> {
    this.assertOpen();
    if (version === this.active) {
      throw new ValidationError(`model version ${version} is active; activate another before dropping it`);
    }
    this.infos.delete(version);
    this.vectors.delete(version);
    this.trending.delete(version);
  }

  // --- user vectors ---------------------------------------------------------------------------

  async putUserVectors(version: string, entries: Array<[number, Float32Array]>): Promise<void> {
    this.assertOpen();
    const vectors = this.versionVectors(version);
    for (const [userIdx, vector] of entries) vectors.set(userIdx, Float32Array.from(vector));
  }

  async getUserVector(version: string, userIdx: number): Promise<Float32Array | null> {
    this.assertOpen();
    const vector = this.vectors.get(version)?.get(userIdx);
    return vector ? vector.slice() : null;
  }

  async countUserVectors(version: string): Promise<number> {
    this.assertOpen();
    return this.vectors.get(version)?.size ?? 0;
  }

  // --- trending -------------------------------------------------------------------------------

  async putTrending(version: string, scope: TrendingScope, itemIdxs: number[]): Promise<void> {
    this.assertOpen();
    let lists = this.trending.get(version);
    if (!lists) {
      lists = new Map();
      this.trending.set(version, lists);
    }
    lists.set(trendingScopeKey(scope), [...itemIdxs]);
  }

  async getTrending(version: string, scope: TrendingScope): Promise<number[]> {
    this.assertOpen();
    return [...(this.trending.get(version)?.get(trendingScopeKey(scope)) ?? [])];
  }

  // --- id maps --------------------------------------------------------------------------------

  async putUserIds(entries: Array<[string, number]>): Promise<void> {
    this.assertOpen();
    for (const [customerId, userIdx] of entries) {
      this.customerToUser.set(customerId, userIdx);
      this.userToCustomer.set(userIdx, customerId);
    }
    raiseCounter(this.idMaps.user, entries);
  }

  async putItemIds(entries: Array<[string, number]>): Promise<void> {
    this.assertOpen();
    for (const [articleId, itemIdx] of entries) {
      this.articleToItem.set(articleId, itemIdx);
      this.itemToArticle.set(itemIdx, articleId);
    }
    raiseCounter(this.idMaps.item, entries);
  }

  async assignIds(kind: IdKind, keys: string[]): Promise<AssignedId[] | null> {
    this.assertOpen();
    const map = this.idMaps[kind];
    if (map.next === null) return null;
    const byKey = new Map<string, AssignedId>();
    for (const key of keys) {
      if (byKey.has(key)) continue;
      const known = map.forward.get(key);
      if (known !== undefined) {
        byKey.set(key, { key, idx: known, created: false });
        continue;
      }
      const idx = map.next++;
      map.forward.set(key, idx);
      map.reverse.set(idx, key);
      map.live.set(key, idx);
      byKey.set(key, { key, idx, created: true });
    }
    // A key named twice in one call gets the same answer both times.
    return keys.map((key) => byKey.get(key)!);
  }

  async putUserSegments(entries: Array<[number, string]>): Promise<void> {
    this.assertOpen();
    for (const [userIdx, segment] of entries) this.segments.set(userIdx, segment);
  }

  async getUserSegment(userIdx: number): Promise<string | null> {
    this.assertOpen();
    return this.segments.get(userIdx) ?? null;
  }

  async liveIds(kind: IdKind): Promise<Array<[string, number]>> {
    this.assertOpen();
    return [...this.idMaps[kind].live].sort((a, b) => a[1] - b[1]);
  }

  async forgetLiveIds(kind: IdKind, pairs: Array<[string, number]>): Promise<number> {
    this.assertOpen();
    const { live } = this.idMaps[kind];
    let dropped = 0;
    for (const [key, idx] of pairs) {
      if (live.get(key) === idx) {
        live.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  async userIdxOf(customerId: string): Promise<number | null> {
    this.assertOpen();
    return this.customerToUser.get(customerId) ?? null;
  }

  async customerIdOf(userIdx: number): Promise<string | null> {
    this.assertOpen();
    return this.userToCustomer.get(userIdx) ?? null;
  }

  async itemIdxOf(articleId: string): Promise<number | null> {
    this.assertOpen();
    return this.articleToItem.get(articleId) ?? null;
  }

  async articleIdOf(itemIdx: number): Promise<string | null> {
    this.assertOpen();
    return this.itemToArticle.get(itemIdx) ?? null;
  }

  // --- history and profile --------------------------------------------------------------------

  async putProfiles(seeds: UserProfileSeed[]): Promise<void> {
    this.assertOpen();
    for (const seed of seeds) {
      this.profiles.set(seed.userIdx, {
        recent: seed.recent
          .slice(0, HISTORY_LIMIT)
          .map((p) => ({ item_idx: p.item_idx, ts: canonicalTimestamp(p.ts) })),
        counters: normaliseCounters(seed.counters),
      });
    }
  }

  async getRecentPurchases(userIdx: number, limit: number): Promise<Purchase[]> {
    this.assertOpen();
    const recent = this.profiles.get(userIdx)?.recent ?? [];
    return recent.slice(0, Math.max(0, limit)).map((p) => ({ ...p }));
  }

  async getProfileCounters(userIdx: number): Promise<ProfileCounters | null> {
    this.assertOpen();
    const profile = this.profiles.get(userIdx);
    return profile ? structuredClone(profile.counters) : null;
  }

  async getUserState(userIdx: number | null, historyLimit: number): Promise<UserState> {
    this.assertOpen();
    // In process there is no round trip to save: the three reads, one after the other.
    const version = this.active;
    return {
      version,
      vector: version === null || userIdx === null ? null : await this.getUserVector(version, userIdx),
      recent: userIdx === null ? [] : await this.getRecentPurchases(userIdx, historyLimit),
    };
  }

  async getPurchasedItems(userIdx: number): Promise<number[]> {
    this.assertOpen();
    const seen = new Set<number>();
    for (const p of this.profiles.get(userIdx)?.recent ?? []) seen.add(p.item_idx);
    return [...seen];
  }

  // --- online updates -------------------------------------------------------------------------

  async processedEventIds(eventIds: string[]): Promise<Set<string>> {
    this.assertOpen();
    const now = this.now();
    const found = new Set<string>();
    for (const id of eventIds) {
      const expiresAt = this.processed.get(id);
      if (expiresAt !== undefined && expiresAt > now) found.add(id);
    }
    return found;
  }

  async appliedUserEvents(events: Array<{ eventId: string; userIdx: number }>): Promise<Set<string>> {
    // Here the marks are written in the same step as the user's change: they are the answer.
    return this.processedEventIds(events.map((e) => e.eventId));
  }

  async applyUserUpdate(update: UserUpdate): Promise<void> {
    this.assertOpen();
    const now = this.now();
    if (update.eventIds.length > 0) {
      const fresh = update.eventIds.some((id) => !((this.processed.get(id) ?? 0) > now));
      if (!fresh) return; // a redelivery of work already applied
    }
    // Validate everything before the first change so a bad update changes nothing.
    const purchases = (update.purchases ?? []).map((p) => ({ ...p, ts: canonicalTimestamp(p.ts) }));
    if (update.vector)
      this.versionVectors(update.version).set(update.userIdx, Float32Array.from(update.vector));
    if (purchases.length > 0) {
      const profile = this.profiles.get(update.userIdx) ?? { recent: [], counters: emptyCounters() };
      for (const p of purchases) {
        profile.recent.unshift({ item_idx: p.item_idx, ts: p.ts });
        addPurchaseToCounters(profile.counters, p);
      }
      profile.recent.length = Math.min(profile.recent.length, HISTORY_LIMIT);
      this.profiles.set(update.userIdx, profile);
    }
    for (const id of update.eventIds) this.processed.set(id, now + this.processedTtlMs);
    this.sweepProcessed(now);
  }

  // --- internals ------------------------------------------------------------------------------

  private versionVectors(version: string): Map<number, Float32Array> {
    let vectors = this.vectors.get(version);
    if (!vectors) {
      vectors = new Map();
      this.vectors.set(version, vectors);
    }
    return vectors;
  }

  private assertOpen(): void {
    if (this.closed) throw new DependencyError('feature-store', 'the memory store is closed');
  }

  private sweepCountdown = 0;
  /** Forgets expired event ids now and then, so memory stays bounded by the TTL. */
  private sweepProcessed(now: number): void {
    if (++this.sweepCountdown < 1024) return;
    this.sweepCountdown = 0;
    for (const [id, expiresAt] of this.processed) if (expiresAt <= now) this.processed.delete(id);
  }
}

function normaliseCounters(counters: ProfileCounters): ProfileCounters {
  return {
    total_purchases: counters.total_purchases,
    first_purchase_at:
      counters.first_purchase_at === null ? null : canonicalTimestamp(counters.first_purchase_at),
    last_purchase_at:
      counters.last_purchase_at === null ? null : canonicalTimestamp(counters.last_purchase_at),
    product_groups: { ...counters.product_groups },
    product_types: { ...counters.product_types },
  };
}

interface LiveIds {
  forward: Map<string, number>;
  reverse: Map<number, string>;
  next: number | null;
  live: Map<string, number>;
}

function raiseCounter(map: LiveIds, entries: ReadonlyArray<readonly [string, number]>): void {
  let next = map.next ?? 0;
  for (const [, idx] of entries) if (idx + 1 > next) next = idx + 1;
  map.next = next;
}
