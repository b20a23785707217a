/**
 * The H&M raw file layout (Kaggle "H&M Personalized Fashion Recommendations") as code.
 *
 * One definition per file drives three things so they cannot drift apart: the generator's
 * header and field order, the validator's per-column checks, and the explicit Spark schema the
 * batch reads with (`sparkDdl`), because schema inference would turn `article_id` into an integer
 * and lose its leading zero.
 *
 * Traps of the real files, all kept here: `article_id` is a 10-digit string with a leading zero,
 * `customer_id` and `postal_code` are 64 lower-case hex characters, `detail_desc` (and a few
 * names such as "Under-, Nightwear") hold commas and are quoted, ages are written as `21.0`,
 * and a missing value is an empty field.
 */

/** Logical column types; each maps to one Spark SQL type in `sparkDdl`. */
export type ColumnType = 'string' | 'int' | 'double' | 'date';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** An empty field is allowed (read as null). */
  readonly nullable: boolean;
  /** For strings: the whole value must match. */
  readonly pattern?: RegExp;
  /** For strings: the only values allowed (besides empty when nullable). */
  readonly values?: readonly string[];
  /** For numbers: inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

export type TableKind = 'articles' | 'customers' | 'transactions';

/** The tables in the order they are validated and loaded (transactions check the articles). */
export const TABLE_KINDS = ['articles', 'customers', 'transactions'] as const satisfies readonly TableKind[];

export interface TableDef {
  readonly kind: TableKind;
  readonly fileName: string;
  readonly columns: readonly ColumnDef[];
}

/** 10 digits: the 7-digit zero-padded `product_code` followed by a 3-digit variant. */
export const ARTICLE_ID_PATTERN = /^\d{10}$/;
/** 64 lower-case hex characters (a hash), used for `customer_id` and `postal_code`. */
export const HEX64_PATTERN = /^[0-9a-f]{64}$/;

export const CLUB_MEMBER_STATUSES = ['ACTIVE', 'PRE-CREATE', 'LEFT CLUB'] as const;
/** The real file spells "no news" both `NONE` and `None`. */
export const FASHION_NEWS_FREQUENCIES = ['NONE', 'None', 'Regularly', 'Monthly'] as const;
export const SALES_CHANNELS = { store: 1, online: 2 } as const;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function str(name: string, description: string, extra: Partial<ColumnDef> = {}): ColumnDef {
  return { name, type: 'string', nullable: false, description, ...extra };
}
function int(name: string, description: string, extra: Partial<ColumnDef> = {}): ColumnDef {
  return { name, type: 'int', nullable: false, min: INT32_MIN, max: INT32_MAX, description, ...extra };
}

export const ARTICLES: TableDef = {
  kind: 'articles',
  fileName: 'articles.csv',
  columns: [
    str('article_id', '10-digit id with leading zero; keep as a string', { pattern: ARTICLE_ID_PATTERN }),
    int('product_code', 'the product; its colour variants share it', { min: 0, max: 9_999_999 }),
    str('prod_name', 'product name'),
    int('product_type_no', 'product type number (-1 = Unknown)'),
    str('product_type_name', 'e.g. Trousers, Vest top'),
    str('product_group_name', 'e.g. Garment Upper body; determined by the product type'),
    int('graphical_appearance_no', 'pattern number'),
    str('graphical_appearance_name', 'e.g. Solid, Stripe'),
    int('colour_group_code', 'colour group'),
    str('colour_group_name', 'e.g. Black, Light Pink'),
    int('perceived_colour_value_id', 'lightness class'),
    str('perceived_colour_value_name', 'e.g. Dark, Dusty Light'),
    int('perceived_colour_master_id', 'main colour'),
    str('perceived_colour_master_name', 'e.g. Blue, Beige'),
    int('department_no', 'department; determines index, section and garment group'),
    str('department_name', 'department name'),
    str('index_code', 'one letter A..J or S', { pattern: /^[A-Z]$/ }),
    str('index_name', 'e.g. Ladieswear, "Children Accessories, Swimwear"'),
    int('index_group_no', 'index group (Ladieswear, Divided, Menswear, Baby/Children, Sport)'),
    str('index_group_name', 'index group name'),
    int('section_no', 'section'),
    str('section_name', 'e.g. Womens Everyday Collection'),
    int('garment_group_no', 'garment group'),
    str('garment_group_name', 'e.g. Jersey Fancy, "Under-, Nightwear"'),
    str('detail_desc', 'free text, often with commas (quoted); sometimes empty', { nullable: true }),
  ],
};

