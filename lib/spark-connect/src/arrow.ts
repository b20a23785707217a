/**
 * Arrow IPC in and out: Spark's result batches to JS rows, and JS rows or Arrow tables to the
 * IPC streams a local relation carries (with the exact Arrow types Spark expects).
 */
import * as arrow from 'apache-arrow';
import { SparkConnectArgumentError } from './errors.ts';
import { type DataType, fromArrowType, type StructType, toArrowType } from './types.ts';

/** A collected row: column name → JS value. */
export type Row = Record<string, unknown>;

/** Record batches of one IPC stream (each Spark `arrow_batch.data` is a complete stream). */
export function decodeIpc(data: Uint8Array): arrow.RecordBatch[] {
  return arrow.RecordBatchReader.from(data).readAll();
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** A bigint as a number when it fits exactly, else left as a bigint. */
export function int64Value(value: bigint): number | bigint {
  return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value;
}

/** An unscaled two's-complement little-endian decimal as an exact string, e.g. `-12.50`. */
export function decimalToString(words: Uint32Array, scale: number): string {
  let unscaled = 0n;
  for (let i = words.length - 1; i >= 0; i--) unscaled = (unscaled << 32n) | BigInt(words[i]!);
  const bits = BigInt(words.length * 32);
  if (unscaled >> (bits - 1n)) unscaled -= 1n << bits;
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** Parses a decimal (string, number or bigint) into the 4 little-endian words of a Decimal128. */
export function decimalToWords(value: string | number | bigint, scale: number): Uint32Array {
  let unscaled: bigint;
  if (typeof value === 'bigint') {
    unscaled = value * 10n ** BigInt(scale);
  } else {
    const text = typeof value === 'number' ? value.toFixed(scale) : value.trim();
    const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
    if (!match) throw new SparkConnectArgumentError(`not a decimal: ${JSON.stringify(value)}`);
    const fraction = (match[3] ?? '').padEnd(scale, '0').slice(0, scale);
    unscaled = BigInt(`${match[2] || '0'}${fraction}`);
    if (match[1] === '-') unscaled = -unscaled;
  }
  const words = new Uint32Array(4);
  let rest = BigInt.asUintN(128, unscaled);
  for (let i = 0; i < 4; i++) {
    words[i] = Number(rest & 0xffffffffn);
    rest >>= 32n;
  }
  return words;
}

type Convert = (value: unknown) => unknown;
const identity: Convert = (v) => v;

/** A function turning a value read from an Arrow vector of `type` into its JS row form. */
export function valueConverter(type: arrow.DataType): Convert {
  if (arrow.DataType.isInt(type) && (type as arrow.Int).bitWidth === 64) {
    return (v) => (v === null || v === undefined ? null : int64Value(v as bigint));
  }
  if (arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type)) {
    return (v) => (v === null || v === undefined ? null : new Date(Math.trunc(v as number)));
  }
  if (arrow.DataType.isDecimal(type)) {
    const scale = (type as arrow.Decimal).scale;
    return (v) => (v === null || v === undefined ? null : decimalToString(v as Uint32Array, scale));
  }
  if (arrow.DataType.isList(type) || arrow.DataType.isFixedSizeList(type)) {
    const childType = type.children[0]!.type;
    const child = valueConverter(childType);
    const numeric =
      arrow.DataType.isFloat(childType) || (arrow.DataType.isInt(childType) && childType.bitWidth < 64);
    return (v) => {
      if (v === null || v === undefined) return null;
      const vector = v as arrow.Vector;
      if (numeric && vector.nullCount === 0) return Array.from(vector.toArray() as ArrayLike<number>);
      const out = new Array<unknown>(vector.length);
      for (let i = 0; i < vector.length; i++) out[i] = child(vector.get(i));
      return out;
    };
  }
  if (arrow.DataType.isMap(type)) {
    const entries = (type as arrow.Map_).children[0]!.type as arrow.Struct;
    const key = valueConverter(entries.children[0]!.type);
    const value = valueConverter(entries.children[1]!.type);
    return (v) => {
      if (v === null || v === undefined) return null;
      const out = new Map<unknown, unknown>();
      for (const [k, x] of v as Iterable<[unknown, unknown]>) out.set(key(k), value(x));
      return out;
    };
  }
  if (arrow.DataType.isStruct(type)) {
    const fields = (type as arrow.Struct).children.map((f) => [f.name, valueConverter(f.type)] as const);
    return (v) => {
      if (v === null || v === undefined) return null;
      const source = v as Record<string, unknown>;
      const out: Row = {};
      for (const [name, convert] of fields) out[name] = convert(source[name]);
      return out;
    };
  }
  if (arrow.DataType.isNull(type)) return () => null;
  return identity;
}

/** Appends the rows of a record batch to `out`. */
export function batchToRows(batch: arrow.RecordBatch, out: Row[] = []): Row[] {
  const columns = batch.schema.fields.map((field, i) => ({
    name: field.name,
    vector: batch.getChildAt(i)!,
    convert: valueConverter(field.type),
  }));
  for (let r = 0; r < batch.numRows; r++) {
    const row: Row = {};
    for (const c of columns) row[c.name] = c.convert(c.vector.get(r));
    out.push(row);
  }
  return out;
}

// ---------------------------------------------------------------- encoding

const toMs = (value: unknown): number => {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
    if (Number.isNaN(ms)) throw new SparkConnectArgumentError(`not a date/time: ${JSON.stringify(value)}`);
    return ms;
  }
  throw new SparkConnectArgumentError(`not a date/time: ${String(value)}`);
};

