/**
 * Kafka going down under `POST /events/purchase` load, and coming back: a Kafka broker of the
 * test's own (the launcher's, in a run directory of its own, so the shared one is untouched), the
 * API over HTTP, and the online updater, both on that broker. Clients send purchases with an
 * `Idempotency-Key` each and send a key again after every 503 until it is accepted, as the API
 * docs ask. The broker is stopped for a while and started again.
 *
 * What must hold: once the bus is known down, a 503 comes at once (not after the publish budget),
 * with `Retry-After`; after recovery the updater has applied exactly one event per key — none
 * lost, none doubled, although some 503-answered publishes may have reached Kafka later.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { KafkaEventBus } from '../../lib/stores/kafka/event-bus.ts';
import { MemoryFeatureStore } from '../../lib/stores/memory/feature-store.ts';
import { publishVersion } from '../../lib/stores/publish.ts';
import { createApp } from '../../serve/app.ts';
import { type HttpServerHandle, listen } from '../../serve/server.ts';
import { createUpdater, type Updater } from '../../stream/updater/updater.ts';
import { runNpm } from '../support/commands.ts';
import { freePort } from '../support/net.ts';

const USERS = 100;
const ITEMS = 500;
const CLIENTS = 4;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  key: string;
  status: number;
  ms: number;
  detail?: string;
  retryAfter: string | null;
}

describe('Kafka down under event load (own broker)', () => {
  let dir: string;
  let env: Record<string, string>;
  let server: HttpServerHandle;
  let stopWatch: () => Promise<void>;
  let updater: Updater;
  let apiBus: KafkaEventBus;
  let updaterBus: KafkaEventBus;

  const broker = async (command: 'up' | 'down') => {
    const result = await runNpm(`infra:${command}`, ['kafka'], env);
    if (result.code !== 0) throw new Error(`infra:${command} kafka failed:\n${result.output}`);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kafka-outage-'));
    const port = await freePort();
    env = { INFRA_RUN_DIR: join(dir, 'run'), KAFKA_BROKERS: `127.0.0.1:${port}`, KAFKA_PARTITIONS: '2' };
    await broker('up');
    const config = loadConfig({ ...process.env, ...env });
    const logger = createLogger({ level: 'silent' });

    const bundle = await syntheticBundle({
      items: ITEMS,
      users: USERS,
      rank: 8,
      seed: 3,
      outDir: join(dir, 'models'),
    });
    const featureStore = new MemoryFeatureStore();
    const vectorIndex = new EmbeddedVectorIndex();
    await publishVersion({ featureStore, vectorIndex, bundleDir: bundle.dir });

    apiBus = new KafkaEventBus({ config: config.kafka, logger, role: 'api' });
    await apiBus.start();
    await apiBus.ensureTopics();
    const app = createApp({
      featureStore,
      vectorIndex,
      eventBus: apiBus,
      metrics: createMetrics(),
      logger,
      options: { publishTimeoutMs: 5000 },
    });
    stopWatch = app.watchDependencies(config.api.dependencyWatchMs);
    server = await listen(app, { host: '127.0.0.1', port: 0 });

    updaterBus = new KafkaEventBus({ config: config.kafka, logger, role: 'updater' });
    await updaterBus.start();
    updater = createUpdater({
      featureStore,
      vectorIndex,
      bus: updaterBus,
      config,
      metrics: createMetrics(),
      logger,
    });
    await updater.start();
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await stopWatch?.();
    await updater?.stop().catch(() => undefined);
    await apiBus?.close();
    await updaterBus?.close();
    if (env) await broker('down').catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('answers 503 at once while the bus is known down, and applies each key once after recovery', async () => {
    const accepted = new Set<string>();
    const answers: Answer[] = [];
    let stop = false;
    const client = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const key = `client-${c}-purchase-${n}`;
        const body = JSON.stringify({ user_idx: (c * 31 + n) % USERS, item_idx: (c * 17 + n * 7) % ITEMS });
        // Sent again after each 503 until accepted, even past the end of the load.
        for (;;) {
          const started = performance.now();
          const res = await fetch(`${server.url}/events/purchase`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json', 'idempotency-key': key },
          });
          const answer = (await res.json()) as { detail?: string };
          answers.push({
            key,
            status: res.status,
            ms: performance.now() - started,
            detail: answer.detail,
            retryAfter: res.headers.get('retry-after'),
          });
          if (res.status === 202) {
            accepted.add(key);
            break;
          }
          expect(res.status).toBe(503);
          await pause(50);
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    try {
      await pause(1000);
      await broker('down');
      await pause(3000);
      await broker('up');
      await pause(2000);
    } finally {
      stop = true;
      await load;
    }

    const refused = answers.filter((a) => a.status === 503 && a.detail === 'event bus: unavailable');
    const timedOut = answers.filter((a) => a.status === 503 && a.detail !== 'event bus: unavailable');
    const sorted = refused.map((a) => a.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN;
    console.log(
      `[kafka outage] ${answers.length} answers: ${accepted.size} keys accepted, ${refused.length} refused at once ` +
        `(p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms), ` +
        `${timedOut.length} other 503s`,
    );
    expect(refused.length).toBeGreaterThan(10);
    for (const a of refused) expect(a.retryAfter).toBe('1');
    // Refused from the open circuit, not after the 5 s publish budget (generous bound for a busy host).
    expect(sorted.at(-1)!).toBeLessThan(500);

    // Exactly one applied event per accepted key, whatever reached Kafka twice.
    const deadline = Date.now() + 60_000;
    while (updater.stats.applied < accepted.size && Date.now() < deadline) await pause(200);
    await pause(1000); // anything doubled would land by now
    console.log(
      `[kafka outage] applied ${updater.stats.applied}, duplicates skipped ${updater.stats.duplicates}`,
    );
    expect(updater.stats.applied).toBe(accepted.size);
    expect(updater.stats.deadLettered).toBe(0);
  }, 240_000);
});