export const CUSTOMERS: TableDef = {
  kind: 'customers',
  fileName: 'customers.csv',
  columns: [
    str('customer_id', '64 hex characters', { pattern: HEX64_PATTERN }),
    { name: 'FN', type: 'double', nullable: true, min: 0, max: 1, description: '1.0 or empty' },
    { name: 'Active', type: 'double', nullable: true, min: 0, max: 1, description: '1.0 or empty' },
    str('club_member_status', 'ACTIVE, PRE-CREATE, LEFT CLUB or empty', {
      nullable: true,
      values: CLUB_MEMBER_STATUSES,
    }),
    str('fashion_news_frequency', 'NONE, Regularly, Monthly or empty', {
      nullable: true,
      values: FASHION_NEWS_FREQUENCIES,
    }),
    { name: 'age', type: 'double', nullable: true, min: 0, max: 120, description: 'written as 21.0' },
    str('postal_code', '64 hex characters (a hash)', { pattern: HEX64_PATTERN }),
  ],
};

export const TRANSACTIONS: TableDef = {
  kind: 'transactions',
  fileName: 'transactions_train.csv',
  columns: [
    { name: 't_dat', type: 'date', nullable: false, description: 'purchase day, yyyy-MM-dd' },
    str('customer_id', '64 hex characters', { pattern: HEX64_PATTERN }),
    str('article_id', '10-digit id with leading zero', { pattern: ARTICLE_ID_PATTERN }),
    { name: 'price', type: 'double', nullable: false, min: 0, max: 1_000, description: 'scaled price' },
    int('sales_channel_id', '1 = store, 2 = online', { min: 1, max: 2 }),
  ],
};

export const TABLES: Readonly<Record<TableKind, TableDef>> = {
  articles: ARTICLES,
  customers: CUSTOMERS,
  transactions: TRANSACTIONS,
};

/** The exact header line of the real file (no trailing newline). */
export function headerLine(table: TableDef): string {
  return table.columns.map((c) => c.name).join(',');
}

const SPARK_TYPES: Record<ColumnType, string> = {
  string: 'STRING',
  int: 'INT',
  double: 'DOUBLE',
  date: 'DATE',
};

/**
 * A Spark DDL schema string, e.g. `"article_id STRING, product_code INT, ..."`, for
 * `spark.read.schema(ddl).options(SPARK_CSV_OPTIONS).csv(path)`. Ids stay STRING, `t_dat` is DATE,
 * `price` DOUBLE, `sales_channel_id` INT; `age`, `FN` and `Active` are DOUBLE because the files
 * write them as `21.0`.
 */
export function sparkDdl(table: TableDef): string {
  return table.columns.map((c) => `${sparkColumnName(c)} ${SPARK_TYPES[c.type]}`).join(', ');
}

/** A column's name as Spark SQL reads it: bare when it is an identifier, else back-quoted. */
export function sparkColumnName(column: ColumnDef): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(column.name)
    ? column.name
    : `\`${column.name.replaceAll('`', '``')}\``;
}

/**
 * Spark CSV reader options the real files need: a header line, `"` both quotes and escapes
 * (RFC 4180 doubling), one record per line, and an empty field is null. FAILFAST because the
 * batch reads only validated files (see validate.ts): a row Spark cannot parse there is a bug,
 * and PERMISSIVE would hide it as nulls.
 */
export const SPARK_CSV_OPTIONS: Readonly<Record<string, string>> = {
  header: 'true',
  sep: ',',
  quote: '"',
  escape: '"',
  multiLine: 'false',
  nullValue: '',
  dateFormat: 'yyyy-MM-dd',
  encoding: 'UTF-8',
  mode: 'FAILFAST',
};

/** First and last day of the real `transactions_train.csv`. */
export const REAL_FIRST_DAY = '2018-09-20';
export const REAL_LAST_DAY = '2020-09-22';

/** Quotes a field the way the real files do: only when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  if (!/[",\r\n]/.test(value)) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

/** One CSV line (no newline) from field values; empty string is a missing value. */
export function csvLine(values: readonly string[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    line += csvField(values[i]!);
  }
  return line;
}
