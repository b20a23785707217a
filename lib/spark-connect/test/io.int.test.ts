import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, functions as F, SparkConnectError, type SparkSession } from '../index.ts';
import { openSession, scratchDir, unique } from './helpers.ts';

describe('reading and writing', () => {
  let spark: SparkSession;
  let dir: { path: string; remove: () => void };
  beforeAll(async () => {
    spark = openSession();
    dir = scratchDir('io');
    // Two cores: few shuffle partitions keep Delta's commits quick.
    await spark.conf.set('spark.sql.shuffle.partitions', 2);
  });
  afterAll(async () => {
    await spark.stop();
    dir.remove();
  });

  it('reads CSV with an explicit DDL schema and options', async () => {
    const path = join(dir.path, 'articles.csv');
    writeFileSync(
      path,
      'article_id;name;price;added\n0108775015;Strap top;0.0169;2020-09-01\n0108775044;"Strap; top (1)";0.02;2020-09-02\n',
    );
    const df = spark.read
      .schema('article_id STRING, name STRING, price DOUBLE, added DATE')
      .options({ header: true, sep: ';' })
      .csv(path);
    expect(await df.orderBy('article_id').collect()).toEqual([
      { article_id: '0108775015', name: 'Strap top', price: 0.0169, added: new Date('2020-09-01T00:00:00Z') },
      {
        article_id: '0108775044',
        name: 'Strap; top (1)',
        price: 0.02,
        added: new Date('2020-09-02T00:00:00Z'),
      },
    ]);
    // The same through the generic load(), and with a malformed row dropped.
    writeFileSync(join(dir.path, 'bad.csv'), 'a,b\n1,x\nnot-a-number,y\n');
    const dropped = spark.read
      .format('csv')
      .schema('a INT, b STRING')
      .option('header', 'true')
      .option('mode', 'DROPMALFORMED')
      .load(join(dir.path, 'bad.csv'));
    expect(await dropped.collect()).toEqual([{ a: 1, b: 'x' }]);
  });

  it('writes and reads Parquet and JSON', async () => {
    const df = spark.range(0, 100).withColumn('sq', col('id').multiply(col('id')));
    await df.write.mode('overwrite').parquet(join(dir.path, 'pq'));
    expect(await spark.read.parquet(join(dir.path, 'pq')).agg(F.sum('sq').alias('s')).collect()).toEqual([
      { s: 328350 },
    ]);
    await df.limit(3).write.format('json').mode('overwrite').save(join(dir.path, 'js'));
    const back = spark.read.schema('id BIGINT, sq BIGINT').json(join(dir.path, 'js'));
    expect(await back.orderBy('id').collect()).toEqual([
      { id: 0, sq: 0 },
      { id: 1, sq: 1 },
      { id: 2, sq: 4 },
    ]);
  });

  it('writes Delta by path with modes and partitions, then reads it back', async () => {
    const path = join(dir.path, 'delta-events');
    const events = await spark.createDataFrame(
      [
        { user_idx: 1, item_idx: 10, day: '2024-01-01', v: [0.5, 1.5] },
        { user_idx: 2, item_idx: 11, day: '2024-01-02', v: [2.5] },
      ],
      'user_idx INT, item_idx INT, day DATE, v ARRAY<FLOAT>',
    );
    await events.write.format('delta').mode('overwrite').partitionBy('day').save(path);
    expect(existsSync(join(path, '_delta_log'))).toBe(true);
    expect(
      readdirSync(path)
        .filter((f) => f.startsWith('day='))
        .sort(),
    ).toEqual(['day=2024-01-01', 'day=2024-01-02']);
    await events.limit(1).write.format('delta').mode('append').save(path);
    const read = spark.read.format('delta').load(path);
    expect(await read.count()).toBe(3);
    expect(await read.filter(col('user_idx').eq(2)).select('v').collect()).toEqual([{ v: [2.5] }]);
    // errorifexists refuses, ignore does nothing, overwrite replaces.
    await expect(events.write.format('delta').mode('error').save(path)).rejects.toBeInstanceOf(
      SparkConnectError,
    );
    await events.write.format('delta').mode('ignore').save(path);
    expect(await spark.read.delta(path).count()).toBe(3);
    await events.limit(1).write.mode('overwrite').delta(path);
    expect(await spark.read.delta(path).count()).toBe(1);
    // Time travel through a read option.
    expect(await spark.read.format('delta').option('versionAsOf', 0).load(path).count()).toBe(2);
  });

  it('runs CREATE TABLE ... USING delta and MERGE INTO through sql()', async () => {
    const path = join(dir.path, 'delta-merge');
    await spark.sql(`CREATE TABLE delta.\`${path}\` (id INT, name STRING) USING delta`);
    await spark.sql(`INSERT INTO delta.\`${path}\` VALUES (1, 'a'), (2, 'b')`);
    const updates = await spark.createDataFrame(
      [
        { id: 2, name: 'B' },
        { id: 3, name: 'c' },
      ],
      'id INT, name STRING',
    );
    const view = unique('updates');
    await updates.createOrReplaceTempView(view);
    const merged = await spark.sql(
      `MERGE INTO delta.\`${path}\` t USING ${view} u ON t.id = u.id
       WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`,
    );
    const [metrics] = await merged.collect();
    expect(metrics).toMatchObject({ num_updated_rows: 1, num_inserted_rows: 1 });
    expect(await spark.read.delta(path).orderBy('id').collect()).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'B' },
      { id: 3, name: 'c' },
    ]);
    const history = await spark.sql(`DESCRIBE HISTORY delta.\`${path}\``);
    expect((await history.select('operation').collect()).map((r) => r['operation'])).toContain('MERGE');
  });

  it('saves, inserts into and reads catalog tables', async () => {
    const name = unique('t_saved');
    const df = spark.range(0, 5).withColumn('label', F.concat(F.lit('n'), col('id').cast('string')));
    await df.write.format('parquet').mode('overwrite').option('path', join(dir.path, name)).saveAsTable(name);
    expect(await spark.table(name).count()).toBe(5);
    await spark.range(5, 7).withColumn('label', F.lit('x')).write.insertInto(name);
    expect(await spark.read.table(name).count()).toBe(7);
    await spark.sql(`DROP TABLE ${name}`);
  });
});
