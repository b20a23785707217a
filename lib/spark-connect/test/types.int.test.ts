import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arrayType,
  col,
  DoubleType,
  functions as F,
  FloatType,
  IntegerType,
  LongType,
  type SparkSession,
  StringType,
  structField,
  structType,
} from '../index.ts';
import { openSession } from './helpers.ts';

describe('createDataFrame → collect round trip', () => {
  let spark: SparkSession;
  beforeAll(() => {
    spark = openSession();
  });
  afterAll(async () => {
    await spark.stop();
  });

  const cases: { type: string; values: unknown[]; expected?: unknown[] }[] = [
    { type: 'TINYINT', values: [-128, 127, 0] },
    { type: 'SMALLINT', values: [-32768, 32767] },
    { type: 'INT', values: [-(2 ** 31), 2 ** 31 - 1, 0] },
    { type: 'BIGINT', values: [2 ** 53 - 1, -(2 ** 53 - 1), 0], expected: [2 ** 53 - 1, -(2 ** 53 - 1), 0] },
    { type: 'BIGINT', values: [2n ** 62n, -(2n ** 63n), 9007199254740993n] },
    { type: 'FLOAT', values: [1.5, -0.25, 3.4028234663852886e38] },
    { type: 'DOUBLE', values: [Math.PI, -1e-300, 1.7976931348623157e308] },
    { type: 'DECIMAL(10,2)', values: ['12.34', '-0.05', '99999999.99'] },
    { type: 'DECIMAL(38,10)', values: ['1234567890123456789012345678.0123456789', '-1.0000000001'] },
    { type: 'DECIMAL(5,0)', values: [12345n, 7], expected: ['12345', '7'] },
    { type: 'STRING', values: ['', 'héllo wörld', '日本語', 'a'.repeat(10_000)] },
    { type: 'BOOLEAN', values: [true, false] },
    {
      type: 'DATE',
      values: ['2024-02-29', new Date('1970-01-01T00:00:00Z'), '1900-03-01'],
      expected: [
        new Date('2024-02-29T00:00:00Z'),
        new Date('1970-01-01T00:00:00Z'),
        new Date('1900-03-01T00:00:00Z'),
      ],
    },
    {
      type: 'TIMESTAMP',
      values: [
        new Date('2024-01-02T03:04:05.678Z'),
        '1999-12-31T23:59:59Z',
        1_700_000_000_000n * 1000n + 123n,
      ],
      expected: [
        new Date('2024-01-02T03:04:05.678Z'),
        new Date('1999-12-31T23:59:59Z'),
        new Date(1_700_000_000_000),
      ],
    },
    { type: 'BINARY', values: [new Uint8Array([0, 1, 255]), new Uint8Array([])] },
    { type: 'ARRAY<FLOAT>', values: [[0.5, -1.25, 3], [], [1, null]] },
    { type: 'ARRAY<BIGINT>', values: [[1, 2n ** 60n], []], expected: [[1, 2n ** 60n], []] },
    { type: 'ARRAY<STRING>', values: [['a', null, 'c']] },
    {
      type: 'STRUCT<a: INT, b: STRING, c: ARRAY<DOUBLE>>',
      values: [
        { a: 1, b: 'x', c: [1.5] },
        { a: null, b: null, c: null },
      ],
    },
    {
      type: 'MAP<STRING, INT>',
      values: [
        new Map([
          ['k', 1],
          ['j', 2],
        ]),
      ],
    },
  ];

  for (const { type, values, expected } of cases) {
    it(`round-trips ${type} (with nulls)`, async () => {
      const rows = [...values, null].map((v, i) => ({ i, v }));
      const df = await spark.createDataFrame(rows, `i INT, v ${type}`);
      const back = (await df.orderBy('i').collect()).map((r) => r['v']);
      expect(back).toEqual([...(expected ?? values), null]);
    });
  }

  it('keeps microsecond timestamps exact through Arrow', async () => {
    const micros = 1_700_000_000_123_456n;
    const df = await spark.createDataFrame([{ ts: micros }], 'ts TIMESTAMP');
    const table = await df.select(F.fn('unix_micros', col('ts')).alias('us')).toArrow();
    expect(table.getChild('us')!.get(0)).toBe(micros);
  });

  it('sends explicit Arrow types: float32 for float, plain utf8, microsecond timestamps', async () => {
    const schema = structType([
      structField('id', LongType, false),
      structField('v', arrayType(FloatType, false)),
      structField('s', StringType),
      structField('d', DoubleType),
      structField('n', IntegerType),
    ]);
    const df = await spark.createDataFrame([{ id: 1, v: [0.1, 0.2], s: 'x', d: 0.1, n: 5 }], schema);
    const server = await df.schema();
    expect(server.fields.map((f) => `${f.name}:${f.dataType.kind}`)).toEqual([
      'id:long',
      'v:array',
      's:string',
      'd:double',
      'n:integer',
    ]);
    expect(server.fields[0]!.nullable).toBe(false);
    const [row] = await df.collect();
    // 0.1 went up as float32: it comes back as the float32 value, not 0.1.
    expect(row!['v']).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(row!['d']).toBe(0.1);
    const types = await df.selectExpr('typeof(v) AS tv').collect();
    expect(types).toEqual([{ tv: 'array<float>' }]);
  });

  it('uploads Arrow tables, re-typing dictionary strings and float64 to the schema', async () => {
    const table = arrow.tableFromArrays({
      id: new Int32Array([1, 2, 3]),
      name: ['a', 'b', 'a'], // dictionary-encoded by apache-arrow
      score: new Float64Array([0.5, 1.5, 2.5]),
    });
    expect(arrow.DataType.isDictionary(table.schema.fields[1]!.type)).toBe(true);
    const inferred = await spark.createDataFrame(table);
    expect(await inferred.dtypes()).toEqual([
      ['id', 'int'],
      ['name', 'string'],
      ['score', 'double'],
    ]);
    const typed = await spark.createDataFrame(table, 'id BIGINT, name STRING, score FLOAT');
    expect(await typed.dtypes()).toEqual([
      ['id', 'bigint'],
      ['name', 'string'],
      ['score', 'float'],
    ]);
    expect(await typed.orderBy('id').collect()).toEqual([
      { id: 1, name: 'a', score: 0.5 },
      { id: 2, name: 'b', score: 1.5 },
      { id: 3, name: 'a', score: 2.5 },
    ]);
  });

  it('uploads several record batches (one local relation each) without losing rows', async () => {
    const many = arrow.tableFromArrays({ id: new Int32Array([1, 2]) });
    const more = arrow.tableFromArrays({ id: new Int32Array([3, 4, 5]) });
    const table = new arrow.Table([...many.batches, ...more.batches]);
    expect(table.batches.length).toBe(2);
    const df = await spark.createDataFrame(table);
    expect((await df.orderBy('id').collect()).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5]);
  });

  it('accepts rows as arrays in column order and empty uploads', async () => {
    const df = await spark.createDataFrame(
      [
        [1, 'a'],
        [2, 'b'],
      ],
      'k INT, v STRING',
    );
    expect(await df.orderBy('k').collect()).toEqual([
      { k: 1, v: 'a' },
      { k: 2, v: 'b' },
    ]);
    const empty = await spark.createDataFrame([], 'k INT, v STRING');
    expect(await empty.count()).toBe(0);
    expect(await empty.columns()).toEqual(['k', 'v']);
  });

  it('splits large uploads into cached chunks and reassembles them in order', async () => {
    const chunked = openSession({ upload: { chunkBytes: 256 * 1024 } });
    try {
      const n = 60_000;
      const rows = Array.from({ length: n }, (_, i) => ({ id: i, v: [i, i + 0.5, -i] }));
      const df = await chunked.createDataFrame(rows, 'id BIGINT, v ARRAY<FLOAT>');
      // Enough data for several chunks: the plan is a union of cached relations, not inline data.
      expect(JSON.stringify(df.relation).match(/cachedLocalRelation/g)?.length).toBeGreaterThan(3);
      const stats = await df
        .agg(F.count().alias('n'), F.sum('id').alias('s'), F.sum(F.element_at('v', 2)).alias('v2'))
        .collect();
      expect(stats).toEqual([{ n, s: (n * (n - 1)) / 2, v2: (n * (n - 1)) / 2 + n * 0.5 }]);
      // Re-uploading the same data reuses the cached artifacts.
      const again = await chunked.createDataFrame(rows, 'id BIGINT, v ARRAY<FLOAT>');
      expect(await again.count()).toBe(n);
    } finally {
      await chunked.stop();
    }
  });
});
