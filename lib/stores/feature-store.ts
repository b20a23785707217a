/**
 * Feature store port: per-user state the API and the updater read and write.
 *
 * Vectors and trending lists belong to a model version; the version pointer names the one
 * serving reads, and switching it is atomic. Id maps, purchase histories and profile counters
 * are facts, not model outputs, and are shared by all versions.
 *
 * Adapters: `memory` (in-process, default) and `redis` (ioredis, also Redis Cluster). One
 * conformance suite (conformance/feature-store.ts) runs against both.
 */
import type { ModelVersionInfo, ProfileCounters, Purchase, TrendingScope } from './types.ts';

/** One atomic change to a user, as the online updater applies it. */
export interface UserUpdate {
  version: string;
  userIdx: number;
  /** New user vector for `version` (float32, model rank long). */
  vector?: Float32Array;
  /** Purchases to append to the history and counters (newest last). */
  purchases?: Array<Purchase & { product_group_name: string; product_type_name: string }>;
  /** Event ids this update covers; remembered so a redelivery is recognised. */
  eventIds: string[];
}

/** The two id maps: customers → `user_idx`, articles → `item_idx`. */
export type IdKind = 'user' | 'item';

export interface AssignedId {
  key: string;
  idx: number;
  /** True when this call numbered the key. */
  created: boolean;
}

export interface UserProfileSeed {
  userIdx: number;
  /** Most recent purchases, newest first, at most `HISTORY_LIMIT`. */
  recent: Purchase[];
  counters: ProfileCounters;
}

/** A user as one request reads it (`getUserState`). */
export interface UserState {
  /** The active version; null while no model is published. */
  version: string | null;
  /** The user's vector in that version; null without one. */
  vector: Float32Array | null;
  /** Newest first. */
  recent: Purchase[];
}

/** How many recent purchases a user's history keeps. */
export const HISTORY_LIMIT = 50;

/** How long applied event ids are remembered for redelivery checks (7 days). */
export const PROCESSED_EVENT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface FeatureStore {
  readonly kind: 'memory' | 'redis';
  start(): Promise<void>;
  /** Idempotent; safe to call twice. */
  close(): Promise<void>;
  /** Throws a DependencyError when the store cannot answer. */
  ping(): Promise<void>;

  // --- model versions -------------------------------------------------------------------------
  putVersionInfo(info: ModelVersionInfo): Promise<void>;
  getVersionInfo(version: string): Promise<ModelVersionInfo | null>;
  listVersions(): Promise<string[]>;
  /** Atomically points serving at `version` (which must have its info stored). */
  activateVersion(version: string): Promise<void>;
  activeVersion(): Promise<string | null>;
  /** Removes a version's vectors, trending lists and info. */
  dropVersion(version: string): Promise<void>;

  // --- user vectors ---------------------------------------------------------------------------
  putUserVectors(version: string, entries: Array<[userIdx: number, vector: Float32Array]>): Promise<void>;
  getUserVector(version: string, userIdx: number): Promise<Float32Array | null>;
  countUserVectors(version: string): Promise<number>;

  // --- trending -------------------------------------------------------------------------------
  putTrending(version: string, scope: TrendingScope, itemIdxs: number[]): Promise<void>;
  getTrending(version: string, scope: TrendingScope): Promise<number[]>;

  // --- id maps (stable across versions) -------------------------------------------------------
  putUserIds(entries: Array<[customerId: string, userIdx: number]>): Promise<void>;
  putItemIds(entries: Array<[articleId: string, itemIdx: number]>): Promise<void>;
  userIdxOf(customerId: string): Promise<number | null>;
  customerIdOf(userIdx: number): Promise<string | null>;
  itemIdxOf(articleId: string): Promise<number | null>;
  articleIdOf(itemIdx: number): Promise<string | null>;
  /**
   * Numbers ids the map does not hold yet — the live system's way to learn of a new customer or
   * article between two batch runs, and the batch's way to number its new ones when a live
   * system shares the store. Each key gets the next number of one dense counter (which
   * `putUserIds` / `putItemIds` raise past every loaded index); a key already in the map, or
   * numbered before, keeps its number (`created: false`). Atomic: concurrent calls for one key,
   * from any number of processes, get one number, and no number is given twice or skipped.
   * Returns null, numbering nothing, while the map was never loaded (no counter yet).
   */
  assignIds(kind: IdKind, keys: string[]): Promise<AssignedId[] | null>;
  /**
   * Sets users' customer segment (e.g. `age:25-34`: what segment trending serves a user the model
   * has no vector for); a batch load writes every user that has one, replacing earlier values.
   */
  putUserSegments(entries: Array<[userIdx: number, segment: string]>): Promise<void>;
  /** The user's customer segment, or null when it is not known. */
  getUserSegment(userIdx: number): Promise<string | null>;
  /** Every id `assignIds` numbered (what the next batch adopts), in index order. */
  liveIds(kind: IdKind): Promise<Array<[key: string, idx: number]>>;
  /**
   * Forgets live numbers that the lake's id map now holds (the batch adopted them), so the set
   * `liveIds` answers stays as small as what the next batch has to adopt. A pair is dropped only
   * while it still names that number; the id map keeps it (lookups and `assignIds` still answer
   * it). Returns how many were dropped.
   */
  forgetLiveIds(kind: IdKind, pairs: Array<[key: string, idx: number]>): Promise<number>;

  // --- history and profile --------------------------------------------------------------------
  /** Replaces users' recent purchases and counters (batch load). */
  putProfiles(seeds: UserProfileSeed[]): Promise<void>;
  /** Newest first. */
  getRecentPurchases(userIdx: number, limit: number): Promise<Purchase[]>;
  getProfileCounters(userIdx: number): Promise<ProfileCounters | null>;
  /**
   * Every item the user is known to have bought, newest first, each once, bounded by
   * HISTORY_LIMIT. An inspection read (tests, tools): requests get the purchases they exclude
   * through `getUserState`.
   */
  getPurchasedItems(userIdx: number): Promise<number[]>;
  /**
   * What a request needs of a user, in one read: the active version, the user's vector in it,
   * and the user's `historyLimit` newest purchases — the same as `activeVersion()`, then
   * `getUserVector(version, userIdx)` and `getRecentPurchases(userIdx, historyLimit)`, but in one
   * round trip where the store can (`userIdx` null: the version only).
   */
  getUserState(userIdx: number | null, historyLimit: number): Promise<UserState>;

  // --- online updates -------------------------------------------------------------------------
  /** Which of these event ids were already applied. */
  processedEventIds(eventIds: string[]): Promise<Set<string>>;
  /**
   * Which of these events were already applied to the user each names, read from the marks that
   * `applyUserUpdate` writes atomically with the user's change. Unlike `processedEventIds` (whose
   * marks may be written in a separate step), the answer holds even after a crash between the
   * two, so the online updater plans a redelivered batch with it: an event counted as new here
   * was certainly not folded into the stored vector yet.
   */
  appliedUserEvents(events: Array<{ eventId: string; userIdx: number }>): Promise<Set<string>>;
  /**
   * Applies vector, purchases and processed-id marks in one atomic step. When the update names
   * event ids and every one of them was already applied, nothing changes (a redelivery), so the
   * call is idempotent even if the caller skipped `processedEventIds`. Timestamps are stored in
   * canonical ISO form (`Date#toISOString`).
   */
  applyUserUpdate(update: UserUpdate): Promise<void>;
}
