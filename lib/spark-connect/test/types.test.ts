import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  arrayType,
  DateType,
  decimalType,
  FloatType,
  fromArrowType,
  fromProtoType,
  IntegerType,
  LongType,
  mapType,
  StringType,
  structField,
  structType,
  TimestampType,
  toArrowType,
  toDDL,
  toDDLColumns,
} from '../index.ts';
import { toJsonType, toProtoType } from '../src/types.ts';

const schema = structType([
  structField('id', LongType, false),
  structField('v', arrayType(FloatType, false)),
  structField('price', decimalType(10, 2)),
  structField('tags', mapType(StringType, IntegerType)),
  structField('when', TimestampType),
  structField('day', DateType),
  structField('odd name', structType([structField('x', IntegerType)])),
]);

describe('Spark types', () => {
  it('spell DDL as Spark does', () => {
    expect(toDDL(schema)).toBe(
      'struct<id:bigint,v:array<float>,price:decimal(10,2),tags:map<string,int>,when:timestamp,day:date,`odd name`:struct<x:int>>',
    );
    expect(toDDLColumns(structType([structField('a', LongType, false), structField('b', StringType)]))).toBe(
      'a bigint NOT NULL, b string',
    );
  });

  it('write Spark JSON schemas', () => {
    expect(toJsonType(schema)).toMatchObject({
      type: 'struct',
      fields: [
        { name: 'id', type: 'long', nullable: false, metadata: {} },
        { name: 'v', type: { type: 'array', elementType: 'float', containsNull: false } },
        { name: 'price', type: 'decimal(10,2)' },
        { name: 'tags', type: { type: 'map', keyType: 'string', valueType: 'integer' } },
        { name: 'when', type: 'timestamp' },
        { name: 'day', type: 'date' },
        { name: 'odd name', type: { type: 'struct' } },
      ],
    });
  });

  it('round-trip through the protocol and Arrow', () => {
    expect(fromProtoType(toProtoType(schema))).toEqual(schema);
    expect(fromArrowType(toArrowType(schema))).toEqual(schema);
    expect(String(toArrowType(FloatType))).toBe('Float32');
    expect(fromArrowType(new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()))).toEqual(StringType);
  });
});
