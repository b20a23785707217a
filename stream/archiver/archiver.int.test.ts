/**
 * The archiver on real Kafka and Spark Connect (Delta): the table holds exactly the produced
 * events, one row per Kafka offset, across restarts; the SQL validity check agrees with the zod
 * schema on tricky messages; the CLI runs available-now to completion and stops cleanly on SIGINT.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { parseEvent, type UserEvent } from '../../lib/events.ts';
import { type Row, SparkSession } from '../../lib/spark-connect/index.ts';
import { produceSimulatedEvents } from '../testing/produce.ts';
import { startArchiverQuery } from './archive.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const id = randomUUID().slice(0, 8);
const topic = `test-archive-${id}`;
const base = loadConfig({ ...process.env, KAFKA_TOPIC_EVENTS: topic, KAFKA_TOPIC_DLQ: `${topic}-dlq` });
const kafka = new Kafka({
  brokers: base.kafka.brokers,
  clientId: `archiver-test-${id}`,
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
const admin = kafka.admin();

const good = {
  event_id: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
  event_type: 'purchase',
  user_idx: 1,
  item_idx: 2,
  ts: '2026-03-04T05:06:07.123Z',
  source: 'api',
};
/**
 * The one known difference: zod accepts any non-negative integer id, the archive only 32-bit ones
 * (ids are int32 everywhere else: bundles, id maps, preprocess casts), flagging larger ones
 * `invalid: user_idx`. Such an id can never name a user; the updater dead-letters it as unknown.
 */
const TOO_LARGE_ID = JSON.stringify({ ...good, user_idx: 2 ** 31 });
/** Messages the SQL check must judge as the zod schema does. */
const TRICKY: string[] = [
  '{"event_id": oops',
  'not json at all',
  '[1, 2, 3]',
  '"just a string"',
  '{}',
  JSON.stringify({ ...good, event_type: 'wishlist' }),
  JSON.stringify({ ...good, event_id: 'not-a-uuid' }),
  JSON.stringify({ ...good, event_id: '6f1c2d3e-4b5a-0c7d-8e9f-0a1b2c3d4e5f' }),
  JSON.stringify({ ...good, user_idx: -1 }),
  TOO_LARGE_ID,
  JSON.stringify({ ...good, item_idx: 1.5 }),
  JSON.stringify({ ...good, item_idx: '7' }),
  JSON.stringify({ ...good, ts: '2026-03-04T05:06Z' }),
  JSON.stringify({ ...good, ts: '2026-03-04T05:06:07+01:00' }),
  JSON.stringify({ ...good, ts: '2026-03-04 05:06:07Z' }),
  JSON.stringify({ ...good, ts: '2026-02-30T05:06:07Z' }),
  JSON.stringify({ ...good, source: 'x'.repeat(65) }),
  JSON.stringify({ ...good, extra: true }),
  JSON.stringify({ ...good, event_id: '00000000-0000-0000-0000-000000000000' }),
  JSON.stringify({ ...good, event_id: randomUUID(), source: undefined }),
  JSON.stringify({ ...good, event_id: randomUUID(), ts: '2026-03-04T23:59:59Z' }),
  // The original ids a live-numbered event carries.
  JSON.stringify({ ...good, event_id: randomUUID(), customer_id: 'a'.repeat(64), article_id: '0108775015' }),
  JSON.stringify({ ...good, customer_id: '' }),
  JSON.stringify({ ...good, article_id: 'x'.repeat(65) }),
];

let spark: SparkSession;
let dir: string;
const sent: UserEvent[] = [];

function paths(name: string) {
  return { tablePath: join(dir, name, 'bronze', 'events'), checkpointPath: join(dir, name, 'checkpoint') };
}

async function produce(count: number, rate = 2000): Promise<void> {
  await produceSimulatedEvents(base.kafka, {
    count,
    rate,
    seed: sent.length + 1,
    onSent: (events) => sent.push(...events),
  });
}

async function table(path: string): Promise<Row[]> {
  return spark.read.format('delta').load(path).collect();
}

function expectExactlyTheTopic(rows: Row[], events: UserEvent[], rawMessages: string[]): void {
  // One row per Kafka offset, none twice.
  const offsets = new Set(rows.map((r) => `${r['kafka_partition']}/${r['kafka_offset']}`));
  expect(offsets.size).toBe(rows.length);
  expect(rows.length).toBe(events.length + rawMessages.length);
  const valid = rows.filter((r) => r['is_valid'] === true && r['raw_value'] === null);
  const fromSimulator = valid.filter((r) => r['source'] === 'simulator');
  expect(fromSimulator).toHaveLength(events.length);
  const byId = new Map(fromSimulator.map((r) => [r['event_id'] as string, r]));
  for (const e of events) {
    const row = byId.get(e.event_id);
    expect(row, e.event_id).toBeDefined();
    expect(row).toMatchObject({ event_type: e.event_type, user_idx: e.user_idx, item_idx: e.item_idx });
    expect((row!['ts'] as Date).toISOString()).toBe(e.ts);
    const day = row!['event_date'];
    expect(day instanceof Date ? day.toISOString().slice(0, 10) : String(day)).toBe(e.ts.slice(0, 10));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `archiver-${id}-`));
  spark = new SparkSession({ remote: base.spark.remote });
  await producer.connect();
  await admin.connect();
  await produce(1500);
  await producer.send({ topic, messages: TRICKY.map((value) => ({ key: '1', value })) });
});

