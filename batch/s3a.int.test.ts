/**
 * The batch and the archiver on object storage: the tiny raw CSVs go into an S3 bucket,
 * `csv-to-delta` reads them from `RAW_DIR=s3a://…` and writes the bronze Delta tables under
 * `LAKE_ROOT=s3a://…`, and the tables hold every generated row; the archiver writes a topic's
 * events to the lake in the bucket with its checkpoint (`CHECKPOINT_DIR=s3a://…`) there too, and
 * a second run archives only what came after. Needs an S3-compatible server and a Spark Connect server whose
 * Hadoop configuration reaches it (docs/operations.md#object-storage); skipped otherwise:
 *
 * - `S3A_TEST_ENDPOINT`: the S3 endpoint as this process reaches it, e.g. `http://127.0.0.1:9100`
 * - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`: the same credentials the Spark server uses
 * - `S3A_TEST_BUCKET` (default `recsys-s3a-test`, created when missing), `S3A_TEST_REGION`
 *   (default `us-east-1`), `S3A_TEST_SPARK_REMOTE` (default `SPARK_REMOTE`).
 *
 * Each run writes under its own prefix of the bucket and deletes it afterwards.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.ts';
import { type GenerateSummary, generate } from '../lib/hm/generate.ts';
import { TABLE_KINDS, TABLES } from '../lib/hm/schema.ts';
import { SparkSession } from '../lib/spark-connect/index.ts';
import { produceSimulatedEvents } from '../stream/testing/produce.ts';
import { runNpm } from '../test/support/commands.ts';
import { createBucket, deletePrefix, listKeys, putObject, s3Client } from '../test/support/s3.ts';
import { lakeTables } from './lake.ts';

const endpoint = process.env['S3A_TEST_ENDPOINT'];
const accessKeyId = process.env['AWS_ACCESS_KEY_ID'];
const secretAccessKey = process.env['AWS_SECRET_ACCESS_KEY'];
const missing = [
  ['S3A_TEST_ENDPOINT', endpoint],
  ['AWS_ACCESS_KEY_ID', accessKeyId],
  ['AWS_SECRET_ACCESS_KEY', secretAccessKey],
]
  .filter(([, value]) => !value)
  .map(([name]) => name);
if (missing.length > 0) console.log(`skipping s3a tests: ${missing.join(', ')} not set`);

const bucket = process.env['S3A_TEST_BUCKET'] || 'recsys-s3a-test';
const prefix = `s3a-test-${process.pid}-${Date.now()}`;
const base = `s3a://${bucket}/${prefix}`;
const remote = process.env['S3A_TEST_SPARK_REMOTE'] || loadConfig(process.env).spark.remote;

// Spark jobs through the S3A connector: slower on the standalone cluster of test:cluster than the
// integration project's default budget allows on a busy machine.
describe.skipIf(missing.length > 0)(
  'batch on s3a:// (RAW_DIR and LAKE_ROOT in a bucket)',
  { timeout: 300_000 },
  () => {
    const target = s3Client({
      endpoint: endpoint!,
      region: process.env['S3A_TEST_REGION'] || 'us-east-1',
      accessKeyId: accessKeyId!,
      secretAccessKey: secretAccessKey!,
    });
    const local = mkdtempSync(join(tmpdir(), 's3a-test-'));
    let generated: GenerateSummary;
    let spark: SparkSession;

    beforeAll(async () => {
      generated = await generate({ scale: 'tiny', out: local });
      await createBucket(target, bucket);
      for (const kind of TABLE_KINDS) {
        const name = TABLES[kind].fileName;
        await putObject(target, bucket, `${prefix}/raw/${name}`, readFileSync(join(local, name)));
      }
      spark = new SparkSession({ remote });
    });

    afterAll(async () => {
      await spark?.stop();
      rmSync(local, { recursive: true, force: true });
      await deletePrefix(target, bucket, `${prefix}/`);
      target.destroy();
    });

    it('csv-to-delta reads the raw files from the bucket and writes bronze there', async () => {
      const run = await runNpm('batch', ['--step', 'csv-to-delta'], {
        SPARK_REMOTE: remote,
        RAW_DIR: `${base}/raw`,
        LAKE_ROOT: `${base}/lake`,
        LOG_LEVEL: 'warn',
      });
      expect(run.code, run.output).toBe(0);

      const lake = lakeTables(`${base}/lake`);
      const count = (location: string) => spark.read.format('delta').load(location).count();
      expect(await count(lake.bronze.articles)).toBe(generated.files.articles.rows);
      expect(await count(lake.bronze.customers)).toBe(generated.files.customers.rows);
      expect(await count(lake.bronze.transactions)).toBe(generated.files.transactions.rows);
      expect(await count(lake.bronze.rejects)).toBe(0);

      // The commits are objects in the bucket, not files on the Spark server's disk.
      const log = await listKeys(target, bucket, `${prefix}/lake/bronze/articles/_delta_log/`);
      expect(log).toContain(`${prefix}/lake/bronze/articles/_delta_log/00000000000000000000.json`);
    });

    it('the archiver writes events to the lake in the bucket, its checkpoint there too', async () => {
      const topic = `test-s3a-archive-${randomUUID().slice(0, 8)}`;
      const kafka = loadConfig({
        ...process.env,
        KAFKA_TOPIC_EVENTS: topic,
        KAFKA_TOPIC_DLQ: `${topic}-dlq`,
      }).kafka;
      const produce = (seed: number, count: number) =>
        produceSimulatedEvents(kafka, { count, seed, catalog: { users: 100, items: 50 } });
      const archive = () =>
        runNpm('stream:archive', ['--available-now'], {
          SPARK_REMOTE: remote,
          KAFKA_TOPIC_EVENTS: topic,
          LAKE_ROOT: `${base}/lake`,
          CHECKPOINT_DIR: `${base}/checkpoints`,
          LOG_LEVEL: 'info',
        });
      const events = lakeTables(`${base}/lake`).bronze.events;

      const first = await produce(1, 200);
      const once = await archive();
      expect(once.code, once.output).toBe(0);
      expect(await spark.read.format('delta').load(events).count()).toBe(first);
      const offsets = await listKeys(target, bucket, `${prefix}/checkpoints/archiver-events/offsets/`);
      expect(offsets.length).toBeGreaterThan(0);

      // The checkpoint in the bucket is what the second run resumes from: nothing is archived twice.
      const second = await produce(2, 100);
      const again = await archive();
      expect(again.code, again.output).toBe(0);
      expect(await spark.read.format('delta').load(events).count()).toBe(first + second);
    }, 300_000);
  },
);
