/**
 * The validation rules of lib/hm/rules.ts as Spark SQL, applied where Spark reads the raw files.
 *
 * A raw file is read as text, one row per physical line (`lineSep` `\n`, a trailing `\r` dropped:
 * the same lines the Node validator sees). Each line gets its line number from its position in
 * its split of the file (`_metadata.file_block_start`, then the row within the split) and the line
 * counts of the earlier splits, so line numbers are those of an editor without a sort of the file.
 * The first line is the header; every other line gets `reason_code` and `reason` (null when it
 * breaks no rule) and, when accepted, the typed columns of schema.ts.
 *
 * The rules, their order and their codes are the Node validator's (lib/hm/validate.ts); the
 * conformance test batch/raw-validation.int.test.ts feeds both the same broken lines.
 */
import {
  badValueText,
  CONTROL_PATTERN,
  columnCodes,
  DATE_PATTERN,
  DOUBLE_PATTERN,
  INT_PATTERN,
} from '../lib/hm/rules.ts';
import { type ColumnDef, headerLine, sparkColumnName, TABLES, type TableKind } from '../lib/hm/schema.ts';
import type { ValidationResult } from '../lib/hm/validate.ts';
import {
  type DataFrame,
  expr,
  functions as F,
  isSparkConnectError,
  type SparkSession,
} from '../lib/spark-connect/index.ts';
import { BatchError } from './context.ts';
import { joinLocation } from './lake.ts';
import { sqlString } from './spark.ts';

/**
 * A JavaScript regex source as a Java one with the same meaning on one line: `$` at the very end
 * becomes `\z` (Java's `$` also matches before a final line terminator such as U+2028), `\uXXXX`
 * becomes `\x{XXXX}`.
 */
export function javaRegex(re: RegExp): string {
  return re.source.replace(/\$$/, '\\z').replace(/\\u([0-9a-fA-F]{4})/g, '\\x{$1}');
}

/** One field of a CSV line: quoted (doubled quotes inside) or without quotes and commas. */
const FIELD = '(?:"(?:[^"]++|"")*+"|[^",]*+)';
/** A whole line that is one CSV record. */
const RECORD_RE = `^${FIELD}(?:,${FIELD})*+\\z`;
/** Each field of a well-formed line, after a comma put in front of the line. */
const FIELDS_RE = `,("(?:[^"]++|"")*+"|[^",]*+)`;

/** A value shown in a reason as the Node validator shows it: JSON-quoted, cut at 40 characters. */
function shown(value: string): string {
  const cut = `CASE WHEN char_length(${value}) > 40 THEN concat(substr(${value}, 1, 40), '…') ELSE ${value} END`;
  const json = `to_json(named_struct('v', ${cut}))`;
  return `substr(${json}, 6, char_length(${json}) - 6)`;
}

/** `CASE` arms: [condition, reason] pairs, the first true one wins. */
type Arm = [condition: string, reason: string];

function columnArms(column: ColumnDef, v: string): Arm[] {
  const codes = columnCodes(column);
  const bad = `concat(${sqlString(`${codes.bad}: ${column.name} `)}, ${shown(v)}, ${sqlString(` ${badValueText(column)}`)})`;
  const arms: Arm[] = [];
  if (!column.nullable) arms.push([`${v} = ''`, sqlString(`${codes.missing}: ${column.name} is empty`)]);
  const present = `${v} != ''`;
  const inRange = (n: string) =>
    [
      column.min === undefined ? null : `${n} >= ${column.min}`,
      column.max === undefined ? null : `${n} <= ${column.max}`,
    ]
      .filter((c) => c !== null)
      .join(' AND ') || 'true';
  switch (column.type) {
    case 'string': {
      const ok = [
        column.pattern ? `${v} RLIKE ${sqlString(javaRegex(column.pattern))}` : null,
        column.values ? `${v} IN (${column.values.map(sqlString).join(', ')})` : null,
      ].filter((c) => c !== null);
      if (ok.length > 0) arms.push([`${present} AND NOT (${ok.join(' AND ')})`, bad]);
      break;
    }
    case 'int': {
      const n = `try_cast(${v} AS BIGINT)`;
      arms.push([
        `${present} AND NOT coalesce(${v} RLIKE ${sqlString(javaRegex(INT_PATTERN))} AND ${inRange(n)}, false)`,
        bad,
      ]);
      break;
    }
    case 'double': {
      const n = `try_cast(${v} AS DOUBLE)`;
      arms.push([
        `${present} AND NOT coalesce(${v} RLIKE ${sqlString(javaRegex(DOUBLE_PATTERN))} AND NOT isnan(${n}) AND abs(${n}) <= 1.7976931348623157E308 AND ${inRange(n)}, false)`,
        bad,
      ]);
      break;
    }
    case 'date':
      arms.push([
        `${present} AND NOT coalesce(${v} RLIKE ${sqlString(javaRegex(DATE_PATTERN))} AND date_format(try_cast(${v} AS DATE), 'yyyy-MM-dd') = ${v}, false)`,
        bad,
      ]);
      break;
  }
  return arms;
}

