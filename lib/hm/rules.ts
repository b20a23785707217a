/**
 * The validation rules of a raw H&M file, in the order they are applied to a line. The first rule a
 * line breaks is its rejection reason (`<code>: <detail>`); a line that breaks none is accepted.
 *
 * Two implementations apply this table: lib/hm/validate.ts in Node (`npm run data:validate`, the
 * generator's checks) and batch/raw-checks.ts in Spark (the batch's `csv-to-delta`, which reads the
 * raw files where Spark can read them). The column rules come from the column definitions of
 * schema.ts in both; the line rules are the ones below. batch/raw-validation.int.test.ts feeds the
 * same broken lines to both and requires the same line numbers and reason codes, so the two cannot
 * drift apart.
 */
import type { ColumnDef } from './schema.ts';

export interface LineRule {
  /** The reason code counted and stored in `bronze/rejects.reason_code`. */
  readonly code: string;
  readonly description: string;
}

/** Rules about the line as a whole, checked before its fields. */
export const LINE_RULES = [
  { code: 'empty_line', description: 'the line is empty' },
  {
    code: 'bad_characters',
    description: 'a control character, a stray carriage return or invalid UTF-8 on the line',
  },
  { code: 'unbalanced_quotes', description: 'an odd number of double quotes on the line' },
  {
    code: 'malformed_csv',
    description: 'not one CSV record: a quote inside an unquoted field, or text after a closing quote',
  },
  { code: 'column_count', description: 'not the number of fields the header has' },
] as const satisfies readonly LineRule[];

/** Rules across fields and rows, checked after every column passed its own check. */
export const ROW_RULES = [
  {
    code: 'article_product_mismatch',
    description: 'articles: article_id does not start with the zero-padded product_code',
  },
  { code: 'unknown_article', description: 'transactions: article_id is not an accepted article' },
  {
    code: 'duplicate_id',
    description: 'articles, customers: the id appeared on an earlier accepted line (the first one is kept)',
  },
] as const satisfies readonly LineRule[];

/** The two codes each column can reject with: `missing_<name>` (empty, not nullable) and `bad_<name>`. */
export function columnCodes(col: ColumnDef): { missing: string; bad: string } {
  return { missing: `missing_${col.name}`, bad: `bad_${col.name}` };
}

/** `^-?\d{1,10}$`: an integer literal (then range-checked). */
export const INT_PATTERN = /^-?\d{1,10}$/;
/** A decimal or scientific number literal (then checked finite and in range). */
export const DOUBLE_PATTERN = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** `yyyy-MM-dd` (then checked to be a real calendar day). */
export const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Control characters (a lone \r included) and U+FFFD, what invalid UTF-8 decodes to. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_PATTERN = /[\u0000-\u0008\u000a-\u001f\u007f\ufffd]/;

/** The readable range of a numeric column, e.g. `0..120` or `-inf..inf`. */
export function rangeText(col: ColumnDef): string {
  return `${col.min ?? '-inf'}..${col.max ?? 'inf'}`;
}

/** What a bad value of the column is told, after the column name and the value. */
export function badValueText(col: ColumnDef): string {
  switch (col.type) {
    case 'string':
      return col.pattern
        ? `does not match ${col.pattern.source}`
        : `is not one of ${(col.values ?? []).join(', ')}`;
    case 'int':
      return `is not an integer in ${rangeText(col)}`;
    case 'double':
      return `is not a number in ${rangeText(col)}`;
    case 'date':
      return 'is not a date yyyy-MM-dd';
  }
}
