/**
 * Helpers of the Qdrant integration tests: the exact answers of a few queries in each version
 * (from the embedded index), and a reader that searches through the alias all along a publish
 * and records which complete version each answer came from ('partial' when it matches none).
 */
import { DependencyError } from '../../errors.ts';
import { EmbeddedVectorIndex } from '../embedded/vector-index.ts';
import type { FeatureStore } from '../feature-store.ts';
import { MemoryFeatureStore } from '../memory/feature-store.ts';
import { publishVersion } from '../publish.ts';
import { gaussianVector, seededRandom } from '../random.ts';
import type { VectorIndex } from '../vector-index.ts';

export const PROBE_K = 20;

export interface VersionProbe {
  queries: Float32Array[];
  /** version → the exact top-k ids of each query, joined. */
  truth: Map<string, string[]>;
}

const ids = (hits: Array<{ id: number }>) => hits.map((h) => h.id).join(',');

/** Loads each bundle into an embedded (exact) index and keeps its answers to the probe queries. */
export async function probeVersions(
  bundles: Array<{ version: string; dir: string }>,
  rank: number,
): Promise<VersionProbe> {
  const queries = Array.from({ length: 8 }, (_, i) => gaussianVector(seededRandom(100 + i), rank));
  const truth = new Map<string, string[]>();
  for (const { version, dir } of bundles) {
    const exact = new EmbeddedVectorIndex();
    await exact.start();
    await publishVersion({ featureStore: new MemoryFeatureStore(), vectorIndex: exact, bundleDir: dir });
    truth.set(
      version,
      await Promise.all(queries.map(async (vector) => ids(await exact.search({ vector, k: PROBE_K })))),
    );
    await exact.close();
  }
  return { queries, truth };
}

export interface AliasReader {
  /** Which version each successful read saw, in the order the answers arrived (from `reads`). */
  readonly seen: string[];
  /** Each successful read's start and end (ms, performance.now) and version. */
  reads: Array<{ start: number; end: number; version: string }>;
  /** Reads that failed (always DependencyError; anything else fails `stop()`). */
  failures: number;
  stop(): Promise<void>;
}

/**
 * `readers` loops searching until `stop()`: through the alias (no pinned version), or, with
 * `pinnedBy`, as serving does — the feature store's active version, pinned in the search.
 */
export function readThroughAlias(
  index: VectorIndex,
  probe: VersionProbe,
  options: { readers?: number; pinnedBy?: FeatureStore } = {},
): AliasReader {
  const readers = options.readers ?? 4;
  const state: AliasReader = {
    reads: [],
    get seen() {
      return this.reads.map((r) => r.version);
    },
    failures: 0,
    stop: async () => undefined,
  };
  let stopped = false;
  let next = 0;
  const loop = async () => {
    while (!stopped) {
      const q = next++ % probe.queries.length;
      const start = performance.now();
      try {
        const pinned = options.pinnedBy ? await options.pinnedBy.activeVersion() : null;
        const answer = ids(
          await index.search({
            vector: probe.queries[q]!,
            k: PROBE_K,
            ...(pinned ? { version: pinned } : {}),
          }),
        );
        let version = 'partial';
        for (const [v, answers] of probe.truth) if (answers[q] === answer) version = v;
        state.reads.push({ start, end: performance.now(), version });
      } catch (error) {
        if (!(error instanceof DependencyError)) throw error;
        state.failures++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const loops = Promise.all(Array.from({ length: readers }, loop));
  state.stop = async () => {
    stopped = true;
    await loops;
  };
  return state;
}

/**
 * Reads that started after a read of `newer` had ended and still saw `older`: the switch went
 * back. (Reads in flight across the switch may end in any order, so arrival order proves nothing.)
 */
export function readsAfterSwitch(reader: AliasReader, older: string, newer: string): number {
  const firstNewerEnd = Math.min(...reader.reads.filter((r) => r.version === newer).map((r) => r.end));
  return reader.reads.filter((r) => r.version === older && r.start > firstNewerEnd).length;
}
