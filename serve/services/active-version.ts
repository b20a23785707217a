/**
 * The active model version as the API last read it.
 *
 * Every request reads the feature store's version pointer, so a new version is served as soon as
 * it is switched in. The last version read is remembered: while the feature store is down, the
 * degraded answers (trending lists from the cache, similar items from the vector index) are
 * those of that version.
 */
import type { FeatureStore } from '../../lib/stores/feature-store.ts';

export class ActiveVersion {
  private last: string | null = null;

  constructor(
    private readonly featureStore: Pick<FeatureStore, 'activeVersion'>,
    /** Called once for each version first read (e.g. to warm the caches of its fallback lists). */
    private readonly onNew?: (version: string) => void,
  ) {}

  /** The last version read, null before the first read that found one. */
  get known(): string | null {
    return this.last;
  }

  /** Reads the pointer (null: no model yet) and remembers what it found. */
  async read(): Promise<string | null> {
    return this.seen(await this.featureStore.activeVersion());
  }

  /** Records a version read elsewhere (a request that read the pointer with other data). */
  seen(version: string | null): string | null {
    if (version !== null && version !== this.last) {
      this.last = version;
      this.onNew?.(version);
    }
    return version;
  }
}
