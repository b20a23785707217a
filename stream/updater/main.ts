/**
 * `npm run stream:update`: the online updater as its own process — Kafka consumer group in,
 * Redis feature store out.
 *
 * Start-up: config → logger, tracing, metrics (served on UPDATER_METRICS_PORT) → feature store
 * and vector index (the embedded index loads item vectors from the model bundle of whichever
 * version the feature store names) → Kafka (topics created if missing) → the updater joins the
 * group `KAFKA_CONSUMER_GROUP`. Run several: the group shares the partitions among them.
 *
 * Shutdown on SIGTERM/SIGINT: the updater finishes the batch in hand, commits and leaves the
 * group; then the bus, the stores, the metrics server and tracing close, in that order, each
 * step on its own (a failing step does not stop the next). A second signal exits at once.
 */
import { createServer, type Server } from 'node:http';
import { loadConfig } from '../../lib/config.ts';
import { ConfigError, describeError } from '../../lib/errors.ts';
import { createLogger, type Logger } from '../../lib/observability/logger.ts';
import { createMetrics, type Metrics } from '../../lib/observability/metrics.ts';
import { initTracing } from '../../lib/observability/tracing.ts';
import { createEventBus } from '../../lib/stores/bus-factory.ts';
import { createFeatureStore, createVectorIndex } from '../../lib/stores/index.ts';
import { BundleBackedIndex } from './bundle-index.ts';
import { createUpdater, type UpdaterStats } from './updater.ts';

const PROGRESS_INTERVAL_MS = 10_000;
/** Smallest time budget of one feature store read by the updater (a batch's ids at once). */
const UPDATER_READ_BUDGET_MS = 5000;

function startMetricsServer(metrics: Metrics, port: number, logger: Logger): Promise<Server | null> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch((error) => {
          res.writeHead(500);
          res.end(describeError(error));
        });
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => {
    server.once('error', (error) => {
      // Several updaters on one host: only the first gets the port; the others run without it.
      logger.warn({ port, error: describeError(error) }, 'metrics server not started (UPDATER_METRICS_PORT)');
      resolve(null);
    });
    server.listen(port, () => {
      logger.info({ port }, 'metrics on /metrics');
      resolve(server);
    });
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'updater' });
  if (config.adapters.eventBus !== 'kafka') {
    throw new ConfigError(
      'EVENT_BUS',
      'the standalone updater consumes Kafka: set EVENT_BUS=kafka (npm start runs the updater in-process on the memory bus)',
    );
  }
  if (config.adapters.featureStore !== 'redis') {
    throw new ConfigError(
      'FEATURE_STORE',
      'the standalone updater writes where the API reads: set FEATURE_STORE=redis (npm start runs it in-process on the memory store)',
    );
  }

  const steps: Array<[name: string, close: () => Promise<unknown>]> = [];
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string, code: number) => {
    shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      for (const [name, close] of [...steps].reverse()) {
        try {
          await close();
        } catch (error) {
          logger.error({ step: name, error: describeError(error) }, 'shutdown step failed; going on');
        }
      }
      logger.info('stopped');
      process.exit(code);
    })();
    return shuttingDown;
  };
  process.on('SIGTERM', () => void (shuttingDown ? process.exit(1) : shutdown('SIGTERM', 0)));
  process.on('SIGINT', () => void (shuttingDown ? process.exit(1) : shutdown('SIGINT', 0)));

  try {
    const tracing = initTracing({
      enabled: config.tracing.enabled,
      serviceName: config.tracing.serviceName ?? 'recsys-updater',
      endpoint: config.tracing.endpoint,
      sampleRatio: config.tracing.sampleRatio,
    });
    steps.push(['tracing', () => tracing.shutdown()]);

    const metrics = createMetrics({ defaultLabels: { service: 'updater' } });
    const server = await startMetricsServer(metrics, config.stream.metricsPort, logger);
    if (server) steps.push(['metrics server', () => new Promise((resolve) => server.close(resolve))]);

    // The updater reads a whole batch at once (thousands of ids), not one request's worth: its
    // reads get at least UPDATER_READ_BUDGET_MS rather than the API's request-path budget.
    const featureStore = createFeatureStore(
      {
        ...config,
        api: { ...config.api, storeTimeoutMs: Math.max(config.api.storeTimeoutMs, UPDATER_READ_BUDGET_MS) },
      },
      logger,
    );
    await featureStore.start();
    steps.push(['feature store', () => featureStore.close()]);

    const plainIndex = createVectorIndex(config, logger);
    const vectorIndex =
      plainIndex.kind === 'embedded'
        ? new BundleBackedIndex(plainIndex, { modelsDir: config.paths.models, logger })
        : plainIndex;
    await vectorIndex.start();
    steps.push(['vector index', () => vectorIndex.close()]);

    const bus = createEventBus(config, logger, {
      role: 'updater',
      onFatal: (error) => void shutdown(`Kafka consumer failed for good: ${describeError(error)}`, 1),
    });
    await bus.start();
    steps.push(['event bus', () => bus.close()]);
    await bus.ensureTopics();

    const updater = createUpdater({ featureStore, vectorIndex, bus, config, metrics, logger });
    await updater.start();
    steps.push(['updater', () => updater.stop()]);

    let previous: UpdaterStats = { ...updater.stats };
    const progress = setInterval(() => {
      const now = updater.stats;
      const handled =
        now.applied +
        now.duplicates +
        now.deadLettered -
        previous.applied -
        previous.duplicates -
        previous.deadLettered;
      if (handled > 0 || now.failedBatches > previous.failedBatches) {
        logger.info(
          { ...now, eventsPerSecond: Math.round((handled * 1000) / PROGRESS_INTERVAL_MS) },
          'updater progress',
        );
      }
      previous = { ...now };
    }, PROGRESS_INTERVAL_MS);
    progress.unref();
    steps.push(['progress', async () => clearInterval(progress)]);
  } catch (error) {
    logger.error({ error: describeError(error) }, 'updater failed to start');
    await shutdown('start-up failed', 1);
  }
}

main().catch((error) => {
  console.error(`stream:update failed: ${describeError(error)}`);
  process.exit(1);
});
