import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/observability/logger.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { BundleBackedIndex } from './bundle-index.ts';

let modelsDir: string;
beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'bundle-index-'));
  for (const [version, seed] of [
    ['v20260101-000000', 1],
    ['v20260102-000000', 2],
    ['v20260103-000000', 3],
  ] as const) {
    await syntheticBundle({ items: 60, users: 20, rank: 8, seed, outDir: modelsDir, version });
  }
});
afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

describe('BundleBackedIndex', () => {
  it('loads a version from its bundle the first time a call names it, and keeps the newest two', async () => {
    const inner = new EmbeddedVectorIndex();
    await inner.start();
    const index = new BundleBackedIndex(inner, { modelsDir, logger: createLogger({ level: 'silent' }) });
    const first = await index.retrieve([0, 1, 59, 60], { withVectors: true, version: 'v20260101-000000' });
    expect(first.map((p) => p.id)).toEqual([0, 1, 59]);
    expect(first[0]!.vector).toHaveLength(8);
    expect(await inner.count('v20260101-000000')).toBe(60);

    // Concurrent first calls share one load.
    await Promise.all([
      index.retrieve([2], { version: 'v20260102-000000' }),
      index.retrieve([3], { version: 'v20260102-000000' }),
    ]);
    await index.retrieve([4], { version: 'v20260103-000000' });
    expect(await inner.listVersions()).toEqual(['v20260102-000000', 'v20260103-000000']);
    // A dropped version comes back when asked for again.
    expect(await index.retrieve([5], { version: 'v20260101-000000' })).toHaveLength(1);
  });

  it('reports a version without a bundle as a retriable dependency error', async () => {
    const index = new BundleBackedIndex(new EmbeddedVectorIndex(), {
      modelsDir,
      logger: createLogger({ level: 'silent' }),
    });
    await expect(index.retrieve([1], { version: 'v20990101-000000' })).rejects.toMatchObject({
      retriable: true,
      message: expect.stringMatching(/MODELS_DIR/),
    });
  });
});
