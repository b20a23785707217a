/**
 * One set of rules, two implementations: the same raw files, broken in every way the rules name,
 * go through the Node validator (lib/hm/validate.ts, `npm run data:validate`) and through the
 * Spark checks of the batch (batch/raw-checks.ts, against the real Spark Connect server), and both
 * must reject the same lines with the same reasons and accept the same number of rows. The Spark
 * session splits the files into 1 KiB pieces, so line numbers are checked across many splits.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.ts';
import {
  ARTICLES,
  CUSTOMERS,
  csvLine,
  headerLine,
  TABLE_KINDS,
  TABLES,
  TRANSACTIONS,
} from '../lib/hm/schema.ts';
import { validateRawDirectory } from '../lib/hm/validate.ts';
import { SparkSession } from '../lib/spark-connect/index.ts';
import {
  type CheckedFile,
  checkedLines,
  checkHeader,
  countLines,
  findRawFileInSpark,
  rawLines,
  rejectsOf,
} from './raw-checks.ts';

const root = mkdtempSync(join(tmpdir(), 'raw-validation-'));
const raw = join(root, 'raw');
const C = (n: number) => n.toString(16).padStart(64, '0');
const POSTAL = 'f'.repeat(64);

/** The fields of a good article row, with the given changes. */
function article(changes: Record<string, string> = {}): string[] {
  const base: Record<string, string> = {
    article_id: '0108775015',
    product_code: '108775',
    prod_name: 'Strap top',
    product_type_no: '253',
    product_type_name: 'Vest top',
    product_group_name: 'Garment Upper body',
    graphical_appearance_no: '1010016',
    graphical_appearance_name: 'Solid',
    colour_group_code: '9',
    colour_group_name: 'Black',
    perceived_colour_value_id: '4',
    perceived_colour_value_name: 'Dark',
    perceived_colour_master_id: '5',
    perceived_colour_master_name: 'Black',
    department_no: '1676',
    department_name: 'Jersey Basic',
    index_code: 'A',
    index_name: 'Ladieswear',
    index_group_no: '1',
    index_group_name: 'Ladieswear',
    section_no: '16',
    section_name: 'Womens Everyday Basics',
    garment_group_no: '1002',
    garment_group_name: 'Jersey Basic',
    detail_desc: 'Jersey top with narrow, shoulder straps.',
    ...changes,
  };
  return ARTICLES.columns.map((c) => base[c.name]!);
}
const a = (changes: Record<string, string> = {}) => csvLine(article(changes));

