/**
 * Start-up of the API process, separate from the CLI entry so `npm start` and tests can run it:
 * adapters from the configuration, a model loaded when the stores have none, the app, the HTTP
 * server, and the shutdown sequence that undoes it all in reverse order.
 */
import { join } from 'node:path';
import type { Config } from '../lib/config.ts';
import { describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/observability/logger.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { initTracing } from '../lib/observability/tracing.ts';
import { BundleReader, latestBundle, listBundles } from '../lib/stores/bundle.ts';
import {
  createEventBus,
  createFeatureStore,
  createVectorIndex,
  type FeatureStore,
  type VectorIndex,
} from '../lib/stores/index.ts';
import { publishVersion } from '../lib/stores/publish.ts';
import { RedisFeatureStore } from '../lib/stores/redis/feature-store.ts';
import { createApp } from './app.ts';
import { serveOptionsFromConfig } from './deps.ts';
import { listen } from './server.ts';
import { ShutdownSequence } from './shutdown.ts';

/**
 * Loads a model into the stores when they do not serve one yet, and returns the version serving
 * afterwards:
 * - the feature store points at a version the index lacks (a shared Redis next to this process's
 *   in-process index): only the items of that version's bundle are loaded into the index, so API
 *   processes starting together never rewrite the shared store;
 * - the feature store has no version (in-process stores start empty): the newest bundle in
 *   `modelsDir` is published into both.
 */
export async function ensureModelLoaded(
  featureStore: FeatureStore,
  vectorIndex: VectorIndex,
  modelsDir: string,
  logger: Logger,
): Promise<string | null> {
  const [current, indexVersions] = await Promise.all([
    featureStore.activeVersion(),
    vectorIndex.listVersions(),
  ]);
  if (current !== null && indexVersions.includes(current)) return current;
  if (current !== null) {
    const bundles = await listBundles(modelsDir);
    if (!bundles.includes(current)) {
      logger.warn(
        { version: current, modelsDir },
        'the active version has no bundle in MODELS_DIR to fill the vector index from',
      );
      return current;
    }
    await loadIndexFromBundle(vectorIndex, join(modelsDir, current), logger);
    return current;
  }
  const bundleDir = await latestBundle(modelsDir);
  if (bundleDir === null) {
    logger.warn(
      { modelsDir },
      'no model is published and MODELS_DIR has no bundle; /recommend answers 503 until one is',
    );
    return null;
  }
  const result = await publishVersion({ featureStore, vectorIndex, bundleDir, logger });
  logger.info(
    { version: result.version, items: result.items, users: result.users, ms: result.ms },
    'model loaded',
  );
  return result.version;
}

/** Fills the vector index with one bundle's items and activates that version there. */
async function loadIndexFromBundle(
  vectorIndex: VectorIndex,
  bundleDir: string,
  logger: Logger,
): Promise<void> {
  const started = performance.now();
  const bundle = await BundleReader.open(bundleDir);
  const { version, rank } = bundle.info;
  await vectorIndex.createVersion(version, rank);
  let items = 0;
  for await (const points of bundle.items()) {
    await vectorIndex.upsert(version, points);
    items += points.length;
  }
  await vectorIndex.activateVersion(version);
  logger.info(
    { version, items, ms: Math.round(performance.now() - started) },
    'vector index loaded from the bundle',
  );
}

export async function startApi(config: Config, logger: Logger) {
  const shutdown = new ShutdownSequence(logger);
  const tracing = initTracing({
    enabled: config.tracing.enabled,
    serviceName: config.tracing.serviceName ?? 'recsys-api',
    endpoint: config.tracing.endpoint,
    sampleRatio: config.tracing.sampleRatio,
  });
  shutdown.add('tracing', () => tracing.shutdown());
  try {
    // The API reads users again and again: it keeps what it read, invalidated by Redis.
    const featureStore = createFeatureStore(config, logger, { clientCache: true });
    await featureStore.start();
    shutdown.add('feature store', () => featureStore.close());

    const vectorIndex = createVectorIndex(config, logger);
    await vectorIndex.start();
    shutdown.add('vector index', () => vectorIndex.close());

    const eventBus = createEventBus(config, logger, {
      role: 'api',
      onFatal: (error) => {
        logger.fatal({ err: describeError(error) }, 'event bus failed for good; shutting down');
        void shutdown.run().then(() => process.exit(1));
      },
    });
    await eventBus.start();
    shutdown.add('event bus', () => eventBus.close());
    await eventBus.ensureTopics();

    await ensureModelLoaded(featureStore, vectorIndex, config.paths.models, logger);

    const metrics = createMetrics();
    if (featureStore instanceof RedisFeatureStore) {
      metrics.watchFeatureStoreCache(() => featureStore.clientCacheStats());
    }
    const app = createApp({
      featureStore,
      vectorIndex,
      eventBus,
      metrics,
      logger: logger.child({ component: 'api' }),
      options: serveOptionsFromConfig(config),
    });
    const server = await listen(app, { host: config.api.host, port: config.api.port, logger });
    shutdown.add('http server', () => server.close());
    shutdown.add('dependency watch', app.watchDependencies(config.api.dependencyWatchMs));
    // The stores, bus and metrics go back to the caller too: `npm start` runs the updater and the
    // simulator in this process on the same in-process adapters and registry.
    return { url: server.url, shutdown, featureStore, vectorIndex, eventBus, metrics };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
}
