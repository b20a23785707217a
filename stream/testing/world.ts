/**
 * A stream world for integration tests and benchmarks: a synthetic model bundle in a temporary
 * models directory, published into a real Redis feature store (under a key prefix of its own)
 * and an embedded vector index, unique Kafka topics and group ids, and helpers to run the
 * updater in-process or as a child process (`stream/updater/main.ts`, the real entry point).
 * `dispose()` removes the topics, the Redis keys and the directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { type Config, loadConfig } from '../../lib/config.ts';
import type { UserEvent } from '../../lib/events.ts';
import { createLogger, type Logger } from '../../lib/observability/logger.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { sleep } from '../../lib/retry.ts';
import { EmbeddedVectorIndex } from '../../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { KafkaEventBus } from '../../lib/stores/kafka/event-bus.ts';
import { publishVersion } from '../../lib/stores/publish.ts';
import { RedisFeatureStore } from '../../lib/stores/redis/feature-store.ts';
import { type LoadedCatalog, loadCatalog } from '../producer/catalog.ts';
import { createUpdater, type Updater, type UpdaterDeps } from '../updater/updater.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StreamWorldOptions {
  items?: number;
  users?: number;
  rank?: number;
  seed?: number;
  partitions?: number;
  /** Extra environment for the config (and the child processes). */
  env?: Record<string, string>;
  /** Entries of the API's client cache of Redis reads in the world's feature store (0: off, the default). */
  clientCacheEntries?: number;
  logger?: Logger;
}

/** What identifies an applied event: its id and the user it names. */
export type AppliedProbe = Pick<UserEvent, 'event_id' | 'user_idx'>;

