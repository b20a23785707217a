/**
 * A Qdrant server restarted in the middle of a publish, at the real catalogue size (105,542
 * items × 64 dims, where Qdrant builds HNSW indexes). The server is the test's own (see
 * test/support/qdrant-server.ts for where its binary comes from), killed with SIGKILL — a
 * crash — while the new version's points are being upserted.
 *
 * Two outcomes, both with the alias on a complete version at every moment: the restart is
 * shorter than the retry window and the publish completes; or it is longer and the publish fails
 * with an error naming Qdrant, serving stays on the previous version, and publishing again works.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killQdrant,
  type OwnQdrant,
  qdrantBinaryOrSkip,
  startQdrant,
} from '../../../test/support/qdrant-server.ts';
import { DependencyError } from '../../errors.ts';
import { syntheticBundle } from '../fixtures.ts';
import { MemoryFeatureStore } from '../memory/feature-store.ts';
import { publishVersion } from '../publish.ts';
import { probeVersions, readsAfterSwitch, readThroughAlias, type VersionProbe } from './testing.ts';
import { QdrantVectorIndex } from './vector-index.ts';

const ITEMS = Number(process.env['QDRANT_TEST_ITEMS'] ?? 105_542);
const RANK = 64;
const V1 = 'v20200101-000000';
const V2 = 'v20200102-000000';
const binary = qdrantBinaryOrSkip('the Qdrant restart tests');

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!binary)('Qdrant restarted in the middle of a publish (own server)', () => {
  let dir: string;
  let server: OwnQdrant;
  let v1Dir: string;
  let v2Dir: string;
  let probe: VersionProbe;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qdrant-restart-'));
    console.log(`qdrant binary from ${binary!.source}: ${binary!.path}`);
    server = await startQdrant(binary!, join(dir, 'qdrant'));
    const models = join(dir, 'models');
    v1Dir = (
      await syntheticBundle({ items: 2000, users: 50, rank: RANK, seed: 1, outDir: models, version: V1 })
    ).dir;
    v2Dir = (
      await syntheticBundle({ items: ITEMS, users: 50, rank: RANK, seed: 2, outDir: models, version: V2 })
    ).dir;
    probe = await probeVersions(
      [
        { version: V1, dir: v1Dir },
        { version: V2, dir: v2Dir },
      ],
      RANK,
    );
  });

  afterAll(async () => {
    if (server) await killQdrant(server);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function openIndex(collection: string, options: { bulkRetryMs?: number } = {}): QdrantVectorIndex {
    return new QdrantVectorIndex({
      url: server.url,
      collection,
      readTimeoutMs: 5000,
      exactSearch: true,
      ...options,
    });
  }

  /**
   * Publishes v1, then v2 with Qdrant killed once 30 % of v2's points are in, and restarted
   * after `downMs` (or, with `downMs` null, only after the publish has given up). Reads through
   * the alias run all along; each answer that arrives must be one complete version's.
   */
  async function publishThroughRestart(collection: string, downMs: number | null, bulkRetryMs: number) {
    const featureStore = new MemoryFeatureStore();
    const setup = openIndex(collection);
    await setup.start();
    await publishVersion({ featureStore, vectorIndex: setup, bundleDir: v1Dir });
    const reader = readThroughAlias(openIndex(collection), probe);

    const index = openIndex(collection, { bulkRetryMs });
    let killedAt = 0;
    let restart: Promise<void> = Promise.resolve();
    const outcome = await publishVersion({
      featureStore,
      vectorIndex: index,
      bundleDir: v2Dir,
      onProgress: (p) => {
        if (p.step !== 'items' || killedAt > 0 || p.done < p.total * 0.3) return;
        killedAt = p.done;
        restart = (async () => {
          await killQdrant(server);
          if (downMs === null) return;
          await pause(downMs);
          server = await startQdrant(binary!, server.dir, server);
        })();
      },
    }).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    await restart;
    if (downMs === null) server = await startQdrant(binary!, server.dir, server);
    // Reads go on after the restart, then stop.
    await pause(1000);
    await reader.stop();
    return { outcome, reader, seen: reader.seen, failures: reader.failures, killedAt, index, featureStore };
  }

  it('a restart shorter than the retry window: the publish completes, readers only ever see complete versions', async () => {
    const { outcome, reader, seen, failures, killedAt, index, featureStore } = await publishThroughRestart(
      'restart_short',
      2000,
      60_000,
    );
    console.log(
      `killed after ${killedAt} of ${ITEMS} points; ${seen.length} reads answered, ${failures} failed`,
    );
    expect(killedAt).toBeGreaterThan(0);
    expect(outcome.error).toBeUndefined();
    expect(outcome.result?.items).toBe(ITEMS);
    expect(await index.activeVersion()).toBe(V2);
    expect(await featureStore.activeVersion()).toBe(V2);
    expect(await index.count(V2)).toBe(ITEMS);
    expect(failures).toBeGreaterThan(0);
    expect(seen).not.toContain('partial');
    expect(seen[0]).toBe(V1);
    expect(seen.at(-1)).toBe(V2);
    // Once the alias moved on, it never went back.
    expect(readsAfterSwitch(reader, V1, V2)).toBe(0);
  });

  it('a restart longer than the retry window: the publish fails naming Qdrant, serving stays on the previous version, publishing again works', async () => {
    const { outcome, seen, index, featureStore } = await publishThroughRestart('restart_long', null, 1500);
    expect(outcome.error).toBeInstanceOf(DependencyError);
    expect(String((outcome.error as Error).message)).toMatch(/^qdrant: /);
    expect(await index.activeVersion()).toBe(V1);
    expect(await featureStore.activeVersion()).toBe(V1);
    expect(await index.count(V1)).toBe(2000);
    expect(seen).not.toContain('partial');
    expect(seen).not.toContain(V2);
    expect(seen.length).toBeGreaterThan(0);

    // The same bundle again, Qdrant up: complete, and served.
    const again = await publishVersion({ featureStore, vectorIndex: index, bundleDir: v2Dir });
    expect(again.items).toBe(ITEMS);
    expect(await index.activeVersion()).toBe(V2);
    expect(await index.count(V2)).toBe(ITEMS);
  });
});
