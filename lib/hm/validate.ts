/**
 * Validation of raw H&M CSV files (real or synthetic) in Node: `npm run data:validate` and the
 * generator's checks. The batch applies the same rules in Spark (batch/raw-checks.ts); the rules
 * and their order are listed in rules.ts.
 *
 * Streams the file line by line (Spark reads with `multiLine=false`, so a record is one physical
 * line), checks every row against the table definition in schema.ts, and writes each row to
 * exactly one of two files: accepted rows unchanged (same header and layout) to `cleanOut`, and
 * rejected rows to `rejectsOut` as CSV `line_number,reason,raw_line`. One bad row never stops the
 * run and no row is dropped silently: `total = accepted + rejected`, and `reasons` counts each
 * rejection by its code. Only a wrong header fails the whole file (it is the wrong file).
 *
 * Parsing: a line holding a double quote is parsed by csv-parse (quoted fields, doubled quotes,
 * commas inside quotes); a line without any quote character cannot hold a quoted field, so its
 * fields are exactly the text between commas and it is split directly. That keeps 31.8M
 * transaction rows (which never contain quotes) to about a minute.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ValidationError } from '../errors.ts';
import { LineSink } from './line-sink.ts';
import { detach, readLineBatches } from './lines.ts';
import {
  badValueText,
  CONTROL_PATTERN,
  columnCodes,
  DATE_PATTERN,
  DOUBLE_PATTERN,
  INT_PATTERN,
} from './rules.ts';
import {
  type ColumnDef,
  csvLine,
  headerLine,
  TABLE_KINDS,
  TABLES,
  type TableDef,
  type TableKind,
} from './schema.ts';

export interface ValidateOptions {
  cleanOut: string;
  rejectsOut: string;
  /** For transactions: article ids that exist (from the validated articles file). */
  knownArticleIds?: Set<string>;
  /** Reject a repeated `article_id` (articles) or `customer_id` (customers). Default true. */
  rejectDuplicateIds?: boolean;
  /** Called after each batch of lines with the data rows read so far. */
  onProgress?: (rowsRead: number) => void;
}

export interface ValidationResult {
  /** Data rows read (the header is not counted). */
  total: number;
  accepted: number;
  rejected: number;
  /** Rejections per reason code, e.g. `{ column_count: 2, bad_price: 1 }`. */
  reasons: Record<string, number>;
}

/** Why a row was rejected: a stable code (counted) and a readable detail (kept in the rejects file). */
interface Rejection {
  code: string;
  detail: string;
}

type FieldCheck = (value: string) => Rejection | undefined;

const INT_RE = INT_PATTERN;
const DOUBLE_RE = DOUBLE_PATTERN;
const DATE_RE = DATE_PATTERN;
const CONTROL_RE = CONTROL_PATTERN;

const shown = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

function columnCheck(col: ColumnDef): FieldCheck {
  const codes = columnCodes(col);
  const why = badValueText(col);
  const bad = (value: string): Rejection => ({
    code: codes.bad,
    detail: `${col.name} ${shown(value)} ${why}`,
  });
  const missing: Rejection = { code: codes.missing, detail: `${col.name} is empty` };
  const inRange = (n: number) =>
    (col.min === undefined || n >= col.min) && (col.max === undefined || n <= col.max);
  let check: FieldCheck;
  switch (col.type) {
    case 'string': {
      const { pattern, values } = col;
      const allowed = values ? new Set(values) : undefined;
      check = (v) => {
        if (pattern && !pattern.test(v)) return bad(v);
        if (allowed && !allowed.has(v)) return bad(v);
        return undefined;
      };
      break;
    }
    case 'int':
      check = (v) => (INT_RE.test(v) && inRange(Number(v)) ? undefined : bad(v));
      break;
    case 'double':
      check = (v) => {
        const n = Number(v);
        return DOUBLE_RE.test(v) && Number.isFinite(n) && inRange(n) ? undefined : bad(v);
      };
      break;
    case 'date': {
      const seen = new Map<string, boolean>();
      check = (v) => {
        let ok = seen.get(v);
        if (ok === undefined) {
          const m = DATE_RE.exec(v);
          ok = false;
          if (m) {
            const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
            ok = d.toISOString().slice(0, 10) === v;
          }
          if (seen.size < 100_000) seen.set(v, ok);
        }
        return ok ? undefined : bad(v);
      };
      break;
    }
  }
  return (v) => (v === '' ? (col.nullable ? undefined : missing) : check(v));
}

function countQuotes(line: string): number {
  let quotes = 0;
  for (let i = line.indexOf('"'); i >= 0; i = line.indexOf('"', i + 1)) quotes++;
  return quotes;
}