/** Microseconds since the epoch: a bigint is taken as microseconds, anything else as a date/time. */
const toMicros = (value: unknown): bigint =>
  typeof value === 'bigint' ? value : BigInt(Math.round(toMs(value) * 1000));

const toBigInt = (value: unknown): bigint => {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return BigInt(value.trim());
  throw new SparkConnectArgumentError(`not an integer: ${String(value)}`);
};

/** Puts a JS value in the form the Arrow builder of `type` expects (recursively). */
function normalize(type: DataType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'long':
      return toBigInt(value);
    case 'byte':
    case 'short':
    case 'integer':
    case 'float':
    case 'double':
      return typeof value === 'bigint' ? Number(value) : Number(value);
    case 'string':
      return String(value);
    case 'boolean':
      return Boolean(value);
    case 'binary':
      if (value instanceof Uint8Array) return value;
      if (typeof value === 'string') return new TextEncoder().encode(value);
      throw new SparkConnectArgumentError('binary values must be Uint8Array or Buffer');
    case 'date':
      return toMs(value);
    case 'timestamp':
    case 'timestamp_ntz':
      return Math.trunc(toMs(typeof value === 'bigint' ? Number(value) / 1000 : value));
    case 'decimal':
      return decimalToWords(value as string | number | bigint, type.scale);
    case 'array':
      return Array.from(value as ArrayLike<unknown>, (v) => normalize(type.elementType, v));
    case 'map': {
      const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object);
      return new Map(entries.map(([k, v]) => [normalize(type.keyType, k), normalize(type.valueType, v)]));
    }
    case 'struct': {
      const source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of type.fields) out[f.name] = normalize(f.dataType, source[f.name]);
      return out;
    }
    default:
      return value;
  }
}

function validity(values: unknown[]): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap: nullCount > 0 ? bitmap : undefined, nullCount };
}

