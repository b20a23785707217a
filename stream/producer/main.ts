/**
 * `npm run stream:produce -- --rate <events/s> --duration <s>`: the event simulator.
 *
 * Publishes simulated shopper events (see simulator.ts) to the Kafka topic `user-events` through
 * the idempotent producer, drawing users and items from the newest trained model bundle (or
 * `--version`), or from synthetic ids with `--users`/`--items` when no model exists. Prints one
 * progress line a second; `--duration 0` runs until Ctrl-C. Always publishes to Kafka: a
 * separate process cannot reach the in-process bus of `npm start` (which runs its own simulator).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config.ts';
import { describeError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { createEventBus } from '../../lib/stores/bus-factory.ts';
import { type LoadedCatalog, loadCatalogFrom, syntheticCatalog } from './catalog.ts';
import { type ProducerProgress, runProducer } from './run.ts';
import { type Catalog, createEventSimulator } from './simulator.ts';

const USAGE = `usage: npm run stream:produce -- [--rate <events/s>] [--duration <s>] [--version <model>]
                                   [--users <n> --items <n>] [--seed <n>] [--source <name>]
  --rate      events per second (default 100)
  --duration  seconds to run; 0 = until Ctrl-C (default 60)
  --version   model bundle under MODELS_DIR to draw ids from (default: the newest)
  --users, --items   draw from synthetic ids 0..n-1 instead of a model bundle
  --seed      simulator seed (default 42)
  --source    value of the events' "source" field (default simulator)`;

function positive(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    console.error(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}\n${USAGE}`,
    );
    process.exit(2);
  }
  return n;
}

function line(p: ProducerProgress): string {
  const t = `${p.elapsedS.toFixed(1)}s`.padStart(7);
  const types = `click ${p.byType.click} · add_to_cart ${p.byType.add_to_cart} · purchase ${p.byType.purchase}`;
  return `[${t}] sent ${p.sent} (${Math.round(p.ratePerS)}/s)  ${types}${p.failed ? `  failed ${p.failed}` : ''}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      version: { type: 'string' },
      users: { type: 'string' },
      items: { type: 'string' },
      seed: { type: 'string' },
      source: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rate = positive('rate', values.rate, 100);
  const durationS = positive('duration', values.duration, 60, true);
  const seed = positive('seed', values.seed, 42, true);

  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'producer' });

  let catalog: Catalog | LoadedCatalog;
  if (values.users !== undefined || values.items !== undefined) {
    catalog = syntheticCatalog(positive('users', values.users, 1000), positive('items', values.items, 1000));
    console.log(`drawing from synthetic ids: ${catalog.users.length} users, ${catalog.items.length} items`);
  } else {
    const loaded = await loadCatalogFrom(config.paths.models, values.version);
    catalog = loaded;
    console.log(
      `drawing from model ${loaded.version}: ${loaded.users.length} users, ${loaded.items.length} items`,
    );
  }

  const bus = createEventBus({ ...config, adapters: { ...config.adapters, eventBus: 'kafka' } }, logger, {
    role: 'producer',
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let lastError = '';
  try {
    await bus.start();
    await bus.ensureTopics();
    console.log(
      `publishing ${rate} events/s to ${config.kafka.topics.events} on ${config.kafka.brokers.join(',')}` +
        (durationS > 0 ? ` for ${durationS}s` : ' until Ctrl-C'),
    );
    const result = await runProducer({
      bus,
      simulator: createEventSimulator(catalog, { seed, source: values.source ?? 'simulator' }),
      rate,
      durationMs: durationS > 0 ? durationS * 1000 : undefined,
      signal: controller.signal,
      onProgress: (p) => console.log(line(p)),
      onError: (error) => {
        const text = describeError(error);
        if (text !== lastError) logger.error({ error: text }, 'publish failed; going on');
        lastError = text;
      },
    });
    console.log(`done: ${line(result)}`);
    process.exitCode = result.failed > 0 ? 1 : 0;
  } finally {
    await bus.close();
  }
}

main().catch((error) => {
  console.error(`stream:produce failed: ${describeError(error)}`);
  process.exit(1);
});
