import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  col,
  functions as F,
  type ProgressEvent,
  SparkConnectError,
  SparkSession,
  SparkSessionClosedError,
} from '../index.ts';
import { openSession, unique } from './helpers.ts';

describe('SparkSession', () => {
  let spark: SparkSession;
  beforeAll(() => {
    spark = openSession({
      remote: `${process.env['SPARK_REMOTE'] ?? 'sc://localhost:15002'}/;user_id=tester`,
    });
  });
  afterAll(async () => {
    await spark.stop();
  });

  it('reports the server version and its own identity', async () => {
    expect(await spark.version()).toMatch(/^4\.\d+\.\d+/);
    expect(spark.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(spark.userId).toBe('tester');
    expect(spark.clientType).toMatch(/^spark-connect-ts\//);
  });

  it('sets, gets and unsets configuration', async () => {
    await spark.conf.set('spark.sql.shuffle.partitions', 7);
    expect(await spark.conf.get('spark.sql.shuffle.partitions')).toBe('7');
    expect(await spark.conf.getAll('spark.sql.shuffle')).toMatchObject({
      'spark.sql.shuffle.partitions': '7',
    });
    await spark.conf.unset('spark.sql.shuffle.partitions');
    expect(await spark.conf.get('spark.sql.shuffle.partitions')).toBe('200');
    expect(await spark.conf.get('spark.some.unknown.key', 'fallback')).toBe('fallback');
    expect(await spark.conf.getOption('spark.some.unknown.key')).toBeUndefined();
    expect(await spark.conf.isModifiable('spark.sql.shuffle.partitions')).toBe(true);
    await spark.conf.set('spark.sql.shuffle.partitions', 4);
  });

  it('builds a session with the builder and applies its configs', async () => {
    const other = await SparkSession.builder.config('spark.sql.ansi.enabled', false).getOrCreate();
    try {
      expect(other.sessionId).not.toBe(spark.sessionId);
      expect(await other.conf.get('spark.sql.ansi.enabled')).toBe('false');
    } finally {
      await other.stop();
    }
  });

  it('runs SQL with named and positional parameters', async () => {
    const named = await spark.sql('SELECT :a + 1 AS x, :s AS s', { a: 41, s: 'hi' });
    expect(await named.collect()).toEqual([{ x: 42, s: 'hi' }]);
    const positional = await spark.sql('SELECT ? * 2 AS y', [21]);
    expect(await positional.collect()).toEqual([{ y: 42 }]);
  });

  it('turns bad SQL into a SparkConnectError with Spark error class and SQL state', async () => {
    const error = await spark.sql('SELEC 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SparkConnectError);
    const e = error as SparkConnectError;
    expect(e.errorClass).toBe('PARSE_SYNTAX_ERROR');
    expect(e.sqlState).toBe('42601');
    expect(e.message).toContain('Syntax error');
    expect(e.retriable).toBe(false);
    const missing = (await spark
      .table('no_such_table_here')
      .collect()
      .catch((x: unknown) => x)) as SparkConnectError;
    expect(missing.errorClass).toBe('TABLE_OR_VIEW_NOT_FOUND');
    expect(missing.sqlState).toBe('42P01');
    expect(missing.exceptionClasses.join(' ')).toContain('AnalysisException');
  });

  it('reports execution progress as events', async () => {
    const events: ProgressEvent[] = [];
    const global: ProgressEvent[] = [];
    const handler = (e: ProgressEvent) => global.push(e);
    spark.registerProgressHandler(handler);
    await spark.conf.set('spark.connect.progress.reportInterval', '200ms');
    try {
      // A job long enough (a few seconds) for the server's progress reports.
      const df = spark.range(0, 30_000_000, 1, 4).withColumn('k', col('id').mod(1000)).groupBy('k').count();
      expect(await df.count({ onProgress: (e) => events.push(e) })).toBe(1000);
    } finally {
      spark.removeProgressHandler(handler);
    }
    expect(events.length).toBeGreaterThan(0);
    expect(global.length).toBe(events.length);
    const withStages = events.filter((e) => e.stages.length > 0 && e.totalTasks > 0);
    expect(withStages.length).toBeGreaterThan(0);
    for (const e of withStages) {
      expect(e.completedTasks).toBeLessThanOrEqual(e.totalTasks);
      expect(e.stages.every((s) => s.stageId >= 0 && s.numTasks > 0)).toBe(true);
    }
    expect(new Set(events.map((e) => e.operationId)).size).toBe(1);
  });

  it('resumes a dropped result stream with ReattachExecute and gets every row once', async () => {
    const df = spark.range(0, 200_000, 1, 8).withColumn('v', col('id').multiply(2));
    spark.client.faultInjection = { dropStreamEvery: 2 };
    const reattachesBefore = spark.client.stats.reattaches;
    try {
      let rows = 0;
      let sum = 0n;
      for await (const batch of df.toBatches()) {
        rows += batch.numRows;
        for (const v of batch.getChild('id')!) sum += v as bigint;
      }
      expect(rows).toBe(200_000);
      expect(sum).toBe((199_999n * 200_000n) / 2n);
      expect(spark.client.stats.reattaches - reattachesBefore).toBeGreaterThan(2);
    } finally {
      spark.client.faultInjection = {};
    }
  });

  it('cancels and releases an operation when the consumer stops early', async () => {
    let seen = 0;
    for await (const batch of spark.range(0, 5_000_000, 1, 4).toBatches()) {
      seen += batch.numRows;
      break;
    }
    expect(seen).toBeGreaterThan(0);
    expect(await spark.range(3).count()).toBe(3);
  });

  it('interrupts running operations by tag', async () => {
    const tag = unique('tag');
    const running = spark
      .range(0, 50_000_000_000, 1, 2)
      .agg(F.sum(F.hash(col('id'), col('id').multiply(7))).alias('h'))
      .collect({ tags: [tag] })
      .catch((e: unknown) => e);
    let interrupted: string[] = [];
    for (let i = 0; i < 40 && interrupted.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      interrupted = await spark.interruptTag(tag);
    }
    expect(interrupted.length).toBe(1);
    const outcome = await running;
    expect(outcome).toBeInstanceOf(SparkConnectError);
  });

  it('retries UNAVAILABLE with backoff, then fails with a retriable error', async () => {
    const nowhere = new SparkSession({
      remote: 'sc://127.0.0.1:1',
      retryPolicy: { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
    });
    const started = Date.now();
    const error = (await nowhere.version().catch((e: unknown) => e)) as SparkConnectError;
    expect(error).toBeInstanceOf(SparkConnectError);
    expect(error.retriable).toBe(true);
    expect(error.grpcCode).toBe(14);
    expect(Date.now() - started).toBeLessThan(30_000);
    await nowhere.stop();
  });

  it('stops idempotently and refuses work afterwards', async () => {
    const short = openSession();
    expect(await short.range(2).count()).toBe(2);
    await short.stop();
    await short.stop();
    expect(short.isStopped).toBe(true);
    await expect(short.version()).rejects.toBeInstanceOf(SparkSessionClosedError);
  });
});
