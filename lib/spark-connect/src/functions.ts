/**
 * Spark SQL functions, named as in `pyspark.sql.functions`. Arguments typed `ColumnOrName`
 * take a Column or a column name; other arguments take JS values (made literals). Any Spark
 * function not listed here is one `fn('name', ...args)` away.
 */
import { Column, type ColumnOrName, type ColumnOrValue, call, lit, toColumn } from './column.ts';

export { col, column, expr, lit, typedLit } from './column.ts';

const c = toColumn;

/**
 * Any Spark SQL function by name. Strings are column names (as in PySpark's `call_function`);
 * wrap string literals with `lit()`. Other JS values become literals.
 */
export function fn(name: string, ...args: (ColumnOrName | ColumnOrValue)[]): Column {
  return call(name, ...args.map((a) => (typeof a === 'string' ? c(a) : lit(a as ColumnOrValue))));
}
export const callFunction = fn;

// ----- conditionals and nulls
/** Starts a CASE expression: `when(cond, value).when(...).otherwise(other)`. */
export function when(condition: Column, value: ColumnOrValue): Column {
  return call('when', condition, lit(value));
}
export const coalesce = (...cols: ColumnOrName[]): Column => call('coalesce', ...cols.map(c));
export const isnull = (x: ColumnOrName): Column => call('isnull', c(x));
export const isnotnull = (x: ColumnOrName): Column => call('isnotnull', c(x));
export const nanvl = (a: ColumnOrName, b: ColumnOrName): Column => call('nanvl', c(a), c(b));
export const greatest = (...cols: ColumnOrName[]): Column => call('greatest', ...cols.map(c));
export const least = (...cols: ColumnOrName[]): Column => call('least', ...cols.map(c));

// ----- sorting helpers
export const asc = (x: ColumnOrName): Column => c(x).asc();
export const desc = (x: ColumnOrName): Column => c(x).desc();
export const asc_nulls_last = (x: ColumnOrName): Column => c(x).ascNullsLast();
export const desc_nulls_first = (x: ColumnOrName): Column => c(x).descNullsFirst();

// ----- aggregates
/** `count('*')` or `count(col)`. */
export const count = (x: ColumnOrName = '*'): Column =>
  x === '*' ? call('count', lit(1)) : call('count', c(x));
export const countDistinct = (x: ColumnOrName, ...more: ColumnOrName[]): Column =>
  new Column({
    unresolvedFunction: {
      functionName: 'count',
      arguments: [x, ...more].map((y) => c(y).expr),
      isDistinct: true,
    },
  });
export const count_distinct = countDistinct;
export const approx_count_distinct = (x: ColumnOrName, rsd?: number): Column =>
  rsd === undefined ? call('approx_count_distinct', c(x)) : call('approx_count_distinct', c(x), lit(rsd));
export const sum = (x: ColumnOrName): Column => call('sum', c(x));
export const sumDistinct = (x: ColumnOrName): Column =>
  new Column({ unresolvedFunction: { functionName: 'sum', arguments: [c(x).expr], isDistinct: true } });
export const avg = (x: ColumnOrName): Column => call('avg', c(x));
export const mean = avg;
export const min = (x: ColumnOrName): Column => call('min', c(x));
export const max = (x: ColumnOrName): Column => call('max', c(x));
export const first = (x: ColumnOrName, ignoreNulls = false): Column => call('first', c(x), lit(ignoreNulls));
export const last = (x: ColumnOrName, ignoreNulls = false): Column => call('last', c(x), lit(ignoreNulls));
export const collect_list = (x: ColumnOrName): Column => call('collect_list', c(x));
export const collect_set = (x: ColumnOrName): Column => call('collect_set', c(x));
export const stddev = (x: ColumnOrName): Column => call('stddev', c(x));
export const variance = (x: ColumnOrName): Column => call('variance', c(x));
export const max_by = (x: ColumnOrName, by: ColumnOrName): Column => call('max_by', c(x), c(by));
export const min_by = (x: ColumnOrName, by: ColumnOrName): Column => call('min_by', c(x), c(by));
export const percentile_approx = (x: ColumnOrName, percentage: number | number[], accuracy = 10000): Column =>
  call('percentile_approx', c(x), lit(percentage), lit(accuracy));

