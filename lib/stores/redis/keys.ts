/**
 * The Redis key layout of the feature store (documented in docs/stores.md). Every key starts
 * with the configured prefix. Keys that must change together share a hash tag, so on Redis
 * Cluster they live in one slot and a Lua script can update them atomically:
 *
 * - `{m}`        model metadata: version infos, the active pointer, vector counts, trending lists
 * - `{u:<idx>}`  one user: a vector per model version, purchase history, profile counters and the
 *                ids of the events applied to this user
 *
 * Id maps are spread over bucket hashes (small hashes are stored compactly by Redis), and the
 * global "event applied" marks are plain keys with a TTL.
 */
import { ConfigError } from '../../errors.ts';
import { escapeGlob } from './connection.ts';

/** Buckets for string-keyed id maps (customer and article ids). */
export const ID_BUCKETS = 4096;
/** Users or items per bucket of an integer-keyed id map. */
export const INT_BUCKET_SIZE = 256;

/** 32-bit FNV-1a of a string, for spreading ids over buckets. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class FeatureStoreKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) {
      throw new ConfigError(
        'REDIS_KEY_PREFIX',
        `must not contain { or } (they would become the hash tag), got ${JSON.stringify(prefix)}`,
      );
    }
    this.prefix = prefix;
  }

  // --- model metadata, one slot ----------------------------------------------------------------
  get versions(): string {
    return `${this.prefix}{m}:versions`;
  }
  get active(): string {
    return `${this.prefix}{m}:active`;
  }
  get vectorCounts(): string {
    return `${this.prefix}{m}:vector-counts`;
  }
  trending(version: string): string {
    return `${this.prefix}{m}:trending:${version}`;
  }

  // --- one user, one slot ----------------------------------------------------------------------
  userVector(version: string, userIdx: number): string {
    return `${this.prefix}{u:${userIdx}}:vec:${version}`;
  }
  history(userIdx: number): string {
    return `${this.prefix}{u:${userIdx}}:hist`;
  }
  profile(userIdx: number): string {
    return `${this.prefix}{u:${userIdx}}:prof`;
  }
  userEvents(userIdx: number): string {
    return `${this.prefix}{u:${userIdx}}:events`;
  }
  /** SCAN pattern of every user vector of one version. */
  userVectorPattern(version: string): string {
    return `${escapeGlob(this.prefix)}{u:*}:vec:${escapeGlob(version)}`;
  }

  // --- id maps and event marks -----------------------------------------------------------------
  customerToUser(customerId: string): string {
    return `${this.prefix}ids:c2u:${fnv1a(customerId) % ID_BUCKETS}`;
  }
  userToCustomer(userIdx: number): string {
    return `${this.prefix}ids:u2c:${Math.floor(userIdx / INT_BUCKET_SIZE)}`;
  }
  articleToItem(articleId: string): string {
    return `${this.prefix}ids:a2i:${fnv1a(articleId) % ID_BUCKETS}`;
  }
  itemToArticle(itemIdx: number): string {
    return `${this.prefix}ids:i2a:${Math.floor(itemIdx / INT_BUCKET_SIZE)}`;
  }
  /**
   * Live numbering of one id map, one slot (`{ids}`): the counter (next number), and the ids it
   * numbered both ways, so the numbering script sees and changes them atomically.
   */
  /** Bucket of user_idx → customer segment (256 users per bucket, like the reverse id map). */
  userSegments(userIdx: number): string {
    return `${this.prefix}seg:${Math.floor(userIdx / 256)}`;
  }
  idCounter(kind: 'user' | 'item'): string {
    return `${this.prefix}{ids}:${kind}:next`;
  }
  liveIds(kind: 'user' | 'item'): string {
    return `${this.prefix}{ids}:${kind}:live`;
  }
  liveIdsReverse(kind: 'user' | 'item'): string {
    return `${this.prefix}{ids}:${kind}:live-idx`;
  }
  eventApplied(eventId: string): string {
    return `${this.prefix}event:${eventId}`;
  }
  /** SCAN pattern of every key under the prefix (tests and tooling). */
  get everything(): string {
    return `${escapeGlob(this.prefix)}*`;
  }
}
