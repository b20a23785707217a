import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { ARTICLES, CUSTOMERS, headerLine, TRANSACTIONS } from './schema.ts';
import { readArticleIds, unusableFile, validateRawDirectory, validateRawFile } from './validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'hm-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CUSTOMER = 'a'.repeat(63) + 'b';
const ARTICLE_ROW =
  '0108775015,108775,Strap top,253,Vest top,Garment Upper body,1010016,Solid,9,Black,4,Dark,5,Black,1676,Jersey Basic,A,Ladieswear,1,Ladieswear,16,Womens Everyday Basics,1002,Jersey Basic,"Jersey top with narrow, shoulder straps."';
const ARTICLE_ROW_2 =
  '0110065001,110065,OP T-shirt (Idro),306,Bra,Underwear,1010016,Solid,9,Black,4,Dark,5,Black,1339,Clean Lingerie,B,Lingeries/Tights,1,Ladieswear,61,Womens Lingerie,1017,"Under-, Nightwear",';

function write(name: string, lines: string[], eol = '\n'): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join(eol) + eol);
  return path;
}

function rejectsOf(path: string): { line: number; reason: string; raw: string }[] {
  const rows = parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
  return rows.map((r) => ({ line: Number(r['line_number']), reason: r['reason']!, raw: r['raw_line']! }));
}

describe('validateRawFile: transactions seeded with every kind of bad row', () => {
  const good = (date: string, price = '0.0338813559322034') => `${date},${CUSTOMER},0108775015,${price},2`;
  const lines = [
    headerLine(TRANSACTIONS),
    good('2020-09-01'), // 2 ok
    `2020-09-01,${CUSTOMER},0108775015,0.01`, // 3 column_count (4 fields)
    `2020-09-01,${CUSTOMER},0108775015,0.01,2,extra`, // 4 column_count (6 fields)
    good('2020-13-01'), // 5 bad_t_dat (month 13)
    good('2019-02-29'), // 6 bad_t_dat (not a leap year)
    good('20200901'), // 7 bad_t_dat
    good('2020-09-01', 'abc'), // 8 bad_price
    good('2020-09-01', 'NaN'), // 9 bad_price
    good('2020-09-01', '-0.5'), // 10 bad_price
    `2020-09-01,${CUSTOMER},108775015,0.01,2`, // 11 bad_article_id (leading zero lost)
    `2020-09-01,${CUSTOMER.toUpperCase()},0108775015,0.01,2`, // 12 bad_customer_id (upper case)
    `2020-09-01,abc123,0108775015,0.01,2`, // 13 bad_customer_id (short)
    `2020-09-01,${CUSTOMER},0999999001,0.01,2`, // 14 unknown_article
    `2020-09-01,${CUSTOMER},0108775015,0.01,3`, // 15 bad_sales_channel_id
    `2020-09-01,${CUSTOMER},0108775015,0.01,1.5`, // 16 bad_sales_channel_id
    `,${CUSTOMER},0108775015,0.01,2`, // 17 missing_t_dat
    '', // 18 empty_line
    `2020-09-01,"${CUSTOMER},0108775015,0.01,2`, // 19 unbalanced_quotes
    `2020-09-01,${CUSTOMER}x"y"z,0108775015,0.01,2`, // 20 malformed_csv (quote inside a field)
    `2020-09-01,${CUSTOMER},0108775015,0.01\r2,2`, // 21 bad_characters (stray carriage return)
    `"2020-09-02","${CUSTOMER}","0108775015","0.02","1"`, // 22 ok: quoted fields are valid CSV
    good('2020-09-03'), // 23 ok
  ];
  const input = write('transactions.csv', lines);

  it('counts, keeps and explains every rejected row, and passes the good ones through unchanged', async () => {
    const cleanOut = join(dir, 'transactions.clean.csv');
    const rejectsOut = join(dir, 'transactions.rejects.csv');
    const result = await validateRawFile('transactions', input, {
      cleanOut,
      rejectsOut,
      knownArticleIds: new Set(['0108775015']),
    });
    expect(result.total).toBe(lines.length - 1);
    expect(result.accepted + result.rejected).toBe(result.total);
    expect(result.accepted).toBe(3);
    expect(result.reasons).toEqual({
      column_count: 2,
      bad_t_dat: 3,
      bad_price: 3,
      bad_article_id: 1,
      bad_customer_id: 2,
      unknown_article: 1,
      bad_sales_channel_id: 2,
      missing_t_dat: 1,
      empty_line: 1,
      unbalanced_quotes: 1,
      malformed_csv: 1,
      bad_characters: 1,
    });

    const clean = readFileSync(cleanOut, 'utf8').split('\n');
    expect(clean).toEqual([lines[0], lines[1], lines[21], lines[22], '']);

    const rejects = rejectsOf(rejectsOut);
    expect(rejects.map((r) => r.line)).toEqual([
      3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
    ]);
    // The raw line is kept exactly, even when it holds quotes or a carriage return.
    for (const r of rejects) expect(r.raw).toBe(lines[r.line - 1]);
    expect(rejects.find((r) => r.line === 8)?.reason).toMatch(/^bad_price: price "abc"/);
    expect(rejects.find((r) => r.line === 3)?.reason).toBe('column_count: expected 5 fields, found 4');
  });

  it('without known article ids, an unknown article is not a reason', async () => {
    const result = await validateRawFile('transactions', input, {
      cleanOut: join(dir, 't2.clean.csv'),
      rejectsOut: join(dir, 't2.rejects.csv'),
    });
    expect(result.reasons['unknown_article']).toBeUndefined();
    expect(result.accepted).toBe(4);
  });
});

