/**
 * The life of a new customer, end to end on real Redis, Kafka and Spark Connect: a batch model is
 * served; a `customer_id` the model has never seen buys two articles through the API (202s, one
 * number for both); the updater (its own process) starts the customer's history and vector, so
 * the profile shows both purchases and `/recommend/customer/{id}` turns personalized; the archiver
 * writes the events to the lake with both ids; the next `npm run batch` keeps the customer's
 * number and trains a vector for it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeTables } from '../../batch/lake.ts';
import { loadConfig } from '../../lib/config.ts';
import { generate } from '../../lib/hm/generate.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { sleep } from '../../lib/retry.ts';
import { SparkSession } from '../../lib/spark-connect/index.ts';
import { createFeatureStore, type FeatureStore } from '../../lib/stores/index.ts';
import { startApi } from '../../serve/bootstrap.ts';
import { deleteRedisKeys, runNpm, startCommand } from '../support/commands.ts';
import { freePort } from '../support/net.ts';

const root = mkdtempSync(join(tmpdir(), 'new-customer-e2e-'));
const id = `${process.pid}-${Date.now()}`;
const prefix = `new-customer-e2e-${id}:`;
const env: Record<string, string> = {
  RAW_DIR: join(root, 'raw'),
  LAKE_ROOT: join(root, 'lake'),
  MODELS_DIR: join(root, 'models'),
  STAGING_DIR: join(root, 'staging'),
  CHECKPOINT_DIR: join(root, 'checkpoints'),
  FEATURE_STORE: 'redis',
  VECTOR_INDEX: 'embedded',
  EVENT_BUS: 'kafka',
  REDIS_KEY_PREFIX: prefix,
  KAFKA_TOPIC_EVENTS: `new-customer-e2e-${id}`,
  KAFKA_TOPIC_DLQ: `new-customer-e2e-${id}-dlq`,
  KAFKA_CONSUMER_GROUP: `new-customer-e2e-${id}`,
  KAFKA_PARTITIONS: '1',
  ALS_RANK: '8',
  ALS_MAX_ITER: '3',
  // The API dates events now, years after the generated transactions: no decay, so the old
  // purchases still teach the next model.
  DECAY_HALF_LIFE_DAYS: '0',
  LOG_LEVEL: 'warn',
};

const runCommand = (script: string, args: string[]) => runNpm(script, args, env);

describe('a never-seen customer, from the first event to the next batch', () => {
  let spark: SparkSession;
  let store: FeatureStore;
  let updater: ChildProcess | undefined;
  let updaterOutput = () => '';
  const config = () => loadConfig({ ...process.env, ...env });
  const lake = lakeTables(env['LAKE_ROOT']!);

  beforeAll(async () => {
    env['PORT'] = String(await freePort());
    env['HOST'] = '127.0.0.1';
    env['UPDATER_METRICS_PORT'] = String(await freePort());
    await generate({ scale: 'tiny', out: env['RAW_DIR']! });
    const first = await runCommand('batch', []);
    expect(first.code, first.output).toBe(0);
    spark = new SparkSession({ remote: config().spark.remote });
    store = createFeatureStore(config(), createLogger({ level: 'warn' }));
    await store.start();
  });

  afterAll(async () => {
    updater?.kill('SIGKILL');
    await store?.close();
    await spark?.stop();
    await deleteRedisKeys(config().redis.url, prefix);
    rmSync(root, { recursive: true, force: true });
  });

  it('is numbered at the first event, served personalized from the stream, and kept by the batch', async () => {
    const firstVersion = (await store.activeVersion())!;
    expect(firstVersion).toBeTruthy();
    const knownUsers = await spark.read.format('delta').load(lake.silver.userIds).count();
    const customer = 'c0ffee'.padEnd(64, '7');
    expect(await store.userIdxOf(customer)).toBeNull();
    const articles = readFileSync(join(env['RAW_DIR']!, 'articles.csv'), 'utf8')
      .split('\n')
      .slice(1, 3)
      .map((line) => line.slice(0, 10));

    let numbered = -1;
    const api = await startApi(config(), createLogger({ level: 'warn' }));
    try {
      const started = startCommand(process.execPath, ['--import', 'tsx', 'stream/updater/main.ts'], env);
      updater = started.child;
      updaterOutput = started.output;

      const before = await fetch(`${api.url}/recommend/customer/${customer}`);
      expect(before.status).toBe(200);
      expect(((await before.json()) as { source: string }).source).toBe('trending');

      const buy = async (articleId: string) => {
        const res = await fetch(`${api.url}/events/purchase`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customer_id: customer, article_id: articleId }),
        });
        expect(res.status, await res.clone().text()).toBe(202);
        return (await res.json()) as { user_idx: number; event_id: string };
      };
      const one = await buy(articles[0]!);
      const two = await buy(articles[1]!);
      // Numbered after every customer the batch knew, once for both events.
      expect(one.user_idx).toBe(knownUsers);
      expect(two.user_idx).toBe(one.user_idx);
      expect(await store.userIdxOf(customer)).toBe(one.user_idx);
      numbered = one.user_idx;

      // The updater joins the group, then applies both purchases: history, counters, vector.
      const profile = async () => {
        const res = await fetch(`${api.url}/users/customer/${customer}/profile`);
        return res.status === 200 ? ((await res.json()) as { total_purchases: number }) : undefined;
      };
      const deadline = Date.now() + 90_000;
      while ((await profile())?.total_purchases !== 2) {
        expect(Date.now() < deadline, `the updater did not apply both purchases:\n${updaterOutput()}`).toBe(
          true,
        );
        await sleep(100);
      }
      // The model's items around the new vector (the served plan may fill with trending instead,
      // when this tiny shop's hold-out found that better; the stream path is what is tested).
      const res = await fetch(`${api.url}/recommend/customer/${customer}?k=12&repurchase_fill=model`);
      expect(res.status).toBe(200);
      const list = (await res.json()) as {
        source: string;
        user_idx: number;
        items: Array<{ item_idx: number; bought_before?: unknown }>;
      };
      expect(list.source).toBe('personalized');
      expect(list.user_idx).toBe(one.user_idx);
      expect(list.items).toHaveLength(12);
      // The default plan leads with a purchase just made, whatever it fills the list with (an
      // article without a vector in the model cannot be offered).
      const plain = await fetch(`${api.url}/recommend/customer/${customer}?k=12`);
      expect(((await plain.json()) as typeof list).items[0]?.bought_before).toBeDefined();
    } finally {
      updater?.kill('SIGINT');
      await api.shutdown.run();
    }

    // The archiver puts both events into the lake, with the original ids beside the numbers.
    const archive = await runCommand('stream:archive', ['--available-now']);
    expect(archive.code, archive.output).toBe(0);
    const archived = await spark.read
      .format('delta')
      .load(lake.bronze.events)
      .where(`customer_id = '${customer}'`)
      .collect();
    expect(archived.map((r) => r['user_idx'])).toEqual([numbered, numbered]);

    // The next batch keeps the number the API gave and trains a vector for it.
    const second = await runCommand('batch', []);
    expect(second.code, second.output).toBe(0);
    const map = await spark.read
      .format('delta')
      .load(lake.silver.userIds)
      .where(`customer_id = '${customer}'`)
      .collect();
    const userIdx = Number(map[0]?.['user_idx']);
    expect(map).toHaveLength(1);
    expect(userIdx).toBe(knownUsers);
    const version = (await store.activeVersion())!;
    expect(version).not.toBe(firstVersion);
    expect(await store.userIdxOf(customer)).toBe(userIdx);
    expect(await store.getUserVector(version, userIdx)).not.toBeNull();
  });
});
