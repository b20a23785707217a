/**
 * Publishing a model version: stream a bundle from disk into any FeatureStore + VectorIndex
 * pair in bounded batches, verify what landed, then switch serving over and clean up.
 *
 * Switch order: the vector index is activated first, the feature store pointer second. Serving
 * reads the feature store pointer and pins that version in its vector searches
 * (`SearchRequest.version`), so at every moment it reads one complete version: the new one is
 * fully loaded in both stores before either pointer moves, and the previous one stays until the
 * next publish (`keepPrevious`), so requests already pinned to it finish normally.
 */
import { AppError, describeError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { BUNDLE_FILES, BundleReader } from './bundle.ts';
import type { FeatureStore } from './feature-store.ts';
import type { VectorIndex } from './vector-index.ts';

export type PublishStep =
  | 'items'
  | 'item_ids'
  | 'user_ids'
  | 'user_segments'
  | 'user_vectors'
  | 'profiles'
  | 'trending'
  | 'verify'
  | 'activate'
  | 'cleanup';

export interface PublishProgress {
  version: string;
  step: PublishStep;
  /** Rows of this step done so far, and the step's total (from the manifest). */
  done: number;
  total: number;
}

export interface PublishOptions {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  /** A complete bundle directory, `<MODELS_DIR>/<version>`. */
  bundleDir: string;
  onProgress?: (progress: PublishProgress) => void;
  /** Keep the previously active version (rollback, in-flight requests). @default true */
  keepPrevious?: boolean;
  /** Rows per write call to the stores. @default 1000 */
  batchSize?: number;
  /** Switch serving to the new version after loading it. @default true */
  activate?: boolean;
  logger?: Logger;
}

export interface PublishResult {
  version: string;
  previous: string | null;
  dropped: string[];
  items: number;
  users: number;
  ms: number;
}

export const PUBLISH_BATCH_SIZE = 1000;

/** Thrown when what landed in a store does not match the bundle; nothing was activated. */
export class PublishVerificationError extends AppError {
  constructor(message: string) {
    super('PUBLISH_VERIFICATION_FAILED', message);
  }
}

export async function publishVersion(options: PublishOptions): Promise<PublishResult> {
  const started = performance.now();
  const { featureStore, vectorIndex } = options;
  const batchSize = options.batchSize ?? PUBLISH_BATCH_SIZE;
  const bundle = await BundleReader.open(options.bundleDir);
  const info = bundle.info;
  const version = info.version;
  const log = options.logger?.child({ version });
  const report = (step: PublishStep, done: number, total: number) =>
    options.onProgress?.({ version, step, done, total });

  const previous = await featureStore.activeVersion();
  log?.info(
    { bundle: options.bundleDir, previous, items: info.items, users: info.users },
    'publishing model version',
  );

  try {
    await featureStore.putVersionInfo(info);
    await vectorIndex.createVersion(version, info.rank);

    const itemTotal = bundle.rows(BUNDLE_FILES.items);
    let done = 0;
    for await (const points of rechunk(bundle.items(), batchSize)) {
      await vectorIndex.upsert(version, points);
      done += points.length;
      report('items', done, itemTotal);
    }

    done = 0;
    const itemIdTotal = bundle.rows(BUNDLE_FILES.itemIds);
    for await (const entries of rechunk(bundle.itemIds(), batchSize)) {
      await featureStore.putItemIds(entries);
      done += entries.length;
      report('item_ids', done, itemIdTotal);
    }

    done = 0;
    const userIdTotal = bundle.rows(BUNDLE_FILES.userIds);
    for await (const entries of rechunk(bundle.userIds(), batchSize)) {
      await featureStore.putUserIds(entries);
      done += entries.length;
      report('user_ids', done, userIdTotal);
    }

    done = 0;
    const segmentTotal = bundle.rows(BUNDLE_FILES.userSegments);
    for await (const entries of rechunk(bundle.userSegments(), batchSize)) {
      await featureStore.putUserSegments(
        entries.map(([segment, userIdx]): [number, string] => [userIdx, segment]),
      );
      done += entries.length;
      report('user_segments', done, segmentTotal);
    }

    done = 0;
    const userTotal = bundle.rows(BUNDLE_FILES.users);
    for await (const entries of rechunk(bundle.userVectors(), batchSize)) {
      await featureStore.putUserVectors(version, entries);
      done += entries.length;
      report('user_vectors', done, userTotal);
    }

    done = 0;
    const profileTotal = bundle.rows(BUNDLE_FILES.profiles);
    for await (const seeds of rechunk(bundle.profiles(), batchSize)) {
      await featureStore.putProfiles(seeds);
      done += seeds.length;
      report('profiles', done, profileTotal);
    }

    const trending = await bundle.trending();
    const groups = Object.entries(trending.groups);
    await featureStore.putTrending(version, { kind: 'global' }, trending.global);
    for (const [productGroup, items] of groups) {
      await featureStore.putTrending(version, { kind: 'group', productGroup }, items);
    }
    const segments = Object.entries(trending.segments ?? {});
    for (const [segment, items] of segments) {
      await featureStore.putTrending(version, { kind: 'segment', segment }, items);
    }
    const lists = groups.length + segments.length + 1;
    report('trending', lists, lists);

    const [indexed, userVectors] = await Promise.all([
      vectorIndex.count(version),
      featureStore.countUserVectors(version),
    ]);
    if (indexed !== itemTotal) {
      throw new PublishVerificationError(
        `vector index holds ${indexed} items for ${version}; the bundle has ${itemTotal}`,
      );
    }
    if (userVectors !== userTotal) {
      throw new PublishVerificationError(
        `feature store holds ${userVectors} user vectors for ${version}; the bundle has ${userTotal}`,
      );
    }
    report('verify', 1, 1);
  } catch (error) {
    log?.error({ err: describeError(error) }, 'publishing failed; removing the partly loaded version');
    await removeUnlessActive(featureStore, vectorIndex, version);
    throw error;
  }

  const result: PublishResult = {
    version,
    previous,
    dropped: [],
    items: info.items,
    users: info.users,
    ms: 0,
  };
  if (options.activate ?? true) {
    await vectorIndex.activateVersion(version);
    await featureStore.activateVersion(version);
    report('activate', 1, 1);
    result.dropped = await dropOldVersions(
      featureStore,
      vectorIndex,
      version,
      (options.keepPrevious ?? true) ? previous : null,
    );
    report('cleanup', 1, 1);
  }
  result.ms = Math.round(performance.now() - started);
  log?.info({ ...result }, 'model version published');
  return result;
}

/** Drops every version older than the one kept (the previous, or the new one itself). */
async function dropOldVersions(
  featureStore: FeatureStore,
  vectorIndex: VectorIndex,
  current: string,
  keep: string | null,
): Promise<string[]> {
  const oldest = keep !== null && keep < current ? keep : current;
  const versions = new Set([...(await featureStore.listVersions()), ...(await vectorIndex.listVersions())]);
  const dropped: string[] = [];
  for (const v of [...versions].sort()) {
    if (v === current || v === keep || v >= oldest) continue;
    await vectorIndex.dropVersion(v);
    await featureStore.dropVersion(v);
    dropped.push(v);
  }
  return dropped;
}

async function removeUnlessActive(featureStore: FeatureStore, vectorIndex: VectorIndex, version: string) {
  const cleanups = [
    async () => {
      if ((await vectorIndex.activeVersion()) !== version) await vectorIndex.dropVersion(version);
    },
    async () => {
      if ((await featureStore.activeVersion()) !== version) await featureStore.dropVersion(version);
    },
  ];
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
}

/** Re-batches an async stream of arrays into arrays of exactly `size` (the last may be shorter). */
export async function* rechunk<T>(source: AsyncIterable<T[]>, size: number): AsyncGenerator<T[]> {
  let buffer: T[] = [];
  for await (const batch of source) {
    for (const item of batch) {
      buffer.push(item);
      if (buffer.length === size) {
        yield buffer;
        buffer = [];
      }
    }
  }
  if (buffer.length > 0) yield buffer;
}
