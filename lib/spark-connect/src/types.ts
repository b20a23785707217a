/**
 * Spark SQL data types on the client: a small discriminated union with PySpark-like
 * constructors, and conversions to the protocol, Spark's JSON schema, DDL strings and Arrow.
 */
import * as arrow from 'apache-arrow';
import type { DataTypeProto } from './proto-types.ts';

export type AtomicKind =
  | 'null'
  | 'boolean'
  | 'byte'
  | 'short'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'string'
  | 'binary'
  | 'date'
  | 'timestamp'
  | 'timestamp_ntz';

export interface AtomicType {
  kind: AtomicKind;
}
export interface DecimalType {
  kind: 'decimal';
  precision: number;
  scale: number;
}
export interface ArrayType {
  kind: 'array';
  elementType: DataType;
  containsNull: boolean;
}
export interface MapType {
  kind: 'map';
  keyType: DataType;
  valueType: DataType;
  valueContainsNull: boolean;
}
export interface StructField {
  name: string;
  dataType: DataType;
  nullable: boolean;
  metadata?: Record<string, unknown>;
}
export interface StructType {
  kind: 'struct';
  fields: StructField[];
}
/** A type this client passes through without interpreting (intervals, variant, UDTs...). */
export interface OtherType {
  kind: 'other';
  name: string;
}

export type DataType = AtomicType | DecimalType | ArrayType | MapType | StructType | OtherType;

const atomic = (kind: AtomicKind): AtomicType => Object.freeze({ kind });

export const NullType = atomic('null');
export const BooleanType = atomic('boolean');
export const ByteType = atomic('byte');
export const ShortType = atomic('short');
export const IntegerType = atomic('integer');
export const LongType = atomic('long');
export const FloatType = atomic('float');
export const DoubleType = atomic('double');
export const StringType = atomic('string');
export const BinaryType = atomic('binary');
export const DateType = atomic('date');
export const TimestampType = atomic('timestamp');
export const TimestampNTZType = atomic('timestamp_ntz');

export function decimalType(precision = 10, scale = 0): DecimalType {
  return { kind: 'decimal', precision, scale };
}
export function arrayType(elementType: DataType, containsNull = true): ArrayType {
  return { kind: 'array', elementType, containsNull };
}
export function mapType(keyType: DataType, valueType: DataType, valueContainsNull = true): MapType {
  return { kind: 'map', keyType, valueType, valueContainsNull };
}
export function structField(name: string, dataType: DataType, nullable = true): StructField {
  return { name, dataType, nullable };
}
export function structType(fields: StructField[]): StructType {
  return { kind: 'struct', fields };
}

export function fromProtoType(proto: DataTypeProto | undefined): DataType {
  if (!proto) return NullType;
  if (proto.null) return NullType;
  if (proto.boolean) return BooleanType;
  if (proto.byte) return ByteType;
  if (proto.short) return ShortType;
  if (proto.integer) return IntegerType;
  if (proto.long) return LongType;
  if (proto.float) return FloatType;
  if (proto.double) return DoubleType;
  if (proto.string || proto.char || proto.varChar) return StringType;
  if (proto.binary) return BinaryType;
  if (proto.date) return DateType;
  if (proto.timestamp) return TimestampType;
  if (proto.timestampNtz) return TimestampNTZType;
  if (proto.decimal) return decimalType(proto.decimal.precision ?? 10, proto.decimal.scale ?? 0);
  if (proto.array)
    return arrayType(fromProtoType(proto.array.elementType), proto.array.containsNull ?? false);
  if (proto.map) {
    return mapType(
      fromProtoType(proto.map.keyType),
      fromProtoType(proto.map.valueType),
      proto.map.valueContainsNull ?? false,
    );
  }
  if (proto.struct) {
    return structType(
      (proto.struct.fields ?? []).map((f) => ({
        name: f.name ?? '',
        dataType: fromProtoType(f.dataType),
        nullable: f.nullable ?? false,
        ...(f.metadata ? { metadata: JSON.parse(f.metadata) as Record<string, unknown> } : {}),
      })),
    );
  }
  if (proto.udt?.sqlType) return fromProtoType(proto.udt.sqlType);
  if (proto.unparsed?.dataTypeString) return { kind: 'other', name: proto.unparsed.dataTypeString };
  const [name] = Object.keys(proto);
  return { kind: 'other', name: name ?? 'unknown' };
}

export function toProtoType(type: DataType): DataTypeProto {
  switch (type.kind) {
    case 'null':
      return { null: {} };
    case 'timestamp_ntz':
      return { timestampNtz: {} };
    case 'decimal':
      return { decimal: { precision: type.precision, scale: type.scale } };
    case 'array':
      return { array: { elementType: toProtoType(type.elementType), containsNull: type.containsNull } };
    case 'map':
      return {
        map: {
          keyType: toProtoType(type.keyType),
          valueType: toProtoType(type.valueType),
          valueContainsNull: type.valueContainsNull,
        },
      };
    case 'struct':
      return {
        struct: {
          fields: type.fields.map((f) => ({
            name: f.name,
            dataType: toProtoType(f.dataType),
            nullable: f.nullable,
            ...(f.metadata ? { metadata: JSON.stringify(f.metadata) } : {}),
          })),
        },
      };
    case 'other':
      return { unparsed: { dataTypeString: type.name } };
    default:
      return { [type.kind]: {} } as DataTypeProto;
  }
}