const articleLines = [
  `\ufeff${headerLine(ARTICLES)}`,
  a(),
  a({
    article_id: '0110065001',
    product_code: '110065',
    garment_group_name: 'Under-, Nightwear',
    detail_desc: '',
  }),
  '',
  a({ article_id: '0108775016', prod_name: 'Strap\u0001top' }),
  a({ article_id: '0108775017' }).replace('Strap top', 'Strap "top'),
  a({ article_id: '0108775018' }).replace('Strap top', '"Strap" top'),
  a({ article_id: '0108775019' }).replace('Strap top', 'Str"ap"'),
  csvLine(article({ article_id: '0108775020' }).slice(0, -1)),
  a({ article_id: '0108775021', product_code: 'x1' }),
  a({ article_id: '0108775022', prod_name: '' }),
  a({ article_id: '0108775023', index_code: 'AB' }),
  a({ article_id: '0999999001' }),
  a({ prod_name: 'the same id again' }),
  a({ article_id: '0108775099', detail_desc: 'Soft, "cozy" top' }),
  a({ article_id: '0108775024\u2028' }),
  `${a({ article_id: '0108775025' })}\r`,
  a({ article_id: '0108775026', product_code: '00108775' }),
  a({ article_id: '0108775027', product_type_no: '99999999999' }),
  a({ article_id: '0108775028', detail_desc: 'quoted, then "text" after' }).replace(/"$/, '" x'),
  a({ article_id: '0120000001', product_code: '0120000' }),
];

const customerLines = [
  headerLine(CUSTOMERS),
  `${C(1)},1.0,1.0,ACTIVE,Regularly,21.0,${POSTAL}`,
  `${C(2)},,,,,,${POSTAL}`,
  `${C(3)},2.0,1.0,ACTIVE,NONE,30,${POSTAL}`,
  `${C(4)},,,ACTIVE,None,abc,${POSTAL}`,
  `${C(5)},,,ACTIVE,None,1e400,${POSTAL}`,
  `${C(6)},,,X,None,40,${POSTAL}`,
  `${C(1)},,,,,,${POSTAL}`,
  `,,,,,,${POSTAL}`,
  `${C(7).toUpperCase().replace(/^0/, 'A')},,,,,,${POSTAL}`,
  `${C(8)},,,,, 21,${POSTAL}`,
  `${C(9)},,,,,.5,${POSTAL}`,
  `${C(10)},,,,,+1E2,${POSTAL}`,
  `${C(11)},,,,,NaN,${POSTAL}`,
  `${C(12)},,,LEFT CLUB,Monthly,21.,${POSTAL}`,
  `${C(13)},,,,,,${POSTAL.slice(1)}\u00ff`,
];

function transactionLines(): string[] {
  const lines = [headerLine(TRANSACTIONS)];
  const bad = [
    `2020-02-30,${C(1)},0108775015,0.05,1`,
    `2020-9-01,${C(1)},0108775015,0.05,1`,
    `2020-09-01,${C(1)},0108775015,-0.1,1`,
    `2020-09-01,${C(1)},0108775015,NaN,1`,
    `2020-09-01,${C(1)},0108775015,1001,1`,
    `2020-09-01,${C(1)},0108775015,0.05,3`,
    `2020-09-01,${C(1)},0108775015,0.05,1.0`,
    `2020-09-01,${C(1)},0999999001,0.05,1`,
    `2020-09-01,${C(1)},0108775016,0.05,1`,
    `2020-09-01,${C(1)},,0.05,1`,
    `2020-09-01,${C(1)},0108775015,0.05`,
    `2020-09-01,${C(1)},0108775015,0.05,1,extra`,
    `"2020-09-01",${C(1)},0108775015,0.05,1`,
    '',
  ];
  // 240 good rows with the broken ones spread over the file (its start, middle and end).
  for (let i = 0; i < 240; i++) {
    if (i % 18 === 0 && bad.length > 0) lines.push(bad.shift()!);
    const day = `2020-09-${String(1 + (i % 28)).padStart(2, '0')}`;
    const item = i % 3 === 0 ? '0110065001' : '0108775015';
    lines.push(`${day},${C(1 + (i % 13))},${item},0.0${i % 9}5,${1 + (i % 2)}`);
  }
  lines.push(...bad);
  lines.push(`2020-09-30,${C(2)},0108775099,01.5e-2,01`);
  return lines;
}

interface Reject {
  line: number;
  code: string;
  reason: string;
}

describe('raw-file validation: Node and Spark apply the same rules', () => {
  const spark = new SparkSession({ remote: loadConfig(process.env).spark.remote });
  const node: Record<string, { accepted: number; rejects: Reject[] }> = {};

  beforeAll(async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(raw, { recursive: true });
    writeFileSync(join(raw, 'articles.csv'), `${articleLines.join('\n')}\n`);
    // Customers compressed (read as .gz by both), with one byte that is not UTF-8.
    const customers = Buffer.from(`${customerLines.join('\n')}\n`, 'utf8');
    const bad = customers.indexOf(Buffer.from('\u00ff', 'utf8'));
    customers[bad] = 0xff;
    customers[bad + 1] = 0x2c; // ",": a stray byte then one field too many
    writeFileSync(join(raw, 'customers.csv.gz'), gzipSync(customers));
    // Transactions with Windows line ends, no newline after the last line.
    writeFileSync(join(raw, 'transactions_train.csv'), transactionLines().join('\r\n'));

    const result = await validateRawDirectory(raw, join(root, 'clean'), join(root, 'rejects'));
    for (const kind of TABLE_KINDS) {
      const file = join(root, 'rejects', TABLES[kind].fileName.replace(/\.csv$/, '.rejects.csv'));
      const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
      node[kind] = {
        accepted: result[kind].accepted,
        rejects: rows.map((r) => ({
          line: Number(r['line_number']),
          code: r['reason']!.slice(0, r['reason']!.indexOf(':')),
          reason: r['reason']!,
        })),
      };
    }
    // Many small splits per file: line numbers must come out right across them.
    await spark.conf.set('spark.sql.files.maxPartitionBytes', '1024');
  });

  afterAll(async () => {
    await spark.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('rejects the same lines with the same reason codes, accepts the same rows', async () => {
    const files = {} as Record<string, CheckedFile>;
    for (const kind of TABLE_KINDS) {
      const location = await findRawFileInSpark(spark, raw, kind);
      await checkHeader(spark, location, kind);
      const checked = checkedLines(
        kind,
        rawLines(spark, location),
        kind === 'transactions'
          ? files['articles']!.checked.where('reason IS NULL').select('article_id')
          : undefined,
      );
      const { result, counts } = await countLines(checked);
      files[kind] = { location, checked, result, counts };
      const rows = await rejectsOf(files[kind], TABLES[kind].fileName).orderBy('line_number').collect();
      const sparkRejects: Reject[] = rows.map((r) => ({
        line: Number(r['line_number']),
        code: String(r['reason_code']),
        reason: String(r['reason']),
      }));

      const expected = node[kind]!;
      expect(
        sparkRejects.map((r) => `${r.line} ${r.code}`),
        kind,
      ).toEqual(expected.rejects.map((r) => `${r.line} ${r.code}`));
      // The readable reasons match too, except csv-parse's own words for a malformed record.
      const readable = (list: Reject[]) =>
        list.filter((r) => r.code !== 'malformed_csv').map((r) => r.reason);
      expect(readable(sparkRejects), kind).toEqual(readable(expected.rejects));
      expect(result.accepted, kind).toBe(expected.accepted);
      expect(result.rejected, kind).toBe(expected.rejects.length);
      if (kind !== 'customers') expect(counts.lines.size, `${kind} splits`).toBeGreaterThan(1);
    }
    // Every rule of the table was exercised.
    const codes = new Set(TABLE_KINDS.flatMap((kind) => node[kind]!.rejects.map((r) => r.code)));
    for (const code of [
      'empty_line',
      'bad_characters',
      'unbalanced_quotes',
      'malformed_csv',
      'column_count',
      'article_product_mismatch',
      'unknown_article',
      'duplicate_id',
    ]) {
      expect(codes, code).toContain(code);
    }

    // Accepted rows are typed; a quoted field keeps its commas and quotes.
    const [cozy] = await files['articles']!.checked.where("article_id = '0108775099'").collect();
    expect(cozy?.['detail_desc']).toBe('Soft, "cozy" top');
    const [last] = await files['transactions']!.checked.where(
      "reason IS NULL AND article_id = '0108775099'",
    ).collect();
    expect(last?.['sales_channel_id']).toBe(1);
    expect(last?.['price']).toBeCloseTo(0.015);
  });
});