/** A field as its typed value (empty → null), for an accepted line. */
function typedValue(column: ColumnDef, v: string): string {
  const value = `nullif(${v}, '')`;
  switch (column.type) {
    case 'string':
      return value;
    case 'int':
      return `CAST(${value} AS INT)`;
    case 'double':
      return `CAST(${value} AS DOUBLE)`;
    case 'date':
      return `CAST(${value} AS DATE)`;
  }
}

function caseOf(arms: readonly Arm[]): string {
  return `CASE ${arms.map(([c, r]) => `WHEN ${c} THEN ${r}`).join(' ')} END`;
}

/** The file of a kind in RAW_DIR: `<name>`, else `<name>.gz`, as Spark resolves them. */
export async function findRawFileInSpark(
  spark: SparkSession,
  rawDir: string,
  kind: TableKind,
): Promise<string> {
  const name = TABLES[kind].fileName;
  for (const candidate of [name, `${name}.gz`]) {
    const location = joinLocation(rawDir, candidate);
    try {
      const files = await spark.read.text(location).inputFiles();
      if (files.length > 0) return location;
    } catch (error) {
      if (!(isSparkConnectError(error) && error.errorClass === 'PATH_NOT_FOUND')) {
        throw new BatchError(`cannot read ${location} from Spark: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  }
  throw new BatchError(`${name} (or .gz) not found in RAW_DIR=${rawDir} (as the Spark server sees it)`, {
    details: { dir: rawDir, file: name },
  });
}

/** The raw lines of a file with their split and row within the split (the header included). */
export function rawLines(spark: SparkSession, location: string): DataFrame {
  return spark.read
    .option('lineSep', '\n')
    .text(location)
    .selectExpr(
      '_metadata.file_block_start AS _block',
      'monotonically_increasing_id() - shiftleft(CAST(spark_partition_id() AS BIGINT), 33) AS _row',
      'CASE WHEN endswith(value, char(13)) THEN substr(value, 1, char_length(value) - 1) ELSE value END AS line',
    );
}

/**
 * The first line of a file, or undefined when it is empty. `limit(1)` alone is not enough: over
 * several splits Spark gathers the partitions' first rows in whatever order they arrive (on a
 * cluster, often not split 0's). One task reading the splits in turn stops after the first line;
 * should its first row not come from the split at byte 0, the file's line 0 is asked for by name
 * (a full read, never the common case).
 */
async function firstLine(spark: SparkSession, location: string): Promise<string | undefined> {
  const [row] = await spark.read
    .option('lineSep', '\n')
    .text(location)
    .selectExpr('_metadata.file_block_start AS _block', 'value AS line')
    .coalesce(1)
    .limit(1)
    .collect();
  if (row === undefined) return undefined;
  if (Number(row['_block']) === 0) return String(row['line'] ?? '');
  const [named] = await rawLines(spark, location).where('_block = 0 AND _row = 0').collect();
  return named === undefined ? undefined : String(named['line'] ?? '');
}

/** Checks the header (the file's first line): a wrong one fails the whole file, naming it. */
export async function checkHeader(spark: SparkSession, location: string, kind: TableKind): Promise<void> {
  const table = TABLES[kind];
  const expected = headerLine(table);
  const first = await firstLine(spark, location);
  if (first === undefined) throw new BatchError(`${location}: the file is empty (no header line)`);
  let header = first;
  if (header.endsWith('\r')) header = header.slice(0, -1);
  if (header.charCodeAt(0) === 0xfeff) header = header.slice(1);
  if (header !== expected) {
    throw new BatchError(
      `${location}: header is not the ${table.fileName} header; expected "${expected}", found "${header.slice(0, 300)}"`,
      { details: { path: location, kind } },
    );
  }
}

/**
 * The data lines of a raw file (`lines`: from rawLines) checked by every rule: columns `_block`,
 * `_row`, `line`, `reason_code`, `reason`, and the typed columns of the table (null on rejected
 * lines). `acceptedArticleIds` (one column `article_id`) is given for transactions.
 */
export function checkedLines(kind: TableKind, lines: DataFrame, acceptedArticleIds?: DataFrame): DataFrame {
  const table = TABLES[kind];
  const columns = table.columns;
  const n = columns.length;
  const control = javaRegex(CONTROL_PATTERN);
  const quotes = `(char_length(line) - char_length(replace(line, '"', '')))`;
  const fields = `CASE WHEN instr(line, '"') = 0 THEN split(line, ',', -1) ELSE transform(regexp_extract_all(concat(',', line), ${sqlString(FIELDS_RE)}, 1), x -> CASE WHEN startswith(x, '"') THEN replace(substr(x, 2, char_length(x) - 2), '""', '"') ELSE x END) END`;
  const lineArms: Arm[] = [
    [`line = ''`, `'empty_line: the line is empty'`],
    [
      `line RLIKE ${sqlString(control)}`,
      `'bad_characters: control character, stray carriage return or invalid UTF-8'`,
    ],
    [`${quotes} % 2 = 1`, `'unbalanced_quotes: odd number of double quotes on the line'`],
    [
      `instr(line, '"') > 0 AND NOT line RLIKE ${sqlString(RECORD_RE)}`,
      `'malformed_csv: not one CSV record'`,
    ],
    [`size(_f) != ${n}`, `concat('column_count: expected ${n} fields, found ', size(_f))`],
  ];
  const field = (i: number) => `get(_f, ${i})`;
  const columnArmsAll = columns.flatMap((c, i) => columnArms(c, field(i)));
  const rowArms: Arm[] = [];
  const productCode = columns.findIndex((c) => c.name === 'product_code');
  const articleId = columns.findIndex((c) => c.name === 'article_id');
  if (productCode >= 0) {
    const padded = `CASE WHEN char_length(${field(productCode)}) >= 7 THEN ${field(productCode)} ELSE lpad(${field(productCode)}, 7, '0') END`;
    rowArms.push([
      `NOT startswith(${field(articleId)}, ${padded})`,
      `concat('article_product_mismatch: article_id does not start with product_code ', ${padded})`,
    ]);
  }
  let df = lines
    .where('NOT (_block = 0 AND _row = 0)')
    .selectExpr('_block', '_row', 'line', `${fields} AS _f`)
    .selectExpr(
      '_block',
      '_row',
      'line',
      '_f',
      `${caseOf([...lineArms, ...columnArmsAll, ...rowArms])} AS reason`,
    );
  if (acceptedArticleIds && articleId >= 0) {
    df = df
      .join(
        acceptedArticleIds.selectExpr('article_id AS _known').distinct(),
        expr(`reason IS NULL AND get(_f, ${articleId}) = _known`),
        'left',
      )
      .selectExpr(
        '_block',
        '_row',
        'line',
        '_f',
        `CASE WHEN reason IS NULL AND _known IS NULL THEN concat('unknown_article: article_id ', get(_f, ${articleId}), ' is not in articles') ELSE reason END AS reason`,
      );
  }
  const idName = kind === 'articles' ? 'article_id' : kind === 'customers' ? 'customer_id' : undefined;
  if (idName) {
    const id = columns.findIndex((c) => c.name === idName);
    df = df.selectExpr(
      '_block',
      '_row',
      'line',
      '_f',
      `CASE WHEN reason IS NULL AND row_number() OVER (PARTITION BY reason IS NULL, get(_f, ${id}) ORDER BY _block, _row) > 1 THEN concat('duplicate_id: ${idName} ', get(_f, ${id}), ' appeared before') ELSE reason END AS reason`,
    );
  }
  return df.selectExpr(
    '_block',
    '_row',
    'line',
    "substring_index(reason, ':', 1) AS reason_code",
    'reason',
    ...columns.map(
      (c, i) => `CASE WHEN reason IS NULL THEN ${typedValue(c, field(i))} END AS ${sparkColumnName(c)}`,
    ),
  );
}

/** Line counts of the splits of a file, and what each data line's number is from them. */
export interface SplitCounts {
  /** `_block` → lines in that split (the header included in the first). */
  readonly lines: ReadonlyMap<number, number>;
}

/** A SQL expression for the 1-based line number of a row of `rawLines`, from the split counts. */
export function lineNumberExpr(counts: SplitCounts): string {
  const blocks = [...counts.lines.keys()].sort((a, b) => a - b);
  let offset = 0;
  const arms: string[] = [];
  for (const block of blocks) {
    arms.push(`WHEN _block = ${block} THEN ${offset}`);
    offset += counts.lines.get(block)!;
  }
  return arms.length === 0 ? '_row + 1' : `_row + 1 + CASE ${arms.join(' ')} END`;
}

/** A raw file checked by Spark: where it is, its checked lines, their counts. */
export interface CheckedFile {
  location: string;
  checked: DataFrame;
  result: ValidationResult;
  counts: SplitCounts;
}

/** Counts accepted and rejected lines (by reason) and the lines of each split, in one job. */
export async function countLines(
  checked: DataFrame,
): Promise<{ result: ValidationResult; counts: SplitCounts }> {
  const rows = await checked
    .groupBy('_block', 'reason_code')
    .agg(F.count().alias('n'), F.min('_row').alias('first_row'))
    .collect();
  const result: ValidationResult = { total: 0, accepted: 0, rejected: 0, reasons: {} };
  const lines = new Map<number, number>();
  const firstRows = new Map<number, number>();
  for (const row of rows) {
    const block = Number(row['_block']);
    const n = Number(row['n']);
    const code = row['reason_code'] as string | null;
    lines.set(block, (lines.get(block) ?? 0) + n);
    firstRows.set(
      block,
      Math.min(firstRows.get(block) ?? Number.POSITIVE_INFINITY, Number(row['first_row'])),
    );
    result.total += n;
    if (code === null) result.accepted += n;
    else {
      result.rejected += n;
      result.reasons[code] = (result.reasons[code] ?? 0) + n;
    }
  }
  // Line numbers need each split alone in its Spark partition, its rows counted from 0 (what Spark
  // does with the splits of one file); the header (row 0 of split 0) is not among the checked rows.
  for (const [block, first] of firstRows) {
    if (first !== (block === 0 ? 1 : 0)) {
      throw new BatchError(
        `cannot number the lines of the raw file: its split at byte ${block} starts at row ${first} of its Spark partition`,
      );
    }
  }
  lines.set(0, (lines.get(0) ?? 0) + 1);
  return { result, counts: { lines } };
}

export function rejectsOf(file: CheckedFile, fileName: string): DataFrame {
  return file.checked
    .where('reason IS NOT NULL')
    .selectExpr(
      `${sqlString(fileName)} AS file`,
      `CAST(${lineNumberExpr(file.counts)} AS BIGINT) AS line_number`,
      'reason_code',
      'reason',
      'line AS raw_line',
    );
}