describe('validateRawFile: articles and customers', () => {
  it('accepts quoted commas and an empty detail_desc, rejects duplicates and id/product mismatches', async () => {
    const mismatch = ARTICLE_ROW.replace('0108775015,108775', '0108775016,108776');
    const lines = [headerLine(ARTICLES), ARTICLE_ROW, ARTICLE_ROW_2, ARTICLE_ROW, mismatch];
    const input = write('articles.csv', lines, '\r\n');
    const result = await validateRawFile('articles', input, {
      cleanOut: join(dir, 'articles.clean.csv'),
      rejectsOut: join(dir, 'articles.rejects.csv'),
    });
    expect(result).toEqual({
      total: 4,
      accepted: 2,
      rejected: 2,
      reasons: { duplicate_id: 1, article_product_mismatch: 1 },
    });
    const clean = parse(readFileSync(join(dir, 'articles.clean.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(clean.map((r) => r['article_id'])).toEqual(['0108775015', '0110065001']);
    expect(clean[0]!['detail_desc']).toBe('Jersey top with narrow, shoulder straps.');
    expect(clean[1]!['garment_group_name']).toBe('Under-, Nightwear');
    expect(clean[1]!['detail_desc']).toBe('');
    expect(await readArticleIds(join(dir, 'articles.clean.csv'))).toEqual(
      new Set(['0108775015', '0110065001']),
    );
  });

  it('checks customer enums, ages and hex ids; empty optional fields are fine', async () => {
    const lines = [
      headerLine(CUSTOMERS),
      `${CUSTOMER},,,ACTIVE,NONE,21.0,${'c'.repeat(64)}`,
      `${'d'.repeat(64)},1.0,1.0,PRE-CREATE,Regularly,,${'c'.repeat(64)}`,
      `${'e'.repeat(64)},,,MEMBER,NONE,21.0,${'c'.repeat(64)}`, // bad club status
      `${'f'.repeat(64)},,,ACTIVE,NONE,twenty,${'c'.repeat(64)}`, // bad age
      `${'0'.repeat(64)},,,ACTIVE,NONE,21.0,`, // missing postal code
    ];
    const result = await validateRawFile('customers', write('customers.csv', lines), {
      cleanOut: join(dir, 'customers.clean.csv'),
      rejectsOut: join(dir, 'customers.rejects.csv'),
    });
    expect(result.accepted).toBe(2);
    expect(result.reasons).toEqual({ bad_club_member_status: 1, bad_age: 1, missing_postal_code: 1 });
  });

  it('fails the whole file, naming the problem, when the header is wrong or the file is missing', async () => {
    const input = write('wrong.csv', [
      headerLine(CUSTOMERS),
      `${CUSTOMER},,,ACTIVE,NONE,21.0,${'c'.repeat(64)}`,
    ]);
    const options = { cleanOut: join(dir, 'w.clean.csv'), rejectsOut: join(dir, 'w.rejects.csv') };
    await expect(validateRawFile('transactions', input, options)).rejects.toThrow(ValidationError);
    await expect(validateRawFile('transactions', input, options)).rejects.toThrow(
      /expected "t_dat,customer_id/,
    );
    await expect(validateRawFile('articles', join(dir, 'nope.csv'), options)).rejects.toThrow(/not found/);
  });
});

describe('validateRawDirectory', () => {
  it('validates the three files in order, reading .gz, and checks articles of transactions', async () => {
    const raw = join(dir, 'raw');
    const clean = join(dir, 'clean');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(raw, { recursive: true });
    writeFileSync(join(raw, 'articles.csv.gz'), gzipSync(`${headerLine(ARTICLES)}\n${ARTICLE_ROW}\n`));
    writeFileSync(
      join(raw, 'customers.csv'),
      `${headerLine(CUSTOMERS)}\n${CUSTOMER},,,ACTIVE,NONE,21.0,${'c'.repeat(64)}\n`,
    );
    writeFileSync(
      join(raw, 'transactions_train.csv'),
      `${headerLine(TRANSACTIONS)}\n2020-09-01,${CUSTOMER},0108775015,0.01,2\n2020-09-01,${CUSTOMER},0110065001,0.01,2`,
    );
    const result = await validateRawDirectory(raw, clean);
    expect(result.articles.accepted).toBe(1);
    expect(result.customers.accepted).toBe(1);
    expect(result.transactions).toMatchObject({ total: 2, accepted: 1, reasons: { unknown_article: 1 } });
    expect(readFileSync(result.clean.transactions, 'utf8')).toBe(
      `${headerLine(TRANSACTIONS)}\n2020-09-01,${CUSTOMER},0108775015,0.01,2\n`,
    );
  });
});

describe('unusableFile (MAX_REJECT_RATIO and empty files)', () => {
  const result = (total: number, rejected: number, reasons: Record<string, number> = {}) => ({
    total,
    accepted: total - rejected,
    rejected,
    reasons,
  });

  it('refuses a header-only transactions or articles file, and not an empty customers file', async () => {
    const path = write('header-only.csv', [headerLine(TRANSACTIONS)]);
    const validated = await validateRawFile('transactions', path, {
      cleanOut: join(dir, 'header-only.clean.csv'),
      rejectsOut: join(dir, 'header-only.rejects.csv'),
      knownArticleIds: new Set(),
    });
    expect(validated).toMatchObject({ total: 0, accepted: 0 });
    expect(unusableFile('transactions', validated, 0.01)).toBe(
      'transactions_train.csv has no data rows (only a header, or nothing)',
    );
    expect(unusableFile('articles', result(0, 0), 0.01)).toMatch(/^articles\.csv has no data rows/);
    expect(unusableFile('customers', result(0, 0), 0.01)).toBeNull();
  });

  it('refuses a file with more rejected rows than the ratio allows, naming the counts and top reasons', () => {
    const bad = result(30_000, 29_900, {
      bad_price: 29_800,
      bad_t_dat: 60,
      column_count: 30,
      unknown_article: 10,
    });
    expect(unusableFile('transactions', bad, 0.01)).toBe(
      'transactions_train.csv: 29900 of 30000 rows rejected (99.7 %), more than MAX_REJECT_RATIO=0.01 allows ' +
        '(top reasons: bad_price 29800, bad_t_dat 60, column_count 30)',
    );
    expect(unusableFile('transactions', result(1000, 10, { bad_price: 10 }), 0.01)).toBeNull();
    expect(unusableFile('transactions', result(1000, 11, { bad_price: 11 }), 0.01)).toMatch(/11 of 1000/);
    expect(unusableFile('customers', result(100, 100, { bad_age: 100 }), 0.5)).toMatch(
      /100 of 100 rows rejected/,
    );
    expect(unusableFile('articles', result(5, 5, { column_count: 5 }), 1)).toMatch(
      /^articles\.csv: none of its 5 rows is valid \(top reasons: column_count 5\)/,
    );
  });
});
