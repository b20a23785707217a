/**
 * The running system in one process: the API, the online updater and the event simulator on
 * shared stores, event bus and metrics registry (in-process adapters by default). Used by
 * `npm start` and by the end-to-end and browser tests.
 */
import { resolve } from 'node:path';
import { repoRoot } from '../infra/local/paths.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/observability/logger.ts';
import { BundleReader, latestBundle } from '../lib/stores/bundle.ts';
import type { UserProfileSeed } from '../lib/stores/feature-store.ts';
import { startApi } from '../serve/bootstrap.ts';
import type { ShutdownSequence } from '../serve/shutdown.ts';
import { startEmbeddedStream } from '../stream/embedded.ts';
import { loadCatalogFrom } from '../stream/producer/catalog.ts';

export interface SystemOptions {
  /** Simulated events per second; 0 runs no simulator. */
  rate: number;
}

export interface RunningSystem {
  url: string;
  /** A user with a purchase history, for examples. */
  exampleUser: number;
  shutdown: ShutdownSequence;
}

/** A user with a purchase history makes the better first example than user 0, often a cold one. */
export async function pickExampleUser(modelsDir: string): Promise<number> {
  const dir = await latestBundle(modelsDir);
  if (!dir) return 0;
  const bundle = await BundleReader.open(dir);
  for await (const seeds of bundle.profiles()) {
    const best = seeds.reduce<UserProfileSeed | undefined>(
      (top, s) => (s.counters.total_purchases > (top?.counters.total_purchases ?? 0) ? s : top),
      undefined,
    );
    if (best) return best.userIdx;
  }
  return 0;
}

export async function startSystem(
  config: Config,
  logger: Logger,
  options: SystemOptions,
): Promise<RunningSystem> {
  const api = await startApi(config, logger);
  const { shutdown, featureStore, vectorIndex, eventBus, metrics } = api;
  try {
    const modelsDir = resolve(repoRoot, config.paths.models);
    const catalog = options.rate > 0 ? await loadCatalogFrom(modelsDir) : undefined;
    const stream = await startEmbeddedStream({
      featureStore,
      vectorIndex,
      bus: eventBus,
      config,
      metrics,
      logger,
      simulator: catalog ? { catalog, rate: options.rate } : undefined,
    });
    shutdown.add('updater and simulator', () => stream.stop());
    return { url: api.url, exampleUser: await pickExampleUser(modelsDir), shutdown };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
}
