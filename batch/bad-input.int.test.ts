/**
 * Bad input against the real Spark Connect server: broken rows end up counted in the rejects
 * table while the run finishes; archived stream events that are invalid or delivered twice are
 * taken once or not at all; a missing raw file fails naming the file and the step; an
 * unreachable Spark fails fast naming the SPARK_REMOTE it tried.
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../lib/config.ts';
import { generate } from '../lib/hm/generate.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { SparkSession } from '../lib/spark-connect/index.ts';
import { runNpm } from '../test/support/commands.ts';
import { extendIdMapShared } from './id-maps.ts';
import { lakeTables } from './lake.ts';
import { ProgressPrinter } from './progress.ts';
import { runBatch } from './runner.ts';

const root = mkdtempSync(join(tmpdir(), 'batch-bad-input-'));
const env = {
  RAW_DIR: join(root, 'raw'),
  LAKE_ROOT: join(root, 'lake'),
  MODELS_DIR: join(root, 'models'),
  STAGING_DIR: join(root, 'staging'),
  LOG_LEVEL: 'silent',
};
const quiet = new ProgressPrinter({ write: () => true } as unknown as NodeJS.WritableStream);

/** One batch step in this process, quietly. */
function runStep(config: Config, step: string) {
  return runBatch({ config, logger: createLogger({ level: 'silent' }), printer: quiet, step });
}

function cli(args: string[], extraEnv: Record<string, string>) {
  return runNpm('batch', args, { ...env, ...extraEnv });
}