afterAll(async () => {
  await spark?.stop();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic, `${topic}-dlq`] }).catch(() => {});
  await admin.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe('archiver: Kafka → Delta bronze/events', () => {
  it('archives exactly the topic, across a continuous run and an available-now restart', async () => {
    const { tablePath, checkpointPath } = paths('main');
    const options = { bootstrapServers: base.spark.kafkaBootstrap, topic, tablePath, checkpointPath };

    const backfill = await startArchiverQuery(spark, { ...options, availableNow: true });
    expect(await backfill.awaitTermination(180_000)).toBe(true);
    expect(await backfill.exception()).toBeNull();
    expectExactlyTheTopic(await table(tablePath), sent, TRICKY);

    // A continuous query on the same checkpoint picks up only what is new.
    const live = await startArchiverQuery(spark, { ...options, triggerSeconds: 1, queryName: `live_${id}` });
    try {
      await produce(600);
      const deadline = Date.now() + 120_000;
      while ((await spark.read.format('delta').load(tablePath).count()) < sent.length + TRICKY.length) {
        if (Date.now() > deadline) throw new Error('the live query did not catch up');
        await new Promise((r) => setTimeout(r, 1000));
      }
      const progress = await live.recentProgress();
      expect(progress.reduce((sum, p) => sum + p.numInputRows, 0)).toBe(600);
    } finally {
      await live.stop();
    }
    // Restarting on the checkpoint replays nothing.
    const again = await startArchiverQuery(spark, { ...options, availableNow: true });
    expect(await again.awaitTermination(120_000)).toBe(true);
    expectExactlyTheTopic(await table(tablePath), sent, TRICKY);

    // Partitioned by event_date.
    const detail = await (await spark.sql(`DESCRIBE DETAIL delta.\`${tablePath}\``)).collect();
    expect(detail[0]!['partitionColumns']).toEqual(['event_date']);
  }, 300_000);

  it('judges validity as the zod schema does, keeping invalid rows with their reason and raw text', async () => {
    const { tablePath } = paths('main');
    const rows = await spark.read
      .format('delta')
      .load(tablePath)
      .where("source IS NULL OR source <> 'simulator'")
      .collect();
    expect(rows).toHaveLength(TRICKY.length);
    const byRaw = new Map<string, Row>();
    for (const r of rows) {
      if (r['raw_value'] !== null) byRaw.set(r['raw_value'] as string, r);
    }
    for (const raw of TRICKY) {
      const zod = parseEvent(raw);
      if (raw === TOO_LARGE_ID) {
        expect(zod.ok).toBe(true);
        expect(byRaw.get(raw)).toMatchObject({ is_valid: false, invalid_reason: 'invalid: user_idx' });
      } else if (zod.ok) {
        const row = rows.find((r) => r['event_id'] === zod.event.event_id && r['is_valid'] === true);
        expect(row, `valid for zod, so for SQL too: ${raw}`).toBeDefined();
        expect(row).toMatchObject({
          customer_id: zod.event.customer_id ?? null,
          article_id: zod.event.article_id ?? null,
        });
      } else {
        const row = byRaw.get(raw);
        expect(row, `invalid for zod (${zod.reason}), so for SQL too: ${raw}`).toBeDefined();
        expect(row).toMatchObject({ is_valid: false, event_id: null, user_idx: null, item_idx: null });
        expect(row!['invalid_reason']).toMatch(/^(malformed|invalid: )/);
      }
    }
  });

  it('npm run stream:archive -- --available-now archives and exits; a live run stops on SIGINT', async () => {
    const lake = join(dir, 'cli', 'lake');
    const checkpoints = join(dir, 'cli', 'checkpoints');
    const env = {
      ...process.env,
      KAFKA_TOPIC_EVENTS: topic,
      LAKE_ROOT: lake,
      CHECKPOINT_DIR: checkpoints,
    };
    const run = (args: string[], signalAfter?: (line: string) => boolean) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'stream/archiver/main.ts', ...args], {
          cwd: repoRoot,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          if (signalAfter && out.split('\n').some(signalAfter)) {
            signalAfter = undefined;
            child.kill('SIGINT');
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code) => resolve({ code, out }));
      });

    const once = await run(['--available-now']);
    expect(once.code, once.out).toBe(0);
    expect(once.out).toContain('caught up');
    expect(once.out).toMatch(/batch 0: \d+ events/);
    const tablePath = join(lake, 'bronze', 'events');
    expect(await spark.read.format('delta').load(tablePath).count()).toBe(sent.length + TRICKY.length);

    const live = await run(['--trigger', '1'], (line) => line.startsWith('archiving '));
    expect(live.code, live.out).toBe(0);
    expect(live.out).toContain('SIGINT: stopping the archiver query');
    expect(await spark.read.format('delta').load(tablePath).count()).toBe(sent.length + TRICKY.length);
  }, 300_000);
});
