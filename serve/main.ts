/**
 * `npm run serve`: the API process.
 *
 * Reads the configuration once, starts the adapters it names (feature store, vector index, event
 * bus), makes sure a model is loaded (in-process stores start empty, so the newest bundle in
 * MODELS_DIR is published into them), and serves on HOST:PORT. SIGTERM or SIGINT stops accepting,
 * drains in-flight requests, flushes the event producer and closes the stores, in reverse order
 * of start-up.
 */
import { type Config, loadConfig } from '../lib/config.ts';
import { ConfigError, describeError } from '../lib/errors.ts';
import { createLogger } from '../lib/observability/logger.ts';
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

void main();