export interface UpdaterProcess {
  child: ChildProcess;
  /** Every output line so far (JSON log lines). */
  lines: string[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Resolves when the updater logged that it started. */
  started: Promise<void>;
}

export async function createStreamWorld(options: StreamWorldOptions = {}) {
  const id = randomUUID().slice(0, 8);
  const modelsDir = await mkdtemp(join(tmpdir(), `stream-world-${id}-`));
  const version = 'v20260301-000000';
  const { dir: bundleDir } = await syntheticBundle({
    items: options.items ?? 300,
    users: options.users ?? 200,
    rank: options.rank ?? 16,
    seed: options.seed ?? 11,
    outDir: modelsDir,
    version,
  });
  const env: Record<string, string> = {
    EVENT_BUS: 'kafka',
    FEATURE_STORE: 'redis',
    VECTOR_INDEX: 'embedded',
    MODELS_DIR: modelsDir,
    REDIS_KEY_PREFIX: `test-stream-${id}:`,
    KAFKA_TOPIC_EVENTS: `test-events-${id}`,
    KAFKA_TOPIC_DLQ: `test-dlq-${id}`,
    KAFKA_CONSUMER_GROUP: `test-updater-${id}`,
    KAFKA_PARTITIONS: String(options.partitions ?? 3),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    UPDATER_DEBOUNCE_MS: '10',
    ...options.env,
  };
  const config: Config = loadConfig({ ...process.env, ...env });
  const logger = options.logger ?? createLogger({ level: 'silent' });

  // Generous budgets: the checks read thousands of ids at once, on a machine that may be busy.
  const featureStore = new RedisFeatureStore({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    readTimeoutMs: 10_000,
    writeTimeoutMs: 10_000,
    clientCacheEntries: options.clientCacheEntries ?? 0,
    logger,
  });
  await featureStore.start();
  const vectorIndex = new EmbeddedVectorIndex();
  await vectorIndex.start();
  await publishVersion({ featureStore, vectorIndex, bundleDir });
  const catalog: LoadedCatalog = await loadCatalog(bundleDir);

  const kafka = new Kafka({
    brokers: config.kafka.brokers,
    clientId: `test-${id}`,
    logLevel: logLevel.NOTHING,
  });
  const admin: Admin = kafka.admin();
  // Idempotent, so a retried send cannot put a raw message into the topic twice.
  const rawProducer: Producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  await admin.connect();
  await rawProducer.connect();
  // The topics exist before anything is published (auto-creation would use the broker's
  // partition count, not the world's).
  await admin.createTopics({
    waitForLeaders: true,
    topics: [config.kafka.topics.events, config.kafka.topics.deadLetter].map((topic) => ({
      topic,
      numPartitions: config.kafka.partitions,
      replicationFactor: 1,
    })),
  });
  const buses: KafkaEventBus[] = [];
  const children: UpdaterProcess[] = [];

  const world = {
    id,
    config,
    env,
    version,
    modelsDir,
    bundleDir,
    catalog,
    featureStore,
    vectorIndex,
    kafka,
    admin,
    logger,

    /** A started Kafka bus on the world's topics (closed by dispose). */
    async bus(role = 'test'): Promise<KafkaEventBus> {
      const bus = new KafkaEventBus({
        config: config.kafka,
        logger,
        role,
        retry: { initialDelayMs: 50, maxDelayMs: 1000 },
      });
      buses.push(bus);
      await bus.start();
      await bus.ensureTopics();
      return bus;
    },

    /**
     * An in-process updater (not started) on the world's stores, config and logger, with its own
     * metrics registry and a bus of role `updater`; `deps` replaces any of them.
     */
    async updater(deps: Partial<UpdaterDeps> = {}): Promise<Updater> {
      return createUpdater({
        featureStore,
        vectorIndex,
        config,
        logger,
        metrics: deps.metrics ?? createMetrics({ defaultMetrics: false }),
        ...deps,
        bus: deps.bus ?? (await world.bus('updater')),
      });
    },

    /** Writes raw bytes to a topic, bypassing the schema. */
    async publishRaw(
      messages: Array<{ key: string | null; value: string; headers?: Record<string, string> }>,
    ) {
      await rawProducer.send({ topic: config.kafka.topics.events, messages });
    },

    /** Starts `npm run stream:update` as a child process with the world's environment. */
    spawnUpdater(extraEnv: Record<string, string> = {}): UpdaterProcess {
      const child = spawn(process.execPath, ['--import', 'tsx', 'stream/updater/main.ts'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...env,
          LOG_LEVEL: 'info',
          UPDATER_METRICS_PORT: String(20000 + Math.floor(Math.random() * 20000)),
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      let resolveStarted: () => void = () => {};
      const started = new Promise<void>((resolve) => {
        resolveStarted = resolve;
      });
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          lines.push(line);
          if (line.includes('"updater started"')) resolveStarted();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      const exited = new Promise<number | string>((resolve) => {
        child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      });
      const handle = { child, lines, exited, started };
      children.push(handle);
      return handle;
    },

    /** How many of these events the store has applied (to the user each names). */
    async appliedCount(events: ReadonlyArray<AppliedProbe>): Promise<number> {
      let count = 0;
      for (let i = 0; i < events.length; i += 1000) {
        const chunk = events.slice(i, i + 1000).map((e) => ({ eventId: e.event_id, userIdx: e.user_idx }));
        count += (await featureStore.appliedUserEvents(chunk)).size;
      }
      return count;
    },

    async waitApplied(events: ReadonlyArray<AppliedProbe>, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const n = await world.appliedCount(events);
        if (n === events.length) return;
        if (Date.now() > deadline)
          throw new Error(`only ${n} of ${events.length} events applied after ${timeoutMs} ms`);
        await sleep(100);
      }
    },

    /** Reads `count` messages of a topic from the beginning with a throwaway group. */
    async readTopic(topic: string, count: number, timeoutMs = 30_000) {
      const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
      const got: Array<{
        key: string | null;
        value: string;
        headers: Record<string, string>;
        partition: number;
      }> = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {}))
            if (v !== undefined) headers[k] = String(v);
          got.push({
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? '',
            headers,
            partition,
          });
        },
      });
      const deadline = Date.now() + timeoutMs;
      while (got.length < count && Date.now() < deadline) await sleep(50);
      await sleep(200);
      await consumer.disconnect();
      return got;
    },

    /** Total messages written to a topic (sum of high watermarks). */
    async topicSize(topic: string): Promise<number> {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    },

    async dispose(): Promise<void> {
      for (const c of children)
        if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await Promise.allSettled(children.map((c) => c.exited));
      await Promise.allSettled(buses.map((b) => b.close()));
      await admin
        .deleteTopics({ topics: [config.kafka.topics.events, config.kafka.topics.deadLetter] })
        .catch(() => {});
      await rawProducer.disconnect();
      await admin.disconnect();
      await featureStore.close();
      await deleteKeys(config.redis.url, config.redis.keyPrefix);
      await rm(modelsDir, { recursive: true, force: true });
    },
  };
  return world;
}

export type StreamWorld = Awaited<ReturnType<typeof createStreamWorld>>;

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Groups events by user, keeping their order. */
export function eventsByUser(events: readonly UserEvent[]): Map<number, UserEvent[]> {
  const out = new Map<number, UserEvent[]>();
  for (const e of events) {
    const list = out.get(e.user_idx);
    if (list) list.push(e);
    else out.set(e.user_idx, [e]);
  }
  return out;
}
