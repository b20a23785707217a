import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, type DataFrame, functions as F, lit, type SparkSession, Window } from '../index.ts';
import { openSession, unique } from './helpers.ts';

const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => Number(a['id']) - Number(b['id']);

describe('DataFrame', () => {
  let spark: SparkSession;
  let people: DataFrame;
  let orders: DataFrame;

  beforeAll(async () => {
    spark = openSession();
    await spark.conf.set('spark.sql.shuffle.partitions', 4);
    people = await spark.createDataFrame(
      [
        { id: 1, name: 'ann', city: 'oslo', born: '1990-05-01' },
        { id: 2, name: 'bob', city: 'rome', born: '1985-12-31' },
        { id: 3, name: 'cy', city: 'oslo', born: null },
        { id: 4, name: 'dee', city: null, born: '2000-01-15' },
      ],
      'id INT, name STRING, city STRING, born DATE',
    );
    orders = await spark.createDataFrame(
      [
        { oid: 10, id: 1, amount: 5.5, day: '2024-01-01' },
        { oid: 11, id: 1, amount: 4.5, day: '2024-01-03' },
        { oid: 12, id: 2, amount: 10, day: '2024-01-02' },
        { oid: 13, id: 9, amount: 1, day: '2024-01-02' },
      ],
      'oid INT, id INT, amount DOUBLE, day DATE',
    );
  });
  afterAll(async () => {
    await spark.stop();
  });

  it('selects columns, expressions and stars', async () => {
    const rows = await people
      .select('id', col('name').alias('n'), col('id').multiply(10).plus(1).alias('x'))
      .orderBy('id')
      .limit(2)
      .collect();
    expect(rows).toEqual([
      { id: 1, n: 'ann', x: 11 },
      { id: 2, n: 'bob', x: 21 },
    ]);
    expect(await people.selectExpr('id * 2 AS d', 'upper(name) AS u').where('id = 2').collect()).toEqual([
      { d: 4, u: 'BOB' },
    ]);
    expect(await people.select('*').columns()).toEqual(['id', 'name', 'city', 'born']);
  });

  it('filters with comparisons, boolean logic, nulls and isin', async () => {
    const ids = async (df: DataFrame) => (await df.select('id').orderBy('id').collect()).map((r) => r['id']);
    expect(await ids(people.filter(col('id').gt(1).and(col('id').lt(4))))).toEqual([2, 3]);
    expect(await ids(people.where(col('city').eq('oslo').or(col('id').eq(4))))).toEqual([1, 3, 4]);
    expect(await ids(people.filter(col('city').isNull()))).toEqual([4]);
    expect(await ids(people.filter(col('born').isNotNull().and(col('city').neq('rome'))))).toEqual([1]);
    expect(await ids(people.filter(col('name').isin('ann', 'dee')))).toEqual([1, 4]);
    expect(await ids(people.filter(col('id').between(2, 3).not()))).toEqual([1, 4]);
    expect(await ids(people.filter(col('name').like('%e%')))).toEqual([4]);
    expect(await ids(people.filter(col('id').geq(3).and(col('id').leq(3))))).toEqual([3]);
    expect(await ids(people.filter(col('city').eqNullSafe(null)))).toEqual([4]);
  });

  it('adds, renames and drops columns; casts; arithmetic', async () => {
    const df = people
      .withColumn('half', col('id').divide(2))
      .withColumns({ sid: col('id').cast('string'), m: col('id').mod(2), neg: col('id').negate() })
      .withColumnRenamed('name', 'who')
      .drop('born', 'city')
      .filter(col('id').eq(3));
    expect(await df.collect()).toEqual([{ id: 3, who: 'cy', half: 1.5, sid: '3', m: 1, neg: -3 }]);
    const renamed = people.withColumnsRenamed({ id: 'pid', name: 'pname' }).toDF('a', 'b', 'c', 'd');
    expect(await renamed.columns()).toEqual(['a', 'b', 'c', 'd']);
    const minus = await people.select(col('id').minus(1).multiply(3).alias('v')).orderBy('v').collect();
    expect(minus.map((r) => r['v'])).toEqual([0, 3, 6, 9]);
  });

  it('aggregates by group with every aggregate function', async () => {
    const rows = await orders
      .groupBy('id')
      .agg(
        F.count().alias('n'),
        F.countDistinct('day').alias('days'),
        F.sum('amount').alias('total'),
        F.avg('amount').alias('mean'),
        F.min('amount').alias('lo'),
        F.max('amount').alias('hi'),
        F.sort_array(F.collect_list('oid')).alias('oids'),
      )
      .orderBy('id')
      .collect();
    expect(rows).toEqual([
      { id: 1, n: 2, days: 2, total: 10, mean: 5, lo: 4.5, hi: 5.5, oids: [10, 11] },
      { id: 2, n: 1, days: 1, total: 10, mean: 10, lo: 10, hi: 10, oids: [12] },
      { id: 9, n: 1, days: 1, total: 1, mean: 1, lo: 1, hi: 1, oids: [13] },
    ]);
    expect(await orders.groupBy('id').count().orderBy('id').collect()).toEqual([
      { id: 1, count: 2 },
      { id: 2, count: 1 },
      { id: 9, count: 1 },
    ]);
    expect(await orders.agg(F.max('amount').alias('m')).collect()).toEqual([{ m: 10 }]);
    expect(await orders.groupBy().sum('amount').collect()).toEqual([{ 'sum(amount)': 21 }]);
    expect(await orders.groupBy('id').agg({ amount: 'max' }).orderBy('id').first()).toEqual({
      id: 1,
      'max(amount)': 5.5,
    });
  });

  it('joins with every join type', async () => {
    const ids = async (how: Parameters<DataFrame['join']>[2]) =>
      (await people.join(orders, 'id', how).select('id').distinct().orderBy('id').collect()).map(
        (r) => r['id'],
      );
    expect(await ids('inner')).toEqual([1, 2]);
    expect(await ids('left')).toEqual([1, 2, 3, 4]);
    expect(await ids('right')).toEqual([1, 2, 9]);
    expect(await ids('full')).toEqual([1, 2, 3, 4, 9]);
    expect(await ids('left_semi')).toEqual([1, 2]);
    expect(await ids('anti')).toEqual([3, 4]);
    const cond = people.join(orders, people.col('id').eq(orders.col('id')), 'inner');
    expect(await cond.count()).toBe(3);
    expect((await cond.columns()).filter((c) => c === 'id')).toHaveLength(2);
    const selected = await cond.select(people.col('name'), orders.col('oid')).orderBy('oid').collect();
    expect(selected[0]).toEqual({ name: 'ann', oid: 10 });
    expect(await people.crossJoin(orders).count()).toBe(16);
    expect(await people.join(orders, undefined, 'cross').count()).toBe(16);
  });

  it('orders, limits, offsets, dedups and sets', async () => {
    const names = await people.orderBy(col('city').desc(), col('name').asc()).collect();
    expect(names.map((r) => r['name'])).toEqual(['bob', 'ann', 'cy', 'dee']);
    const nullsFirst = await people.sort(col('city').ascNullsFirst()).limit(1).collect();
    expect(nullsFirst[0]!['id']).toBe(4);
    expect(await people.orderBy('id').offset(3).count()).toBe(1);
    const doubled = people.union(people);
    expect(await doubled.count()).toBe(8);
    expect(await doubled.distinct().count()).toBe(4);
    expect(await doubled.dropDuplicates(['city']).count()).toBe(3);
    const reordered = people.select('name', 'id');
    expect(await people.unionByName(reordered.select('id', 'name').select('name', 'id'), true).count()).toBe(
      8,
    );
    const partial = people.select('id').unionByName(people.select('name'), true);
    expect(await partial.filter(col('id').isNull()).count()).toBe(4);
    expect(await people.select('id').intersect(orders.select('id')).count()).toBe(2);
    expect(await people.select('id').subtract(orders.select('id')).count()).toBe(2);
  });

  it('samples, splits and repartitions', async () => {
    const big = spark.range(10_000);
    const n = await big.sample(0.1, 42).count();
    expect(n).toBeGreaterThan(700);
    expect(n).toBeLessThan(1300);
    expect(await big.sample(0.1, 42).count()).toBe(n);
    const [a, b] = big.randomSplit([0.8, 0.2], 7);
    const [na, nb] = [await a!.count(), await b!.count()];
    expect(na + nb).toBe(10_000);
    expect(na).toBeGreaterThan(nb);
    const parts = await big.repartition(3).select(F.fn('spark_partition_id').alias('p')).distinct().count();
    expect(parts).toBe(3);
    const byKey = await big
      .repartition(2, col('id').mod(5))
      .select(F.fn('spark_partition_id').alias('p'))
      .distinct()
      .count();
    expect(byKey).toBeLessThanOrEqual(2);
    expect(await big.coalesce(1).select(F.fn('spark_partition_id').alias('p')).distinct().count()).toBe(1);
  });

  it('caches, unpersists and registers temp views', async () => {
    const cached = await people.filter(col('id').gt(1)).cache();
    expect((await cached.storageLevel()).useMemory).toBe(true);
    expect(await cached.count()).toBe(3);
    await cached.unpersist(true);
    expect((await cached.storageLevel()).useMemory).toBe(false);
    const view = unique('people_view');
    await people.createOrReplaceTempView(view);
    expect(
      await (await spark.sql(`SELECT count(*) AS n FROM ${view} WHERE city = 'oslo'`)).collect(),
    ).toEqual([{ n: 2 }]);
    expect(await spark.table(view).count()).toBe(4);
  });

  it('computes when/otherwise, window functions and date functions', async () => {
    const labelled = await people
      .select(
        'id',
        F.when(col('id').lt(2), 'low').when(col('id').lt(4), 'mid').otherwise('high').alias('band'),
        F.coalesce('city', F.lit('?')).alias('c'),
      )
      .orderBy('id')
      .collect();
    expect(labelled.map((r) => `${r['band']}:${r['c']}`)).toEqual([
      'low:oslo',
      'mid:rome',
      'mid:oslo',
      'high:?',
    ]);

    const w = Window.partitionBy('id').orderBy(col('amount').desc());
    const ranked = await orders
      .withColumn('rn', F.row_number().over(w))
      .withColumn('rk', F.rank().over(w))
      .withColumn('drk', F.dense_rank().over(Window.orderBy(col('day'))))
      .withColumn(
        'running',
        F.sum('amount').over(
          Window.partitionBy('id').orderBy('day').rowsBetween(Window.unboundedPreceding, Window.currentRow),
        ),
      )
      .orderBy('oid')
      .collect();
    expect(ranked.map((r) => [r['oid'], r['rn'], r['rk'], r['drk'], r['running']])).toEqual([
      [10, 1, 1, 1, 5.5],
      [11, 2, 2, 3, 10],
      [12, 1, 1, 2, 10],
      [13, 1, 1, 2, 1],
    ]);

    const dates = await orders
      .filter(col('oid').eq(10))
      .select(
        F.date_add('day', 30).alias('plus'),
        F.date_sub('day', 1).alias('minus'),
        F.datediff(F.to_date(F.lit('2024-03-01')), col('day')).alias('diff'),
        F.date_format('day', 'yyyy/MM').alias('fmt'),
        F.year('day').alias('y'),
        F.month('day').alias('m'),
        F.dayofmonth('day').alias('d'),
        F.add_months('day', 2).alias('am'),
        F.to_timestamp(F.lit('2024-01-01 10:30:00')).alias('ts'),
        F.date_trunc('month', F.to_timestamp(F.lit('2024-01-17 10:30:00'))).alias('tr'),
      )
      .collect();
    expect(dates[0]).toEqual({
      plus: new Date('2024-01-31T00:00:00Z'),
      minus: new Date('2023-12-31T00:00:00Z'),
      diff: 60,
      fmt: '2024/01',
      y: 2024,
      m: 1,
      d: 1,
      am: new Date('2024-03-01T00:00:00Z'),
      ts: new Date('2024-01-01T10:30:00Z'),
      tr: new Date('2024-01-01T00:00:00Z'),
    });
  });

  it('pivots, rolls up, fills and drops nulls, and takes hints', async () => {
    const pivoted = await orders
      .groupBy('id')
      .pivot('day', ['2024-01-01', '2024-01-02'])
      .sum('amount')
      .orderBy('id')
      .collect();
    expect(pivoted[0]).toEqual({ id: 1, '2024-01-01': 5.5, '2024-01-02': null });
    expect(await orders.rollup('id').count().count()).toBe(4);
    expect(await orders.cube('id', 'day').count().count()).toBeGreaterThan(4);
    const filled = await people.fillna('?', ['city']).filter(col('id').eq(4)).select('city').collect();
    expect(filled).toEqual([{ city: '?' }]);
    expect(await people.dropna('any').count()).toBe(2);
    expect(await people.dropna('all', ['city', 'born']).count()).toBe(4);
    const hinted = people.join(orders.hint('broadcast'), 'id');
    expect(await hinted.explain('simple', false)).toContain('Broadcast');
    expect(await people.alias('p').select('p.name').limit(1).columns()).toEqual(['name']);
  });

  it('calls any Spark function through fn()', async () => {
    const rows = await spark
      .range(1)
      .select(
        F.fn('concat_ws', lit('-'), lit('a'), lit('b')).alias('j'),
        F.fn('greatest', lit(3), lit(9), lit(4)).alias('g'),
        F.fn('array_max', F.array(lit(1), lit(7))).alias('am'),
      )
      .collect();
    expect(rows).toEqual([{ j: 'a-b', g: 9, am: 7 }]);
  });

  it('returns Arrow tables and batches; counts; reports schema, plans and text tables', async () => {
    const table = await spark.range(0, 1000, 1, 3).withColumn('f', col('id').cast('float')).toArrow();
    expect(table).toBeInstanceOf(arrow.Table);
    expect(table.numRows).toBe(1000);
    expect(String(table.schema.fields[1]!.type)).toBe('Float32');
    const empty = await spark.range(10).filter(col('id').lt(0)).toArrow();
    expect(empty.numRows).toBe(0);
    expect(empty.schema.fields.map((f) => f.name)).toEqual(['id']);

    let rows = 0;
    for await (const batch of spark.range(0, 5000, 1, 4)) rows += batch.numRows;
    expect(rows).toBe(5000);
    let viaRows = 0;
    for await (const row of spark.range(0, 300).toLocalIterator()) viaRows += Number(row['id']) >= 0 ? 1 : 0;
    expect(viaRows).toBe(300);

    expect(await people.count()).toBe(4);
    expect(await people.filter(col('id').gt(100)).isEmpty()).toBe(true);
    const schema = await people.schema();
    expect(schema.fields.map((f) => [f.name, f.dataType.kind])).toEqual([
      ['id', 'integer'],
      ['name', 'string'],
      ['city', 'string'],
      ['born', 'date'],
    ]);
    expect(await people.dtypes()).toEqual([
      ['id', 'int'],
      ['name', 'string'],
      ['city', 'string'],
      ['born', 'date'],
    ]);
    const plan = await people.filter(col('id').gt(1)).explain('extended', false);
    expect(plan).toContain('== Physical Plan ==');
    expect(plan).toContain('Filter');
    const text = await people.orderBy('id').showString(2);
    expect(text).toContain('|  1| ann|');
    expect(text).toContain('only showing top 2 rows');
    expect(await people.take(2)).toHaveLength(2);
    expect((await people.orderBy('id').first())?.['name']).toBe('ann');
    expect((await people.collect()).sort(byId)[0]).toMatchObject({ id: 1, name: 'ann' });
  });
});