// ----- window functions
export const row_number = (): Column => call('row_number');
export const rank = (): Column => call('rank');
export const dense_rank = (): Column => call('dense_rank');
export const percent_rank = (): Column => call('percent_rank');
export const cume_dist = (): Column => call('cume_dist');
export const ntile = (n: number): Column => call('ntile', lit(n));
export const lag = (x: ColumnOrName, offset = 1, defaultValue: ColumnOrValue = null): Column =>
  call('lag', c(x), lit(offset), lit(defaultValue));
export const lead = (x: ColumnOrName, offset = 1, defaultValue: ColumnOrValue = null): Column =>
  call('lead', c(x), lit(offset), lit(defaultValue));

// ----- math
export const abs = (x: ColumnOrName): Column => call('abs', c(x));
export const sqrt = (x: ColumnOrName): Column => call('sqrt', c(x));
export const exp = (x: ColumnOrName): Column => call('exp', c(x));
export const log = (x: ColumnOrName): Column => call('ln', c(x));
export const log1p = (x: ColumnOrName): Column => call('log1p', c(x));
export const pow = (x: ColumnOrName, y: ColumnOrValue): Column => call('power', c(x), lit(y));
export const round = (x: ColumnOrName, scale = 0): Column => call('round', c(x), lit(scale));
export const floor = (x: ColumnOrName): Column => call('floor', c(x));
export const ceil = (x: ColumnOrName): Column => call('ceil', c(x));
export const rand = (seed?: number): Column => (seed === undefined ? call('rand') : call('rand', lit(seed)));
export const randn = (seed?: number): Column =>
  seed === undefined ? call('randn') : call('randn', lit(seed));
export const monotonically_increasing_id = (): Column => call('monotonically_increasing_id');
export const hash = (...cols: ColumnOrName[]): Column => call('hash', ...cols.map(c));

// ----- strings
export const concat = (...cols: ColumnOrName[]): Column => call('concat', ...cols.map(c));
export const concat_ws = (sep: string, ...cols: ColumnOrName[]): Column =>
  call('concat_ws', lit(sep), ...cols.map(c));
export const lower = (x: ColumnOrName): Column => call('lower', c(x));
export const upper = (x: ColumnOrName): Column => call('upper', c(x));
export const trim = (x: ColumnOrName): Column => call('trim', c(x));
export const length = (x: ColumnOrName): Column => call('length', c(x));
export const substring = (x: ColumnOrName, pos: number, len: number): Column =>
  call('substring', c(x), lit(pos), lit(len));
export const regexp_replace = (x: ColumnOrName, pattern: string, replacement: string): Column =>
  call('regexp_replace', c(x), lit(pattern), lit(replacement));
export const regexp_extract = (x: ColumnOrName, pattern: string, idx: number): Column =>
  call('regexp_extract', c(x), lit(pattern), lit(idx));
export const split = (x: ColumnOrName, pattern: string, limit = -1): Column =>
  call('split', c(x), lit(pattern), lit(limit));
export const lpad = (x: ColumnOrName, len: number, pad: string): Column =>
  call('lpad', c(x), lit(len), lit(pad));
export const format_string = (format: string, ...cols: ColumnOrName[]): Column =>
  call('format_string', lit(format), ...cols.map(c));
export const sha2 = (x: ColumnOrName, numBits: number): Column => call('sha2', c(x), lit(numBits));

// ----- arrays, maps, structs
export const array = (...cols: ColumnOrName[]): Column => call('array', ...cols.map(c));
export const struct = (...cols: ColumnOrName[]): Column => call('struct', ...cols.map(c));
export const create_map = (...cols: ColumnOrName[]): Column => call('map', ...cols.map(c));
export const explode = (x: ColumnOrName): Column => call('explode', c(x));
export const posexplode = (x: ColumnOrName): Column => call('posexplode', c(x));
export const size = (x: ColumnOrName): Column => call('size', c(x));
export const array_contains = (x: ColumnOrName, value: ColumnOrValue): Column =>
  call('array_contains', c(x), lit(value));