/** Parses one line holding quotes with csv-parse, or says why it is not one CSV record. */
function parseQuotedLine(line: string): string[] | Rejection {
  try {
    const records = parse(line, { relax_column_count: true }) as string[][];
    if (records.length !== 1)
      return { code: 'malformed_csv', detail: `line holds ${records.length} records` };
    return records[0]!;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { code: 'malformed_csv', detail: message.slice(0, 200) };
  }
}

/**
 * Fields of the batch's lines that hold quotes (balanced ones), by position in the batch.
 * The lines are parsed together in one csv-parse call (one call per line is slow); a line with
 * an even number of quotes that parses cleanly cannot run into the next one, so records map to
 * lines one to one. If the batch holds a malformed line, each line is parsed on its own.
 */
function parseQuotedLines(lines: readonly string[]): Map<number, string[] | Rejection> {
  const out = new Map<number, string[] | Rejection>();
  const positions: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.indexOf('"') >= 0 && !CONTROL_RE.test(line) && countQuotes(line) % 2 === 0) positions.push(i);
  }
  if (positions.length === 0) return out;
  try {
    const records = parse(positions.map((i) => lines[i]).join('\n'), {
      relax_column_count: true,
    }) as string[][];
    if (records.length === positions.length) {
      for (let r = 0; r < positions.length; r++) out.set(positions[r]!, records[r]!);
      return out;
    }
  } catch {
    // A malformed line in the batch: find it (and parse the others) line by line.
  }
  for (const p of positions) out.set(p, parseQuotedLine(lines[p]!));
  return out;
}

/** Splits one physical line into fields, or says why it cannot be a single-line CSV record. */
function splitLine(line: string, preParsed: string[] | Rejection | undefined): string[] | Rejection {
  if (line.indexOf('"') < 0) return line.split(',');
  if (countQuotes(line) % 2 === 1)
    return { code: 'unbalanced_quotes', detail: 'odd number of double quotes on the line' };
  return preParsed ?? parseQuotedLine(line);
}

/**
 * Validates one raw file. Throws a ValidationError only when the file as a whole is wrong
 * (missing, empty, or its header is not the expected one).
 */
export async function validateRawFile(
  kind: TableKind,
  inputPath: string,
  options: ValidateOptions,
): Promise<ValidationResult> {
  const table: TableDef | undefined = TABLES[kind];
  if (!table)
    throw new ValidationError(`unknown file kind "${String(kind)}"; use articles, customers or transactions`);
  if (!existsSync(inputPath)) throw new ValidationError(`${kind} file not found: ${inputPath}`);
  const expectedHeader = headerLine(table);
  const columns = table.columns;
  const checks = columns.map(columnCheck);
  const idColumn = kind === 'articles' ? 'article_id' : kind === 'customers' ? 'customer_id' : undefined;
  const idIndex = idColumn ? columns.findIndex((c) => c.name === idColumn) : -1;
  const seenIds = idIndex >= 0 && options.rejectDuplicateIds !== false ? new Set<string>() : undefined;
  const articleIndex = columns.findIndex((c) => c.name === 'article_id');
  const productCodeIndex = columns.findIndex((c) => c.name === 'product_code');
  const known = kind === 'transactions' ? options.knownArticleIds : undefined;

  const result: ValidationResult = { total: 0, accepted: 0, rejected: 0, reasons: {} };
  const clean = new LineSink(options.cleanOut);
  const rejects = new LineSink(options.rejectsOut);
  rejects.write('line_number,reason,raw_line');
  let sawHeader = false;

  const reject = (lineNo: number, line: string, r: Rejection) => {
    result.rejected++;
    result.reasons[r.code] = (result.reasons[r.code] ?? 0) + 1;
    rejects.write(csvLine([String(lineNo), `${r.code}: ${r.detail}`, line]));
  };

  const check = (line: string, preParsed: string[] | Rejection | undefined): Rejection | undefined => {
    if (line.length === 0) return { code: 'empty_line', detail: 'the line is empty' };
    if (CONTROL_RE.test(line))
      return { code: 'bad_characters', detail: 'control character, stray carriage return or invalid UTF-8' };
    const fields = splitLine(line, preParsed);
    if (!Array.isArray(fields)) return fields;
    if (fields.length !== columns.length)
      return { code: 'column_count', detail: `expected ${columns.length} fields, found ${fields.length}` };
    for (let i = 0; i < fields.length; i++) {
      const r = checks[i]!(fields[i]!);
      if (r) return r;
    }
    if (productCodeIndex >= 0) {
      const code = fields[productCodeIndex]!.padStart(7, '0');
      if (!fields[articleIndex]!.startsWith(code))
        return {
          code: 'article_product_mismatch',
          detail: `article_id does not start with product_code ${code}`,
        };
    }
    if (known && !known.has(fields[articleIndex]!))
      return { code: 'unknown_article', detail: `article_id ${fields[articleIndex]} is not in articles` };
    if (seenIds) {
      const id = fields[idIndex]!;
      if (seenIds.has(id)) return { code: 'duplicate_id', detail: `${idColumn} ${id} appeared before` };
      seenIds.add(detach(id));
    }
    return undefined;
  };

  try {
    for await (const batch of readLineBatches(inputPath)) {
      let lineNo = batch.firstLine;
      const quoted = parseQuotedLines(batch.lines);
      for (let i = 0; i < batch.lines.length; i++) {
        const line = batch.lines[i]!;
        if (!sawHeader) {
          sawHeader = true;
          const header = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
          if (header !== expectedHeader) {
            throw new ValidationError(
              `${inputPath}: header is not the ${table.fileName} header; expected "${expectedHeader}", found "${header.slice(0, 300)}"`,
              { details: { path: inputPath, kind } },
            );
          }
          clean.write(header);
          lineNo++;
          continue;
        }
        result.total++;
        const r = check(line, quoted.get(i));
        if (r) reject(lineNo, line, r);
        else {
          result.accepted++;
          clean.write(line);
        }
        lineNo++;
      }
      options.onProgress?.(result.total);
    }
    if (!sawHeader) throw new ValidationError(`${inputPath}: the file is empty (no header line)`);
    clean.close();
    rejects.close();
  } catch (error) {
    clean.abort();
    rejects.abort();
    throw error;
  }
  return result;
}