describe('batch with bad input', () => {
  beforeAll(async () => {
    await generate({
      scale: 'tiny',
      out: env.RAW_DIR,
      overrides: { articles: 60, customers: 40, transactions: 300, days: 30 },
    });
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('finishes csv-to-delta with broken rows counted in bronze/rejects', async () => {
    const tx = join(env.RAW_DIR, 'transactions_train.csv');
    appendFileSync(
      tx,
      [
        `2020-13-45,${'a'.repeat(64)},0108775015,0.01,1`, // impossible date
        `2020-09-01,${'a'.repeat(64)},0108775015`, // too few fields
        `2020-09-01,${'a'.repeat(64)},9999999999,0.01,1`, // article not in articles.csv
        `2020-09-01,not-a-customer,0108775015,0.01,1`, // malformed customer id
        '',
      ].join('\n'),
    );
    // 4 of 304 rows (1.3 %): more than the default MAX_REJECT_RATIO (1 %) allows, so this run allows 5 %.
    const config = loadConfig({ ...process.env, ...env, MAX_REJECT_RATIO: '0.05' });
    const result = await runStep(config, 'csv-to-delta');
    expect(result.failure).toBeUndefined();
    expect(result.outcomes[0]?.summary).toContain('4 rejects');

    const spark = new SparkSession({ remote: config.spark.remote });
    try {
      const lake = lakeTables(env.LAKE_ROOT);
      const rejects = await spark.read.format('delta').load(lake.bronze.rejects).collect();
      expect(rejects).toHaveLength(4);
      expect(rejects.every((r) => r['file'] === 'transactions_train.csv')).toBe(true);
      expect(new Set(rejects.map((r) => r['reason_code']))).toEqual(
        new Set(['bad_t_dat', 'column_count', 'unknown_article', 'bad_customer_id']),
      );
      expect(await spark.read.format('delta').load(lake.bronze.transactions).count()).toBe(300);
      expect(rejects.map((r) => Number(r['line_number'])).sort()).toEqual([302, 303, 304, 305]);
      // The raw files are read by Spark where they lie: nothing is staged for it.
      expect(existsSync(env.STAGING_DIR)).toBe(false);
    } finally {
      await spark.stop();
    }
  });

  it('fails csv-to-delta and data:validate when more rows are rejected than MAX_REJECT_RATIO allows', async () => {
    const config = loadConfig({ ...process.env, ...env });
    expect(config.validation.maxRejectRatio).toBe(0.01);
    const result = await runStep(config, 'csv-to-delta');
    expect(result.failure?.message).toMatch(
      /transactions_train\.csv: 4 of 304 rows rejected \(1\.3 %\), more than MAX_REJECT_RATIO=0\.01 allows \(top reasons: bad_customer_id 1, bad_t_dat 1, column_count 1\); first rejected lines: line 302 \(bad_t_dat: t_dat "2020-13-45" is not a date yyyy-MM-dd\); line 303 \(column_count: expected 5 fields, found 3\); line 304 \(unknown_article: article_id 9999999999 is not in articles\); line 305 \(bad_customer_id: customer_id "not-a-customer" does not match/,
    );
    const out = join(root, 'validated');
    const strict = await runNpm('data:validate', ['--raw', env.RAW_DIR, '--out', out, '--quiet'], env);
    expect(strict.code).toBe(1);
    expect(strict.output).toContain('data:validate: transactions_train.csv: 4 of 304 rows rejected');
    const lenient = await runNpm('data:validate', ['--raw', env.RAW_DIR, '--out', out, '--quiet'], {
      ...env,
      MAX_REJECT_RATIO: '0.05',
    });
    expect(lenient.code).toBe(0);
    // The lake keeps the last good run's tables for the next steps.
    expect(
      (await runStep(loadConfig({ ...process.env, ...env, MAX_REJECT_RATIO: '0.05' }), 'csv-to-delta'))
        .failure,
    ).toBeUndefined();
  });

  it('fails preprocess naming HOLDOUT_DAYS when the hold-out leaves no day to train on', async () => {
    // The generated purchases span 30 days.
    const config = loadConfig({ ...process.env, ...env, HOLDOUT_DAYS: '30' });
    const result = await runStep(config, 'preprocess');
    expect(result.failure?.message).toMatch(
      /HOLDOUT_DAYS=30 holds out \d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}, but the purchases span only \d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}: no day is left to train on/,
    );
  });

  it('preprocess takes valid archived events once each and skips invalid ones', async () => {
    const config = loadConfig({ ...process.env, ...env });
    const lake = lakeTables(env.LAKE_ROOT);
    const spark = new SparkSession({ remote: config.spark.remote });
    try {
      const event = {
        event_id: '00000000-0000-4000-8000-00000000000a',
        event_type: 'purchase',
        user_idx: 1,
        item_idx: 2,
        ts: '2020-09-01T08:00:00Z',
        source: 'test',
        event_date: '2020-09-01',
        is_valid: true,
      };
      const invalid = {
        ...event,
        event_id: null,
        event_type: null,
        user_idx: null,
        item_idx: null,
        is_valid: false,
      };
      const click = {
        ...event,
        event_id: '00000000-0000-4000-8000-00000000000b',
        event_type: 'click',
        item_idx: 3,
      };
      const rows = [event, event, invalid, click]; // the purchase delivered twice
      const df = await spark.createDataFrame(
        rows,
        'event_id STRING, event_type STRING, user_idx INT, item_idx INT, ts TIMESTAMP, source STRING, event_date DATE, is_valid BOOLEAN',
      );
      await df.write.format('delta').mode('overwrite').save(lake.bronze.events);
      const result = await runStep(config, 'preprocess');
      expect(result.failure).toBeUndefined();
      const fromEvents = await spark.read
        .format('delta')
        .load(lake.silver.purchases)
        .where("source = 'events'")
        .collect();
      expect(fromEvents.map((r) => [r['user_idx'], r['item_idx']])).toEqual([[1, 2]]);
      const clicked = await spark.read
        .format('delta')
        .load(lake.silver.interactions)
        .where('user_idx = 1 AND item_idx = 3')
        .collect();
      expect(clicked).toHaveLength(1);
      expect(clicked[0]!['purchases']).toBe(0);
      expect(Number(clicked[0]!['weight'])).toBeLessThanOrEqual(config.batch.eventWeights.click);
      expect(Number(clicked[0]!['weight'])).toBeGreaterThan(0);
    } finally {
      await spark.stop();
    }
  });

  it('preprocess adopts the numbers the live system gave, leaving clashing pairs out', async () => {
    const config = loadConfig({ ...process.env, ...env });
    const lake = lakeTables(env.LAKE_ROOT);
    const spark = new SparkSession({ remote: config.spark.remote });
    try {
      const before = await spark.read.format('delta').load(lake.silver.userIds).collect();
      const next = before.length;
      const taken = before.find((r) => r['user_idx'] === 0)!['customer_id'] as string;
      const newcomer = 'f'.repeat(64);
      const base = {
        event_type: 'purchase',
        item_idx: 2,
        ts: '2020-09-02T08:00:00Z',
        source: 'api',
        event_date: '2020-09-02',
        is_valid: true,
        article_id: null,
      };
      const rows = [
        // A customer first seen live, numbered after the map.
        { ...base, event_id: '00000000-0000-4000-8000-0000000000c1', user_idx: next, customer_id: newcomer },
        // A known customer claimed under another number: left out.
        { ...base, event_id: '00000000-0000-4000-8000-0000000000c2', user_idx: next + 1, customer_id: taken },
      ];
      const df = await spark.createDataFrame(
        rows,
        'event_type STRING, item_idx INT, ts TIMESTAMP, source STRING, event_date DATE, is_valid BOOLEAN, ' +
          'article_id STRING, event_id STRING, user_idx INT, customer_id STRING',
      );
      await df.write
        .format('delta')
        .mode('overwrite')
        .option('overwriteSchema', true)
        .save(lake.bronze.events);
      const result = await runStep(config, 'preprocess');
      expect(result.failure).toBeUndefined();
      const after = await spark.read.format('delta').load(lake.silver.userIds).collect();
      expect(after).toHaveLength(next + 1);
      const numberOf = new Map(after.map((r) => [r['customer_id'] as string, r['user_idx'] as number]));
      expect(numberOf.get(newcomer)).toBe(next);
      expect(numberOf.get(taken)).toBe(0);
      const fromEvents = await spark.read
        .format('delta')
        .load(lake.silver.purchases)
        .where("source = 'events'")
        .collect();
      expect(fromEvents.map((r) => r['user_idx'])).toEqual([next]);
    } finally {
      await spark.stop();
    }
  });

  it('refuses numbers from a feature store that does not belong to the lake', async () => {
    const config = loadConfig({ ...process.env, ...env });
    const lake = lakeTables(env.LAKE_ROOT);
    const spark = new SparkSession({ remote: config.spark.remote });
    try {
      const before = await spark.read.format('delta').load(lake.silver.userIds).count();
      const keys = await spark.createDataFrame([{ customer_id: 'e'.repeat(64) }], 'customer_id STRING');
      // A store whose counter is behind the lake's map numbers a new customer at a taken number.
      const behind = async (batch: string[]) => batch.map((key) => ({ key, idx: 0, created: true }));
      await expect(
        extendIdMapShared(spark, lake.silver.userIds, keys, 'customer_id', 'user_idx', behind),
      ).rejects.toThrow(/at or below the id map's highest user_idx.*REDIS_KEY_PREFIX and LAKE_ROOT/);
      // A number that is new but was already given to another key in the map (same number twice).
      const map = await spark.read.format('delta').load(lake.silver.userIds).collect();
      const max = Math.max(...map.map((r) => Number(r['user_idx'])));
      const twice = async (batch: string[]) => [
        ...batch.map((key) => ({ key, idx: max + 1, created: true })),
        { key: 'f'.repeat(63) + 'e', idx: max + 1, created: false },
      ];
      const two = await spark.createDataFrame(
        [{ customer_id: 'e'.repeat(64) }, { customer_id: 'f'.repeat(63) + 'e' }],
        'customer_id STRING',
      );
      await expect(
        extendIdMapShared(spark, lake.silver.userIds, two, 'customer_id', 'user_idx', twice),
      ).rejects.toThrow(/clash with the id map.*REDIS_KEY_PREFIX and LAKE_ROOT/);
      // Nothing was written.
      expect(await spark.read.format('delta').load(lake.silver.userIds).count()).toBe(before);
    } finally {
      await spark.stop();
    }
  });

  it('fails naming the step and the missing raw file', async () => {
    unlinkSync(join(env.RAW_DIR, 'customers.csv'));
    const { code, output } = await cli(['--step', 'csv-to-delta'], {});
    expect(code).toBe(1);
    expect(output).toContain('step csv-to-delta failed');
    expect(output).toContain('customers.csv');
  });

  it('fails fast naming SPARK_REMOTE when Spark is unreachable', async () => {
    const remote = 'sc://127.0.0.1:1';
    const { code, output, ms } = await cli([], { SPARK_REMOTE: remote });
    expect(code).toBe(3);
    expect(output).toContain(`SPARK_REMOTE=${remote}`);
    expect(ms).toBeLessThan(20_000);
  });
});