export const element_at = (x: ColumnOrName, index: ColumnOrValue): Column =>
  call('element_at', c(x), lit(index));
export const slice = (x: ColumnOrName, start: number, len: number): Column =>
  call('slice', c(x), lit(start), lit(len));
export const array_repeat = (x: ColumnOrValue, count: number): Column =>
  call('array_repeat', typeof x === 'string' ? c(x) : lit(x), lit(count));
export const sequence = (start: ColumnOrName, stop: ColumnOrName, step?: ColumnOrName): Column =>
  step === undefined ? call('sequence', c(start), c(stop)) : call('sequence', c(start), c(stop), c(step));
export const sort_array = (x: ColumnOrName, ascending = true): Column =>
  call('sort_array', c(x), lit(ascending));
export const array_distinct = (x: ColumnOrName): Column => call('array_distinct', c(x));
export const flatten = (x: ColumnOrName): Column => call('flatten', c(x));
export const to_json = (x: ColumnOrName): Column => call('to_json', c(x));
/** Parses JSON with a DDL schema string: `from_json(col('value'), 'a INT, b STRING')`. */
export const from_json = (x: ColumnOrName, schema: string): Column => call('from_json', c(x), lit(schema));
export const get_json_object = (x: ColumnOrName, path: string): Column =>
  call('get_json_object', c(x), lit(path));

// ----- dates and times
export const current_date = (): Column => call('current_date');
export const current_timestamp = (): Column => call('current_timestamp');
export const to_date = (x: ColumnOrName, format?: string): Column =>
  format === undefined ? call('to_date', c(x)) : call('to_date', c(x), lit(format));
export const to_timestamp = (x: ColumnOrName, format?: string): Column =>
  format === undefined ? call('to_timestamp', c(x)) : call('to_timestamp', c(x), lit(format));
export const date_format = (x: ColumnOrName, format: string): Column =>
  call('date_format', c(x), lit(format));
export const date_add = (x: ColumnOrName, days: ColumnOrValue): Column => call('date_add', c(x), lit(days));
export const date_sub = (x: ColumnOrName, days: ColumnOrValue): Column => call('date_sub', c(x), lit(days));
export const datediff = (end: ColumnOrName, start: ColumnOrName): Column =>
  call('datediff', c(end), c(start));
export const add_months = (x: ColumnOrName, months: ColumnOrValue): Column =>
  call('add_months', c(x), lit(months));
export const months_between = (a: ColumnOrName, b: ColumnOrName): Column =>
  call('months_between', c(a), c(b));
export const year = (x: ColumnOrName): Column => call('year', c(x));
export const month = (x: ColumnOrName): Column => call('month', c(x));
export const dayofmonth = (x: ColumnOrName): Column => call('dayofmonth', c(x));
export const dayofweek = (x: ColumnOrName): Column => call('dayofweek', c(x));
export const hour = (x: ColumnOrName): Column => call('hour', c(x));
export const weekofyear = (x: ColumnOrName): Column => call('weekofyear', c(x));
export const date_trunc = (unit: string, x: ColumnOrName): Column => call('date_trunc', lit(unit), c(x));
export const trunc = (x: ColumnOrName, unit: string): Column => call('trunc', c(x), lit(unit));
export const unix_timestamp = (x: ColumnOrName): Column => call('unix_timestamp', c(x));
export const from_unixtime = (x: ColumnOrName, format = 'yyyy-MM-dd HH:mm:ss'): Column =>
  call('from_unixtime', c(x), lit(format));
export const timestamp_seconds = (x: ColumnOrName): Column => call('timestamp_seconds', c(x));
/** Time windows for streaming aggregation: `window(col('ts'), '10 minutes')`. */
export const window = (timeColumn: ColumnOrName, duration: string, slide?: string): Column =>
  slide === undefined
    ? call('window', c(timeColumn), lit(duration))
    : call('window', c(timeColumn), lit(duration), lit(slide));

// ----- misc
export const input_file_name = (): Column => call('input_file_name');