/** Spark's DDL spelling: `bigint`, `array<float>`, `struct<a:int,b:string>`, `decimal(10,2)`. */
export function toDDL(type: DataType): string {
  switch (type.kind) {
    case 'null':
      return 'void';
    case 'byte':
      return 'tinyint';
    case 'short':
      return 'smallint';
    case 'integer':
      return 'int';
    case 'long':
      return 'bigint';
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${toDDL(type.elementType)}>`;
    case 'map':
      return `map<${toDDL(type.keyType)},${toDDL(type.valueType)}>`;
    case 'struct':
      return `struct<${type.fields.map((f) => `${quoteIdent(f.name)}:${toDDL(f.dataType)}`).join(',')}>`;
    case 'other':
      return type.name;
    default:
      return type.kind;
  }
}

/** A struct as a column list: `a INT, b ARRAY<FLOAT>` (what `read.schema()` and DDL take). */
export function toDDLColumns(schema: StructType): string {
  return schema.fields
    .map((f) => `${quoteIdent(f.name)} ${toDDL(f.dataType)}${f.nullable ? '' : ' NOT NULL'}`)
    .join(', ');
}

export function quoteIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replace(/`/g, '``')}\``;
}

type JsonType = string | Record<string, unknown>;

/** Spark's JSON schema form (what `DataType.fromJson` on the server reads). */
export function toJsonType(type: DataType): JsonType {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return { type: 'array', elementType: toJsonType(type.elementType), containsNull: type.containsNull };
    case 'map':
      return {
        type: 'map',
        keyType: toJsonType(type.keyType),
        valueType: toJsonType(type.valueType),
        valueContainsNull: type.valueContainsNull,
      };
    case 'struct':
      return {
        type: 'struct',
        fields: type.fields.map((f) => ({
          name: f.name,
          type: toJsonType(f.dataType),
          nullable: f.nullable,
          metadata: f.metadata ?? {},
        })),
      };
    case 'other':
      return type.name;
    default:
      return type.kind;
  }
}

/**
 * The Arrow type Spark expects for a Spark type: signed ints, Float32 for float, Utf8 (never
 * dictionary-encoded), Date(DAY), Timestamp(MICROSECOND, UTC), Decimal128, List, Struct, Map.
 */
export function toArrowType(type: DataType): arrow.DataType {
  switch (type.kind) {
    case 'null':
      return new arrow.Null();
    case 'boolean':
      return new arrow.Bool();
    case 'byte':
      return new arrow.Int8();
    case 'short':
      return new arrow.Int16();
    case 'integer':
      return new arrow.Int32();
    case 'long':
      return new arrow.Int64();
    case 'float':
      return new arrow.Float32();
    case 'double':
      return new arrow.Float64();
    case 'string':
      return new arrow.Utf8();
    case 'binary':
      return new arrow.Binary();
    case 'date':
      return new arrow.DateDay();
    case 'timestamp':
      return new arrow.TimestampMicrosecond('UTC');
    case 'timestamp_ntz':
      return new arrow.TimestampMicrosecond();
    case 'decimal':
      return new arrow.Decimal(type.scale, type.precision, 128);
    case 'array':
      return new arrow.List(new arrow.Field('element', toArrowType(type.elementType), type.containsNull));
    case 'map':
      return new arrow.Map_(
        new arrow.Field(
          'entries',
          new arrow.Struct([
            new arrow.Field('key', toArrowType(type.keyType), false),
            new arrow.Field('value', toArrowType(type.valueType), type.valueContainsNull),
          ] as arrow.Field[]) as never,
          false,
        ),
      );
    case 'struct':
      return new arrow.Struct(
        type.fields.map((f) => new arrow.Field(f.name, toArrowType(f.dataType), f.nullable)),
      );
    case 'other':
      throw new TypeError(`no Arrow mapping for Spark type ${type.name}`);
  }
}

/** The Spark type for an Arrow type (used when uploading an Arrow table without a schema). */
export function fromArrowType(type: arrow.DataType): DataType {
  if (arrow.DataType.isNull(type)) return NullType;
  if (arrow.DataType.isBool(type)) return BooleanType;
  if (arrow.DataType.isInt(type)) {
    const bits = (type as arrow.Int).bitWidth;
    return bits === 8 ? ByteType : bits === 16 ? ShortType : bits === 32 ? IntegerType : LongType;
  }
  if (arrow.DataType.isFloat(type)) {
    return (type as arrow.Float).precision === arrow.Precision.SINGLE ? FloatType : DoubleType;
  }
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type)) return StringType;
  if (arrow.DataType.isDictionary(type)) return fromArrowType((type as arrow.Dictionary).dictionary);
  if (arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type)) return BinaryType;
  if (arrow.DataType.isDate(type)) return DateType;
  if (arrow.DataType.isTimestamp(type)) {
    return (type as arrow.Timestamp).timezone ? TimestampType : TimestampNTZType;
  }
  if (arrow.DataType.isDecimal(type)) {
    const d = type as arrow.Decimal;
    return decimalType(d.precision, d.scale);
  }
  if (arrow.DataType.isList(type)) {
    const child = (type as arrow.List).children[0]!;
    return arrayType(fromArrowType(child.type), child.nullable);
  }
  if (arrow.DataType.isMap(type)) {
    const entries = (type as arrow.Map_).children[0]!.type as arrow.Struct;
    const [key, value] = entries.children;
    return mapType(fromArrowType(key!.type), fromArrowType(value!.type), value!.nullable);
  }
  if (arrow.DataType.isStruct(type)) {
    return structType(
      (type as arrow.Struct).children.map((f) => structField(f.name, fromArrowType(f.type), f.nullable)),
    );
  }
  throw new TypeError(`no Spark type for Arrow type ${String(type)}`);
}