/** Builds one column. Flat numeric and temporal columns are written straight into typed arrays. */
function buildColumn(type: DataType, values: unknown[]): arrow.Data {
  const arrowType = toArrowType(type);
  const n = values.length;
  const fixed = (
    array: ArrayLike<number | bigint> & { [i: number]: number | bigint },
    to: (v: unknown) => never,
  ) => {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v !== null && v !== undefined) array[i] = to(v);
    }
    const { bitmap, nullCount } = validity(values);
    return arrow.makeData({
      type: arrowType,
      length: n,
      nullCount,
      nullBitmap: bitmap,
      data: array,
    } as never);
  };
  switch (type.kind) {
    case 'byte':
      return fixed(new Int8Array(n), (v) => Number(v) as never);
    case 'short':
      return fixed(new Int16Array(n), (v) => Number(v) as never);
    case 'integer':
      return fixed(new Int32Array(n), (v) => Number(v) as never);
    case 'float':
      return fixed(new Float32Array(n), (v) => Number(v) as never);
    case 'double':
      return fixed(new Float64Array(n), (v) => Number(v) as never);
    case 'long':
      return fixed(new BigInt64Array(n), (v) => toBigInt(v) as never);
    case 'date':
      return fixed(new Int32Array(n), (v) => Math.floor(toMs(v) / 86_400_000) as never);
    case 'timestamp':
    case 'timestamp_ntz':
      return fixed(new BigInt64Array(n), (v) => toMicros(v) as never);
    default: {
      const builder = arrow.makeBuilder({ type: arrowType, nullValues: [null, undefined] });
      for (const v of values) builder.append(normalize(type, v));
      return builder.finish().flush();
    }
  }
}

/** Rows (objects keyed by field name, or arrays in field order) as one Arrow record batch. */
export function rowsToBatch(rows: readonly unknown[], schema: StructType): arrow.RecordBatch {
  const arrowSchema = new arrow.Schema(
    schema.fields.map((f) => new arrow.Field(f.name, toArrowType(f.dataType), f.nullable)),
  );
  const children = schema.fields.map((field, index) => {
    const values = rows.map((row) => {
      if (Array.isArray(row)) return row[index];
      if (row !== null && typeof row === 'object') return (row as Record<string, unknown>)[field.name];
      throw new SparkConnectArgumentError(`rows must be objects or arrays, got ${typeof row}`);
    });
    return buildColumn(field.dataType, values);
  });
  const data = arrow.makeData({
    type: new arrow.Struct(arrowSchema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(arrowSchema, data);
}

/** Re-types an Arrow batch to the Arrow types Spark expects for `schema`, copying only mismatching columns. */
export function conformBatch(batch: arrow.RecordBatch, schema: StructType): arrow.RecordBatch {
  if (batch.numCols !== schema.fields.length) {
    throw new SparkConnectArgumentError(
      `the Arrow table has ${batch.numCols} columns but the schema has ${schema.fields.length}`,
    );
  }
  const fields: arrow.Field[] = [];
  const children: arrow.Data[] = [];
  schema.fields.forEach((field, i) => {
    const target = toArrowType(field.dataType);
    const vector = batch.getChildAt(i)!;
    fields.push(new arrow.Field(field.name, target, field.nullable));
    if (arrow.util.compareTypes(vector.type, target)) {
      children.push(vector.data[0]!);
    } else {
      const convert = valueConverter(vector.type);
      const values = new Array<unknown>(vector.length);
      for (let r = 0; r < vector.length; r++) values[r] = convert(vector.get(r));
      children.push(buildColumn(field.dataType, values));
    }
  });
  const arrowSchema = new arrow.Schema(fields);
  const data = arrow.makeData({
    type: new arrow.Struct(fields),
    length: batch.numRows,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(arrowSchema, data);
}

/** The Spark schema of an Arrow schema. */
export function sparkSchemaOfArrow(schema: arrow.Schema): StructType {
  return {
    kind: 'struct',
    fields: schema.fields.map((f) => ({
      name: f.name,
      dataType: fromArrowType(f.type),
      nullable: f.nullable,
    })),
  };
}

/** Record batches as one IPC stream. */
export function encodeIpc(batches: arrow.RecordBatch[]): Uint8Array {
  const first = batches[0];
  if (!first) throw new SparkConnectArgumentError('nothing to encode');
  return arrow.tableToIPC(new arrow.Table(first.schema, batches), 'stream');
}
