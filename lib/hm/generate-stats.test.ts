/**
 * The structure the generator claims, measured on its output with the same statistics used to
 * compare it with the real data: popularity skew, repeats, baskets, taste, seasonality, life cycles.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalogue, departmentTypes } from './catalogue.ts';
import { generate } from './generate.ts';
import { CUSTOMERS, TRANSACTIONS } from './schema.ts';
import { computeStats, type Stats } from './stats.ts';
import { PRODUCT_TYPES } from './tables.ts';
import { DEFAULT_TASTE } from './taste.ts';

const dir = mkdtempSync(join(tmpdir(), 'hm-generate-stats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, string>;
const readCsv = (path: string) => parse(readFileSync(path, 'utf8'), { columns: true }) as Row[];

let stats: Stats;
const out = join(dir, 'a');

beforeAll(async () => {
  await generate({ scale: 'tiny', seed: 7, out, truthOut: join(dir, 'truth.csv') });
  stats = await computeStats({
    articlesPath: join(out, 'articles.csv'),
    transactionsPath: join(out, TRANSACTIONS.fileName),
    truthPath: join(dir, 'truth.csv'),
  });
});

describe('generate: the structure it claims', () => {
  it('long-tailed popularity: the top 10 % of articles take far more than 10 % of purchases', () => {
    expect(stats.popularity.top10PctShare).toBeGreaterThan(0.45);
    expect(stats.popularity.top1PctShare).toBeGreaterThan(0.08);
    expect(stats.popularity.gini).toBeGreaterThan(0.6);
  });

  it('repeat purchases: some rows re-buy an article bought on an earlier day, more with a higher repeat rate', async () => {
    // tiny is dense (30 purchases per customer in six months from 1,500 articles), so chance
    // re-buys add to the deliberate ones; small and full come close to the real 4 % (docs/data.md).
    expect(stats.repeatRowShare).toBeGreaterThan(0.02);
    expect(stats.repeatRowShare).toBeLessThan(0.3);
    const rates: number[] = [];
    for (const repeat of [0, 0.2]) {
      const s = await generate({
        scale: 'tiny',
        seed: 5,
        out: join(dir, `repeat-${repeat}`),
        overrides: { transactions: 5_000, customers: 300, articles: 600 },
        behaviour: { repeat },
      });
      const st = await computeStats({
        articlesPath: s.files.articles.path,
        transactionsPath: s.files.transactions.path,
      });
      rates.push(st.repeatRowShare);
    }
    expect(rates[1]! - rates[0]!).toBeGreaterThan(0.05);
  });

  it('multi-item baskets on the same day, with real-like sizes and repeated units', () => {
    expect(stats.basketDistinctMean).toBeGreaterThan(2.5);
    expect(stats.basketDistinctMean).toBeLessThan(4.5);
    expect(stats.basketSingleShare).toBeGreaterThan(0.2);
    expect(stats.basketSingleShare).toBeLessThan(0.45);
    expect(stats.sameDayDuplicateShare).toBeGreaterThan(0.05);
    expect(stats.sameDayDuplicateShare).toBeLessThan(0.16);
    // Baskets hold other colours of the same product and the same department more than chance.
    expect(stats.siblingShare).toBeGreaterThan(0.02);
    expect(stats.sameDepartmentPairShare).toBeGreaterThan(0.08);
  });

  it('taste signal: held-out customers buy in their own cluster’s top departments far above chance', () => {
    const taste = stats.taste!;
    expect(taste.customers).toBeGreaterThan(200);
    expect(taste.ownClusterShare).toBeGreaterThan(1.5 * taste.otherClusterShare);
    expect(taste.ownClusterArticleShare).toBeGreaterThan(2 * taste.otherClusterArticleShare);
  });

  it('article taste: each cluster’s affinity for products makes its own top articles differ from everyone’s', async () => {
    // Cells of department × style need a few articles on sale for the affinity to choose among,
    // hence more articles than tiny has. Same clusters and customers in both runs: the affinity
    // draws come from a stream of their own.
    const articleSignal = async (product: number) => {
      const out = join(dir, `affinity-${product}`);
      await generate({
        scale: 'tiny',
        seed: 5,
        out,
        truthOut: join(out, 'truth.csv'),
        overrides: { articles: 15_000, customers: 3_000, transactions: 60_000 },
        taste: { product },
      });
      const s = await computeStats({
        articlesPath: join(out, 'articles.csv'),
        transactionsPath: join(out, TRANSACTIONS.fileName),
        truthPath: join(out, 'truth.csv'),
      });
      return s.taste!;
    };
    const without = await articleSignal(0);
    const withAffinity = await articleSignal(DEFAULT_TASTE.product);
    expect(withAffinity.ownClusterArticleShare).toBeGreaterThan(without.ownClusterArticleShare);
    const lift = (t: typeof without) => t.ownClusterArticleShare / t.otherClusterArticleShare;
    expect(lift(withAffinity)).toBeGreaterThan(1.4 * lift(without));
    // Department taste is unchanged: the affinity moves purchases within departments.
    expect(Math.abs(withAffinity.ownClusterShare - without.ownClusterShare)).toBeLessThan(0.05);
  });

  it('weekly seasonality and both sales channels', () => {
    const [, tuesday, , thursday] = stats.dayOfWeek;
    expect(thursday! - tuesday!).toBeGreaterThan(0.1);
    expect(stats.onlineRowShare).toBeGreaterThan(0.55);
    expect(stats.onlineRowShare).toBeLessThan(0.85);
  });

  it('life cycles: an article sells mostly within weeks of its own peak, not evenly over time', () => {
    const days = new Map<string, number[]>();
    const lines = readFileSync(join(out, TRANSACTIONS.fileName), 'utf8').trimEnd().split('\n').slice(1);
    for (const line of lines) {
      // Transactions never hold quotes: fields are the text between commas.
      const [tDat, , article] = line.split(',');
      const list = days.get(article!) ?? [];
      list.push(Date.parse(tDat!) / 86_400_000);
      days.set(article!, list);
    }
    const nearPeak: number[] = [];
    for (const list of days.values()) {
      if (list.length < 20) continue;
      list.sort((a, b) => a - b);
      const median = list[Math.floor(list.length / 2)]!;
      nearPeak.push(list.filter((d) => Math.abs(d - median) <= 30).length / list.length);
    }
    // 61 of 183 days: an evenly selling article would have about a third near its median.
    const mean = nearPeak.reduce((s, x) => s + x, 0) / nearPeak.length;
    expect(nearPeak.length).toBeGreaterThan(100);
    expect(mean).toBeGreaterThan(0.5);
  });

  it('customer age follows taste: clusters leaning to Divided are younger than those leaning to Ladieswear', async () => {
    const big = join(dir, 'ages');
    await generate({
      scale: 'tiny',
      seed: 11,
      out: big,
      truthOut: join(big, 'truth.csv'),
      overrides: { customers: 10_000, transactions: 1_000, articles: 300 },
    });
    const group = new Map(
      readCsv(join(big, 'truth.csv')).map((r) => [r['customer_id']!, r['index_group_no']!]),
    );
    const ages = new Map<string, number[]>();
    for (const c of readCsv(join(big, CUSTOMERS.fileName))) {
      if (c['age'] === '') continue;
      const g = group.get(c['customer_id']!)!;
      const list = ages.get(g) ?? [];
      list.push(Number(c['age']));
      ages.set(g, list);
    }
    const mean = (g: string) => {
      const list = ages.get(g)!;
      return list.reduce((s, x) => s + x, 0) / list.length;
    };
    expect(mean('1') - mean('2')).toBeGreaterThan(2); // Ladieswear (1) older than Divided (2)
  });

  it('catalogue proportions follow the real catalogue’s product groups', () => {
    const cat = buildCatalogue(3, { articles: 30_000, days: 365 });
    const expected = new Map<string, number>();
    const total = departmentTypes.count.reduce((s, x) => s + x, 0);
    departmentTypes.productType.forEach((t, i) => {
      const g = PRODUCT_TYPES[t]![2];
      expected.set(g, (expected.get(g) ?? 0) + departmentTypes.count[i]! / total);
    });
    const got = new Map<string, number>();
    for (let i = 0; i < cat.size; i++) {
      const g = PRODUCT_TYPES[cat.productType[i]!]![2];
      got.set(g, (got.get(g) ?? 0) + 1 / cat.size);
    }
    for (const [g, share] of expected) expect(Math.abs((got.get(g) ?? 0) - share)).toBeLessThan(0.03);
    expect(expected.get('Garment Upper body')).toBeGreaterThan(0.35);
  });
});
