/**
 * `Column`: an immutable expression builder, like PySpark's Column. Operators are methods
 * (`col('a').plus(1).gt(col('b'))`); plain JS values become literals.
 */
import { SparkConnectArgumentError } from './errors.ts';
import type { DataTypeProto, ExpressionProto, LiteralProto, SortOrderProto } from './proto-types.ts';
import { type DataType, toDDL, toProtoType } from './types.ts';
import type { WindowSpec } from './window.ts';

/** Anything usable where a value is expected: a Column or a JS literal. */
export type ColumnOrValue =
  | Column
  | string
  | number
  | bigint
  | boolean
  | Date
  | Uint8Array
  | null
  | unknown[];
/** A Column, or a column name. */
export type ColumnOrName = Column | string;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function literalTypeOf(value: unknown): DataTypeProto {
  if (typeof value === 'string') return { string: {} };
  if (typeof value === 'boolean') return { boolean: {} };
  if (typeof value === 'bigint') return { long: {} };
  if (typeof value === 'number') {
    if (Number.isInteger(value))
      return value >= INT32_MIN && value <= INT32_MAX ? { integer: {} } : { long: {} };
    return { double: {} };
  }
  if (value instanceof Date) return { timestamp: {} };
  if (value instanceof Uint8Array) return { binary: {} };
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null && v !== undefined);
    return {
      array: { elementType: first === undefined ? { null: {} } : literalTypeOf(first), containsNull: true },
    };
  }
  return { null: {} };
}

/** A JS value as a Spark literal: int when it fits in 32 bits, long beyond, double for fractions. */
export function toLiteral(value: unknown): LiteralProto {
  if (value === null || value === undefined) return { null: { null: {} } };
  if (typeof value === 'string') return { string: value };
  if (typeof value === 'boolean') return { boolean: value };
  if (typeof value === 'bigint') return { long: value.toString() };
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      return value >= INT32_MIN && value <= INT32_MAX ? { integer: value } : { long: String(value) };
    }
    return { double: value };
  }
  if (value instanceof Date) return { timestamp: String(BigInt(value.getTime()) * 1000n) };
  if (value instanceof Uint8Array) return { binary: value };
  if (Array.isArray(value)) {
    const type = literalTypeOf(value);
    return { array: { elementType: type.array!.elementType!, elements: value.map(toLiteral) } };
  }
  throw new SparkConnectArgumentError(`cannot make a Spark literal from ${typeof value}`);
}

export class Column {
  /** The protocol expression this column stands for. */
  readonly expr: ExpressionProto;

  constructor(expr: ExpressionProto) {
    this.expr = expr;
  }

  // ----- naming and types
  alias(...names: string[]): Column {
    return new Column({ alias: { expr: this.expr, name: names } });
  }
  as(name: string): Column {
    return this.alias(name);
  }
  name(name: string): Column {
    return this.alias(name);
  }
  /** Casts to a type given as DDL (`'bigint'`, `'array<float>'`) or as a DataType. */
  cast(type: string | DataType): Column {
    return new Column({
      cast:
        typeof type === 'string'
          ? { expr: this.expr, typeStr: type }
          : { expr: this.expr, type: toProtoType(type) },
    });
  }
  astype(type: string | DataType): Column {
    return this.cast(type);
  }

  // ----- arithmetic
  plus(other: ColumnOrValue): Column {
    return call('+', this, lit(other));
  }
  minus(other: ColumnOrValue): Column {
    return call('-', this, lit(other));
  }
  multiply(other: ColumnOrValue): Column {
    return call('*', this, lit(other));
  }
  divide(other: ColumnOrValue): Column {
    return call('/', this, lit(other));
  }
  mod(other: ColumnOrValue): Column {
    return call('%', this, lit(other));
  }
  negate(): Column {
    return call('negative', this);
  }

  // ----- comparisons
  eq(other: ColumnOrValue): Column {
    return call('==', this, lit(other));
  }
  /** Not equal (SQL `!=`); null when either side is null. */
  neq(other: ColumnOrValue): Column {
    return call('not', call('==', this, lit(other)));
  }
  /** Null-safe equality (SQL `<=>`). */
  eqNullSafe(other: ColumnOrValue): Column {
    return call('<=>', this, lit(other));
  }
  lt(other: ColumnOrValue): Column {
    return call('<', this, lit(other));
  }
  leq(other: ColumnOrValue): Column {
    return call('<=', this, lit(other));
  }
  gt(other: ColumnOrValue): Column {
    return call('>', this, lit(other));
  }
  geq(other: ColumnOrValue): Column {
    return call('>=', this, lit(other));
  }
  between(lower: ColumnOrValue, upper: ColumnOrValue): Column {
    return this.geq(lower).and(this.leq(upper));
  }

  // ----- boolean logic
  and(other: ColumnOrValue): Column {
    return call('and', this, lit(other));
  }
  or(other: ColumnOrValue): Column {
    return call('or', this, lit(other));
  }
  not(): Column {
    return call('not', this);
  }

  // ----- nulls and membership
  isNull(): Column {
    return call('isnull', this);
  }
  isNotNull(): Column {
    return call('isnotnull', this);
  }
  isNaN(): Column {
    return call('isnan', this);
  }
  isin(...values: (ColumnOrValue | ColumnOrValue[])[]): Column {
    const flat = values.length === 1 && Array.isArray(values[0]) ? (values[0] as ColumnOrValue[]) : values;
    return call('in', this, ...flat.map((v) => lit(v as ColumnOrValue)));
  }