/** The article ids of an articles file (ideally the validated one): the first field of each row. */
export async function readArticleIds(path: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let header = true;
  for await (const batch of readLineBatches(path)) {
    for (const line of batch.lines) {
      if (header) {
        header = false;
        continue;
      }
      const comma = line.indexOf(',');
      const id = comma < 0 ? line : line.slice(0, comma);
      if (/^\d{10}$/.test(id)) ids.add(detach(id));
    }
  }
  return ids;
}

/**
 * Why a validated file must not be used, or null: an articles or transactions file without a
 * valid row (a header-only file included), or a share of rejected rows above `maxRejectRatio` —
 * training on what is left of a mostly broken export would publish a model of a few rows.
 * A customers file may be empty (the customer features are optional).
 */
export function unusableFile(
  kind: TableKind,
  result: ValidationResult,
  maxRejectRatio: number,
): string | null {
  const name = TABLES[kind].fileName;
  const reasons = Object.entries(result.reasons)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  if (result.accepted === 0 && kind !== 'customers') {
    return result.total === 0
      ? `${name} has no data rows (only a header, or nothing)`
      : `${name}: none of its ${result.total} rows is valid (top reasons: ${reasons})`;
  }
  if (result.total > 0 && result.rejected / result.total > maxRejectRatio) {
    const pct = ((100 * result.rejected) / result.total).toFixed(1);
    return (
      `${name}: ${result.rejected} of ${result.total} rows rejected (${pct} %), more than ` +
      `MAX_REJECT_RATIO=${maxRejectRatio} allows (top reasons: ${reasons})`
    );
  }
  return null;
}

export interface RawDirectoryResult {
  articles: ValidationResult;
  customers: ValidationResult;
  transactions: ValidationResult;
  /** Paths of the clean files, named as the real ones (uncompressed). */
  clean: Record<TableKind, string>;
}

/** Finds `<name>` or `<name>.gz` in a folder. */
export function findRawFile(dir: string, table: TableDef): string {
  for (const name of [table.fileName, `${table.fileName}.gz`]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new ValidationError(`${table.fileName} (or .gz) not found in ${dir}`, {
    details: { dir, file: table.fileName },
  });
}

/**
 * Validates the three files of a raw folder: articles first, then customers, then transactions
 * checked against the accepted article ids. Clean files go to `cleanDir` under the real names,
 * rejects to `rejectsDir` as `<name>.rejects.csv`.
 */
export async function validateRawDirectory(
  rawDir: string,
  cleanDir: string,
  rejectsDir: string = cleanDir,
  onProgress?: (kind: TableKind, rowsRead: number) => void,
): Promise<RawDirectoryResult> {
  const paths = {} as Record<TableKind, string>;
  const results = {} as Record<TableKind, ValidationResult>;
  for (const kind of TABLE_KINDS) {
    const table = TABLES[kind];
    paths[kind] = join(cleanDir, table.fileName);
    results[kind] = await validateRawFile(kind, findRawFile(rawDir, table), {
      cleanOut: paths[kind],
      rejectsOut: join(rejectsDir, table.fileName.replace(/\.csv$/, '.rejects.csv')),
      knownArticleIds: kind === 'transactions' ? await readArticleIds(paths.articles) : undefined,
      onProgress: onProgress && ((rows) => onProgress(kind, rows)),
    });
  }
  return { ...results, clean: paths };
}
