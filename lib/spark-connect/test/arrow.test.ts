import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  batchToRows,
  conformBatch,
  decimalToString,
  decimalToWords,
  decodeIpc,
  encodeIpc,
  int64Value,
  rowsToBatch,
} from '../src/arrow.ts';
import {
  arrayType,
  BinaryType,
  BooleanType,
  DateType,
  DoubleType,
  decimalType,
  FloatType,
  IntegerType,
  LongType,
  mapType,
  StringType,
  structField,
  structType,
  TimestampType,
} from '../src/types.ts';

describe('decimals', () => {
  it('round-trips through Decimal128 words, negatives and scale included', () => {
    for (const [value, scale, text] of [
      ['12.34', 2, '12.34'],
      ['-0.05', 2, '-0.05'],
      ['7', 3, '7.000'],
      ['-99999999999999999999999999999999999999', 0, '-99999999999999999999999999999999999999'],
      [1.5, 1, '1.5'],
      [42n, 2, '42.00'],
    ] as const) {
      expect(decimalToString(decimalToWords(value, scale), scale)).toBe(text);
    }
    expect(() => decimalToWords('abc', 2)).toThrow(/not a decimal/);
  });
});

describe('int64Value', () => {
  it('gives numbers while exact and bigints beyond 2^53', () => {
    expect(int64Value(5n)).toBe(5);
    expect(int64Value(-(2n ** 53n) + 1n)).toBe(-(2 ** 53) + 1);
    expect(int64Value(2n ** 53n)).toBe(2n ** 53n);
  });
});

describe('rows ↔ Arrow', () => {
  const schema = structType([
    structField('i', IntegerType),
    structField('l', LongType),
    structField('f', FloatType),
    structField('d', DoubleType),
    structField('s', StringType),
    structField('b', BooleanType),
    structField('dt', DateType),
    structField('ts', TimestampType),
    structField('bin', BinaryType),
    structField('dec', decimalType(12, 3)),
    structField('arr', arrayType(FloatType)),
    structField('m', mapType(StringType, LongType)),
    structField('st', structType([structField('x', IntegerType), structField('y', StringType)])),
  ]);

  it('encodes with Spark types and decodes to the documented JS values', () => {
    const rows = [
      {
        i: 1,
        l: 2n ** 60n,
        f: 0.1,
        d: 0.1,
        s: 'ü',
        b: true,
        dt: '2024-02-29',
        ts: 1_700_000_000_000_123n,
        bin: new Uint8Array([9]),
        dec: '-1.5',
        arr: [1, 2.5],
        m: new Map([['a', 1]]),
        st: { x: 3, y: 'z' },
      },
      {
        i: null,
        l: null,
        f: null,
        d: null,
        s: null,
        b: null,
        dt: null,
        ts: null,
        bin: null,
        dec: null,
        arr: null,
        m: null,
        st: null,
      },
    ];
    const batch = rowsToBatch(rows, schema);
    expect(batch.schema.fields.map((f) => String(f.type))).toEqual([
      'Int32',
      'Int64',
      'Float32',
      'Float64',
      'Utf8',
      'Bool',
      'Date32<DAY>',
      'Timestamp<MICROSECOND, UTC>',
      'Binary',
      'Decimal[12e+3]',
      'List<Float32>',
      'Map<{key:Utf8, value:Int64}>',
      'Struct<{x:Int32, y:Utf8}>',
    ]);
    expect((batch.getChild('ts')!.data[0]!.values as BigInt64Array)[0]).toBe(1_700_000_000_000_123n);
    const [back] = decodeIpc(encodeIpc([batch]));
    const decoded = batchToRows(back!);
    expect(decoded[0]).toEqual({
      i: 1,
      l: 2n ** 60n,
      f: Math.fround(0.1),
      d: 0.1,
      s: 'ü',
      b: true,
      dt: new Date('2024-02-29T00:00:00Z'),
      ts: new Date(1_700_000_000_000),
      bin: new Uint8Array([9]),
      dec: '-1.500',
      arr: [1, 2.5],
      m: new Map([['a', 1]]),
      st: { x: 3, y: 'z' },
    });
    expect(Object.values(decoded[1]!).every((v) => v === null)).toBe(true);
  });

  it('accepts rows as arrays in schema order and rejects bad values', () => {
    const small = structType([structField('a', LongType), structField('b', StringType)]);
    expect(batchToRows(rowsToBatch([[1, 'x']], small))).toEqual([{ a: 1, b: 'x' }]);
    expect(() => rowsToBatch([{ a: 1.5, b: 'x' }], small)).toThrow(/not an integer/);
    expect(() => rowsToBatch(['nope'], small)).toThrow(/objects or arrays/);
  });

  it('re-types dictionary strings and float64 columns to the target schema', () => {
    const table = arrow.tableFromArrays({ s: ['a', 'b', 'a'], x: new Float64Array([1.5, 2.5, 3.5]) });
    const target = structType([structField('s', StringType), structField('x', FloatType)]);
    const conformed = conformBatch(table.batches[0]!, target);
    expect(conformed.schema.fields.map((f) => String(f.type))).toEqual(['Utf8', 'Float32']);
    expect(batchToRows(conformed)).toEqual([
      { s: 'a', x: 1.5 },
      { s: 'b', x: 2.5 },
      { s: 'a', x: 3.5 },
    ]);
    expect(() => conformBatch(table.batches[0]!, structType([structField('s', StringType)]))).toThrow(
      /columns/,
    );
  });
});
