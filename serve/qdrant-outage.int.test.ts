/**
 * Qdrant going down under load, and coming back, at the real catalogue size (105,542 items ×
 * 64 dims): a Qdrant server of the test's own (test/support/qdrant-server.ts says where its
 * binary comes from; skipped without one), the API over HTTP with the memory feature store and
 * the Qdrant index, and a bounded load on `/recommend` and `/items/{item_idx}/similar` while
 * Qdrant is killed (SIGKILL, a crash) and started again on the same storage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { publishVersion } from '../lib/stores/publish.ts';
import { QdrantVectorIndex } from '../lib/stores/qdrant/vector-index.ts';
import { serveOn, startLoad, untilPersonalized } from '../test/support/outage-load.ts';
import {
  killQdrant,
  type OwnQdrant,
  qdrantBinaryOrSkip,
  startQdrant,
} from '../test/support/qdrant-server.ts';
import type { HttpServerHandle } from './server.ts';

const ITEMS = Number(process.env['QDRANT_TEST_ITEMS'] ?? 105_542);
const USERS = 500;
const binary = qdrantBinaryOrSkip('the Qdrant outage test');

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!binary)('Qdrant down under load (own server, full catalogue)', () => {
  let dir: string;
  let qdrant: OwnQdrant;
  let server: HttpServerHandle;
  let index: QdrantVectorIndex;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qdrant-outage-'));
    qdrant = await startQdrant(binary!, join(dir, 'qdrant'));
    const bundle = await syntheticBundle({
      items: ITEMS,
      users: USERS,
      rank: 64,
      seed: 9,
      outDir: join(dir, 'models'),
    });
    const featureStore = new MemoryFeatureStore();
    index = new QdrantVectorIndex({ url: qdrant.url, collection: 'outage' });
    await featureStore.start();
    await index.start();
    await publishVersion({ featureStore, vectorIndex: index, bundleDir: bundle.dir });
    server = await serveOn(featureStore, index);
  });

  afterAll(async () => {
    await server?.close();
    await index?.close();
    if (qdrant) await killQdrant(qdrant);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers flagged trending lists while Qdrant is down, no 5xx, full service within 2 s of its return', async () => {
    const load = startLoad(server.url, USERS, (i) =>
      i % 10 === 0 ? `/items/${i}/similar?k=10` : `/recommend/${i}?k=10`,
    );
    const { answers } = load;
    try {
      await pause(1000);
      const downAt = performance.now();
      await killQdrant(qdrant);
      await pause(2000);
      const upAt = performance.now();
      qdrant = await startQdrant(binary!, qdrant.dir, qdrant);
      const readyAt = performance.now();
      const back = await untilPersonalized(server.url, '/recommend/1?k=10', 10_000);
      await pause(500);
      await load.stop();

      const recommend = answers.filter((a) => a.path.startsWith('/recommend'));
      const similar = answers.filter((a) => a.path.startsWith('/items'));
      const outage = recommend.filter((a) => a.at > downAt + 50 && a.at < upAt);
      console.log(
        `Qdrant outage at ${ITEMS} items: ${answers.length} answers, ${outage.length} while down; ` +
          `restarted and ready in ${((readyAt - upAt) / 1000).toFixed(1)} s, personalized again ` +
          `${Math.round(back - readyAt)} ms after ready`,
      );
      expect(back - readyAt).toBeLessThanOrEqual(2000);
      // No 5xx from /recommend at any time; similar items may be 503 (and only 503) while down.
      expect(recommend.filter((a) => a.status !== 200)).toEqual([]);
      expect(similar.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
      expect(outage.length).toBeGreaterThan(20);
      for (const a of outage) {
        expect(a.source).toBe('trending');
        expect(['vector_index_error', 'vector_index_timeout']).toContain(a.fallback_reason);
      }
      expect(recommend.filter((a) => a.at < downAt && a.source === 'personalized').length).toBeGreaterThan(0);
      expect(recommend.filter((a) => a.at > back && a.source === 'personalized').length).toBeGreaterThan(0);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });
});
