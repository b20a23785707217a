import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, functions as F, type SparkSession, type StreamingQuery } from '../index.ts';
import { openSession, scratchDir, unique } from './helpers.ts';

const brokers = (process.env['KAFKA_BROKERS'] ?? 'localhost:9092').split(',');

async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('Structured Streaming: Kafka → Delta', () => {
  let spark: SparkSession;
  let dir: { path: string; remove: () => void };
  const kafka = new Kafka({ clientId: 'spark-connect-test', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();

  beforeAll(async () => {
    spark = openSession();
    await spark.conf.set('spark.sql.shuffle.partitions', 2);
    dir = scratchDir('stream');
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await spark.stop();
    dir.remove();
  });

  async function createTopic(topic: string): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  }

  const send = (topic: string, from: number, to: number) =>
    producer.send({
      topic,
      messages: Array.from({ length: to - from }, (_, k) => ({
        key: String(from + k),
        value: JSON.stringify({ user_idx: from + k, item_idx: (from + k) * 10, event_type: 'click' }),
      })),
    });

  function kafkaSource(topic: string) {
    return spark.readStream
      .format('kafka')
      .options({
        'kafka.bootstrap.servers': brokers.join(','),
        subscribe: topic,
        startingOffsets: 'earliest',
      })
      .load()
      .select(
        col('key').cast('string').alias('key'),
        F.from_json(col('value').cast('string'), 'user_idx INT, item_idx INT, event_type STRING').alias('e'),
        col('timestamp'),
      )
      .select('key', 'e.user_idx', 'e.item_idx', 'e.event_type', 'timestamp');
  }

  it('picks up messages produced while the query runs and stops cleanly', async () => {
    const topic = unique('events');
    await createTopic(topic);
    await send(topic, 0, 5);
    const path = join(dir.path, 'events');
    const name = unique('archiver');
    const source = kafkaSource(topic);
    expect(await source.isStreaming()).toBe(true);
    let query: StreamingQuery | undefined;
    try {
      query = await source.writeStream
        .format('delta')
        .outputMode('append')
        .option('checkpointLocation', join(dir.path, 'checkpoint'))
        .trigger({ processingTime: '1 second' })
        .queryName(name)
        .start(path);
      expect(query.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(query.runId).toMatch(/^[0-9a-f-]{36}$/);
      expect(query.name).toBe(name);
      expect((await query.status()).isActive).toBe(true);

      const readCount = () =>
        spark.read
          .delta(path)
          .count()
          .catch(() => 0);
      expect(await eventually(readCount, (n) => n >= 5, 90_000)).toBe(5);
      // Messages produced while the query is running arrive too.
      await send(topic, 5, 12);
      expect(await eventually(readCount, (n) => n >= 12, 90_000)).toBe(12);
      const rows = await spark.read.delta(path).orderBy('user_idx').collect();
      expect(rows.map((r) => r['user_idx'])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(rows[3]).toMatchObject({ key: '3', item_idx: 30, event_type: 'click' });
      expect(rows[3]!['timestamp']).toBeInstanceOf(Date);

      const last = await query.lastProgress();
      expect(last).not.toBeNull();
      expect(last!.id).toBe(query.id);
      expect(last!.name).toBe(name);
      const recent = await query.recentProgress();
      expect(recent.length).toBeGreaterThan(0);
      expect(recent.reduce((sum, p) => sum + p.numInputRows, 0)).toBe(12);
      expect(await query.exception()).toBeNull();
      expect(await query.explain()).toContain('== Physical Plan ==');
    } finally {
      await query?.stop();
    }
    expect((await query!.status()).isActive).toBe(false);
    expect(await query!.awaitTermination(1000)).toBe(true);
    await query!.stop(); // idempotent
  });

  it('runs an available-now query to completion', async () => {
    const topic = unique('backfill');
    await createTopic(topic);
    await send(topic, 0, 20);
    const query = await kafkaSource(topic)
      .writeStream.format('delta')
      .option('checkpointLocation', join(dir.path, 'checkpoint-backfill'))
      .trigger({ availableNow: true })
      .start(join(dir.path, 'backfill'));
    expect(await query.awaitTermination(120_000)).toBe(true);
    expect(await query.isActive()).toBe(false);
    expect(await spark.read.delta(join(dir.path, 'backfill')).count()).toBe(20);
  });

  it('keeps the session alive while a query runs, and only then', async () => {
    const session = openSession({ keepAliveIntervalMs: 200 });
    try {
      const query = await session.readStream
        .format('rate')
        .option('rowsPerSecond', 5)
        .load()
        .writeStream.format('memory')
        .queryName(unique('ticker'))
        .start();
      await new Promise((r) => setTimeout(r, 1500));
      expect(session.keepAlivesSent).toBeGreaterThanOrEqual(3);
      await query.stop();
      const after = session.keepAlivesSent;
      await new Promise((r) => setTimeout(r, 800));
      expect(session.keepAlivesSent).toBe(after);
    } finally {
      await session.stop();
    }
  });

  it('reports the failure of a query that cannot run', async () => {
    const query = await spark.readStream
      .format('rate')
      .option('rowsPerSecond', 10)
      .load()
      .select(F.fn('raise_error', F.lit('boom')).alias('x'))
      .writeStream.format('memory')
      .queryName(unique('failing'))
      .start();
    const ended = await query.awaitTermination(60_000).catch((e: unknown) => e);
    // The failure surfaces either as a thrown SparkConnectError or through exception().
    const failure = ended instanceof Error ? ended.message : (await query.exception())?.message;
    expect(failure).toContain('boom');
    await query.stop();
  });
});