  // ----- strings
  like(pattern: string): Column {
    return call('like', this, lit(pattern));
  }
  ilike(pattern: string): Column {
    return call('ilike', this, lit(pattern));
  }
  rlike(pattern: string): Column {
    return call('rlike', this, lit(pattern));
  }
  startsWith(prefix: ColumnOrValue): Column {
    return call('startswith', this, lit(prefix));
  }
  endsWith(suffix: ColumnOrValue): Column {
    return call('endswith', this, lit(suffix));
  }
  contains(other: ColumnOrValue): Column {
    return call('contains', this, lit(other));
  }
  substr(start: number | Column, length: number | Column): Column {
    return call('substr', this, lit(start), lit(length));
  }

  // ----- nested values
  /** Element of an array (0-based) or value of a map key. */
  getItem(key: ColumnOrValue): Column {
    return new Column({ unresolvedExtractValue: { child: this.expr, extraction: lit(key).expr } });
  }
  getField(name: string): Column {
    return new Column({ unresolvedExtractValue: { child: this.expr, extraction: lit(name).expr } });
  }

  // ----- conditionals: `when(cond, a).when(cond2, b).otherwise(c)`
  when(condition: Column, value: ColumnOrValue): Column {
    const fn = this.expr.unresolvedFunction;
    if (fn?.functionName !== 'when' || (fn.arguments?.length ?? 0) % 2 !== 0) {
      throw new SparkConnectArgumentError('when() can only follow when(); start with the when() function');
    }
    return new Column({
      unresolvedFunction: {
        functionName: 'when',
        arguments: [...(fn.arguments ?? []), condition.expr, lit(value).expr],
      },
    });
  }
  otherwise(value: ColumnOrValue): Column {
    const fn = this.expr.unresolvedFunction;
    if (fn?.functionName !== 'when' || (fn.arguments?.length ?? 0) % 2 !== 0) {
      throw new SparkConnectArgumentError('otherwise() can only follow when() and only once');
    }
    return new Column({
      unresolvedFunction: { functionName: 'when', arguments: [...(fn.arguments ?? []), lit(value).expr] },
    });
  }

  // ----- sorting
  asc(): Column {
    return this.sorted('SORT_DIRECTION_ASCENDING', 'SORT_NULLS_FIRST');
  }
  ascNullsFirst(): Column {
    return this.asc();
  }
  ascNullsLast(): Column {
    return this.sorted('SORT_DIRECTION_ASCENDING', 'SORT_NULLS_LAST');
  }
  desc(): Column {
    return this.sorted('SORT_DIRECTION_DESCENDING', 'SORT_NULLS_LAST');
  }
  descNullsFirst(): Column {
    return this.sorted('SORT_DIRECTION_DESCENDING', 'SORT_NULLS_FIRST');
  }
  descNullsLast(): Column {
    return this.desc();
  }
  private sorted(
    direction: SortOrderProto['direction'],
    nullOrdering: SortOrderProto['nullOrdering'],
  ): Column {
    const child = this.expr.sortOrder ? this.expr.sortOrder.child : this.expr;
    return new Column({ sortOrder: { child, direction, nullOrdering } });
  }

  // ----- windows
  /** This aggregate or ranking function evaluated over a window. */
  over(window: WindowSpec): Column {
    return new Column({ window: { windowFunction: this.expr, ...window.toProto() } });
  }

  /** A readable form, for messages. */
  toString(): string {
    return describe(this.expr);
  }
}

function describe(e: ExpressionProto): string {
  if (e.unresolvedAttribute) return e.unresolvedAttribute.unparsedIdentifier;
  if (e.literal) return JSON.stringify(Object.values(e.literal)[0]);
  if (e.unresolvedFunction)
    return `${e.unresolvedFunction.functionName}(${(e.unresolvedFunction.arguments ?? []).map(describe).join(', ')})`;
  if (e.alias) return `${describe(e.alias.expr)} AS ${e.alias.name.join('.')}`;
  if (e.cast) return `CAST(${describe(e.cast.expr)} AS ${e.cast.typeStr ?? (e.cast.type ? 'type' : '?')})`;
  if (e.expressionString) return e.expressionString.expression;
  if (e.unresolvedStar) return '*';
  return Object.keys(e)[0] ?? 'expression';
}

/** A column by name (`'a'`, `'t.a'`, `` '`odd name`' ``); `'*'` is every column. */
export function col(name: string): Column {
  if (name === '*') return new Column({ unresolvedStar: {} });
  if (name.endsWith('.*')) return new Column({ unresolvedStar: { unparsedTarget: name } });
  return new Column({ unresolvedAttribute: { unparsedIdentifier: name } });
}
export const column = col;

/** A literal value; a Column is returned as it is. */
export function lit(value: ColumnOrValue): Column {
  if (value instanceof Column) return value;
  return new Column({ literal: toLiteral(value) });
}

/** A typed null or typed literal: `typedLit(null, 'string')`. */
export function typedLit(value: unknown, type: string | DataType): Column {
  return lit(value as ColumnOrValue).cast(typeof type === 'string' ? type : toDDL(type));
}

/** A SQL expression string: `expr('a + 1 AS b')`. */
export function expr(sql: string): Column {
  return new Column({ expressionString: { expression: sql } });
}

/** Column names become columns, other values pass through. */
export function toColumn(c: ColumnOrName): Column {
  return typeof c === 'string' ? col(c) : c;
}

/** Calls a Spark function by name with already-built columns. */
export function call(name: string, ...args: Column[]): Column {
  return new Column({ unresolvedFunction: { functionName: name, arguments: args.map((a) => a.expr) } });
}
