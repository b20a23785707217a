/**
 * `npm run serve`: the API process.
 *
 * Reads the configuration once, starts the adapters it names (feature store, vector index, event
 * bus), makes sure a model is loaded (in-process stores start empty, so the newest bundle in
 * MODELS_DIR is published into them), and serves on HOST:PORT. SIGTERM or SIGINT stops accepting,
 * drains in-flight requests, flushes the event producer and closes the stores, in reverse order
 * of start-up.
 *
 * With API_WORKERS > 1 this process is a node:cluster primary that forks that many API workers
 * sharing the port, replaces a worker that dies, and on SIGTERM/SIGINT stops them all gracefully.
 */
import cluster from 'node:cluster';
import { type Config, loadConfig } from '../lib/config.ts';
import { ConfigError, describeError } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/observability/logger.ts';
import { startApi } from './bootstrap.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(
      error instanceof ConfigError ? `configuration error: ${error.message}` : describeError(error),
    );
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, name: 'api' });
  if (config.api.workers > 1 && cluster.isPrimary) {
    const inProcess = [
      config.adapters.featureStore === 'memory' ? 'FEATURE_STORE=memory' : undefined,
      config.adapters.eventBus === 'memory' ? 'EVENT_BUS=memory' : undefined,
    ].filter((x) => x !== undefined);
    if (inProcess.length > 0) {
      logger.warn(
        { workers: config.api.workers, adapters: inProcess },
        'each API worker gets its own copy of the in-process adapters: events accepted by one worker ' +
          'never reach the others; use FEATURE_STORE=redis and EVENT_BUS=kafka with several workers',
      );
    }
    runPrimary(config.api.workers, logger);
    return;
  }
  let api: Awaited<ReturnType<typeof startApi>>;
  try {
    api = await startApi(config, logger);
  } catch (error) {
    logger.fatal({ err: describeError(error) }, 'API failed to start');
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void api.shutdown.run().then((ok) => process.exit(ok ? 0 : 1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Minimum time between two replacements of a dead worker. */
const RESPAWN_DELAY_MS = 1000;

function runPrimary(workers: number, logger: Logger): void {
  let stopping = false;
  let failed = false;
  logger.info({ workers }, 'starting API workers');
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'API worker died; starting a new one');
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, RESPAWN_DELAY_MS);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping API workers');
    const alive = Object.values(cluster.workers ?? {});
    if (alive.length === 0) process.exit(0);
    for (const worker of alive) worker?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
