import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenerateSummary, generate } from './generate.ts';
import { ARTICLES, CUSTOMERS, headerLine, REAL_LAST_DAY, TRANSACTIONS } from './schema.ts';
import { readArticleIds, validateRawFile } from './validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'hm-generate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, string>;
const readCsv = (path: string) => parse(readFileSync(path, 'utf8'), { columns: true }) as Row[];
/** Transactions never hold quotes, so their rows split at commas (header dropped). */
const readTransactions = (path: string) =>
  readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [t_dat, customer_id, article_id, price, sales_channel_id] = line.split(',');
      return { t_dat: t_dat!, customer_id: customer_id!, article_id: article_id!, price, sales_channel_id };
    });
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let summary: GenerateSummary;
const out = join(dir, 'a');

beforeAll(async () => {
  summary = await generate({ scale: 'tiny', seed: 7, out });
});

describe('generate: files in the exact Kaggle layout', () => {
  it('writes the three files with the real headers and the requested row counts', () => {
    expect(summary.files.articles.rows).toBe(1500);
    expect(summary.files.customers.rows).toBe(1000);
    expect(summary.files.transactions.rows).toBe(30000);
    for (const table of [ARTICLES, CUSTOMERS, TRANSACTIONS]) {
      const first = readFileSync(join(out, table.fileName), 'utf8').split('\n', 1)[0];
      expect(first).toBe(headerLine(table));
    }
  });

  it('passes the validator with no rejected row (every field of every row conforms)', async () => {
    const articles = await validateRawFile('articles', join(out, ARTICLES.fileName), {
      cleanOut: join(dir, 'clean', 'articles.csv'),
      rejectsOut: join(dir, 'clean', 'articles.rejects.csv'),
    });
    const customers = await validateRawFile('customers', join(out, CUSTOMERS.fileName), {
      cleanOut: join(dir, 'clean', 'customers.csv'),
      rejectsOut: join(dir, 'clean', 'customers.rejects.csv'),
    });
    const ids = await readArticleIds(join(dir, 'clean', 'articles.csv'));
    const transactions = await validateRawFile('transactions', join(out, TRANSACTIONS.fileName), {
      cleanOut: join(dir, 'clean', 'transactions.csv'),
      rejectsOut: join(dir, 'clean', 'transactions.rejects.csv'),
      knownArticleIds: ids,
    });
    expect(articles).toEqual({ total: 1500, accepted: 1500, rejected: 0, reasons: {} });
    expect(customers).toEqual({ total: 1000, accepted: 1000, rejected: 0, reasons: {} });
    expect(transactions).toEqual({ total: 30000, accepted: 30000, rejected: 0, reasons: {} });
  });

  it('keeps the traps of the real files: leading zeros, quoted commas, hex ids, ages as 21.0', () => {
    const articles = readCsv(join(out, ARTICLES.fileName));
    expect(articles.every((a) => /^0\d{9}$/.test(a['article_id']!))).toBe(true);
    expect(articles.every((a) => a['article_id']!.startsWith(a['product_code']!.padStart(7, '0')))).toBe(
      true,
    );
    expect(new Set(articles.map((a) => a['article_id'])).size).toBe(articles.length);
    expect(articles.filter((a) => a['detail_desc']!.includes(',')).length).toBeGreaterThan(100);
    const raw = readFileSync(join(out, ARTICLES.fileName), 'utf8');
    expect(raw).toContain('"Under-, Nightwear"');
    // Sorted by article_id like the real file.
    const ids = articles.map((a) => a['article_id']!);
    expect([...ids].sort()).toEqual(ids);

    const customers = readCsv(join(out, CUSTOMERS.fileName));
    expect(customers.every((c) => /^[0-9a-f]{64}$/.test(c['customer_id']!))).toBe(true);
    expect(customers.every((c) => c['age'] === '' || /^\d+\.0$/.test(c['age']!))).toBe(true);
    expect(customers.some((c) => c['FN'] === '')).toBe(true);
    expect(customers.some((c) => c['FN'] === '1.0')).toBe(true);
  });

  it('sorts transactions by t_dat then customer_id and ends on the real last day', () => {
    const rows = readTransactions(join(out, TRANSACTIONS.fileName));
    const keys = rows.map((r) => `${r.t_dat} ${r.customer_id}`);
    const outOfOrder = keys.findIndex((k, i) => i > 0 && k < keys[i - 1]!);
    expect(outOfOrder).toBe(-1);
    expect(rows.at(-1)!.t_dat).toBe(REAL_LAST_DAY);
    expect(rows[0]!.t_dat >= summary.firstDay).toBe(true);
    expect(summary.firstDay).toBe('2020-03-24');
    // Enough purchases in the final 7 days for a hold-out.
    const holdout = rows.filter((r) => r.t_dat >= '2020-09-16').length;
    expect(holdout).toBeGreaterThan(300);
  });

  it('is deterministic: same seed and scale give byte-identical files, another seed does not', async () => {
    const again = await generate({ scale: 'tiny', seed: 7, out: join(dir, 'b') });
    const other = await generate({ scale: 'tiny', seed: 8, out: join(dir, 'c') });
    for (const table of [ARTICLES, CUSTOMERS, TRANSACTIONS]) {
      expect(sha(join(dir, 'b', table.fileName))).toBe(sha(join(out, table.fileName)));
      expect(sha(join(dir, 'c', table.fileName))).not.toBe(sha(join(out, table.fileName)));
    }
    expect(again.files.transactions.bytes).toBe(summary.files.transactions.bytes);
    expect(other.seed).toBe(8);
  });

  it('rejects bad options with a clear error', async () => {
    await expect(generate({ scale: 'huge' as 'tiny', out: join(dir, 'x') })).rejects.toThrow(
      /unknown scale "huge"/,
    );
    await expect(generate({ scale: 'tiny', out: join(dir, 'x'), overrides: { days: 900 } })).rejects.toThrow(
      /days must be at most 734/,
    );
    await expect(generate({ scale: 'tiny', out: join(dir, 'x'), seed: -1 })).rejects.toThrow(/seed/);
  });
});
