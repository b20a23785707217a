/**
 * Derives the generator's tables (tables.ts) from real Kaggle files:
 *
 *   tsx lib/hm/calibrate.ts <dir> > lib/hm/tables.ts
 *
 * `<dir>` holds `articles.csv[.gz]` (the full catalogue), and a transactions file plus the
 * matching customers file (`transactions_train[_sample].csv[.gz]`, `customers[_sample].csv`),
 * which may be a random sample of customers with their whole history. Only aggregate proportions
 * leave this script: names and codes of the hierarchy, counts per category, price and basket
 * distributions. No row of the real data is copied.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';

type Row = Record<string, string>;

function findFile(dir: string, prefix: string): string {
  const name = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && /\.csv(\.gz)?$/.test(f))
    .sort()[0];
  if (!name) throw new Error(`no ${prefix}*.csv[.gz] in ${dir}`);
  return join(dir, name);
}

function readCsv(path: string): Row[] {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  return parse(text, { columns: true, skip_empty_lines: true }) as Row[];
}

function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

function main(dir: string): string {
  const articles = readCsv(findFile(dir, 'articles'));
  const transactions = readCsv(findFile(dir, 'transactions'));
  const customers = readCsv(findFile(dir, 'customers'));
  const byId = new Map(articles.map((a) => [a['article_id']!, a]));
  const art = (id: string) => {
    const a = byId.get(id);
    if (!a) throw new Error(`transaction names unknown article ${id}`);
    return a;
  };

  // --- Hierarchy ------------------------------------------------------------------------------
  const uniq = <T>(rows: Row[], key: (r: Row) => string, value: (r: Row) => T) => {
    const m = new Map<string, T>();
    for (const r of rows) if (!m.has(key(r))) m.set(key(r), value(r));
    return [...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([, v]) => v);
  };
  const indexes = uniq(
    articles,
    (r) => r['index_code']!,
    (r) => [r['index_code'], r['index_name'], Number(r['index_group_no']), r['index_group_name']],
  );
  const sections = uniq(
    articles,
    (r) => r['section_no']!.padStart(3, '0'),
    (r) => [Number(r['section_no']), r['section_name']],
  );
  const productTypes = uniq(
    articles,
    (r) => String(Number(r['product_type_no']) + 10_000).padStart(6, '0'),
    (r) => [Number(r['product_type_no']), r['product_type_name'], r['product_group_name']],
  );
  const graphicsCount = countBy(
    articles,
    (r) => `${r['graphical_appearance_no']}|${r['graphical_appearance_name']}`,
  );
  const graphics = [...graphicsCount.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => {
      const [no, name] = k.split('|');
      return [Number(no), name, n];
    });

  // --- Demand per department: transaction share, shrunk toward the index's rate per article ---
  const deptArticles = countBy(articles, (r) => r['department_no']!);
  const deptTx = countBy(transactions, (t) => art(t['article_id']!)['department_no']!);
  const indexArticles = countBy(articles, (r) => r['index_code']!);
  const indexTx = countBy(transactions, (t) => art(t['article_id']!)['index_code']!);
  const totalTx = transactions.length;
  const PSEUDO = 3000;
  const deptInfo = uniq(
    articles,
    (r) => r['department_no']!.padStart(5, '0'),
    (r) => r,
  );
  const departments = deptInfo.map((r) => {
    const d = r['department_no']!;
    const idx = r['index_code']!;
    const expectedShare =
      ((indexTx.get(idx) ?? 0) / totalTx) * ((deptArticles.get(d) ?? 0) / indexArticles.get(idx)!);
    const share = ((deptTx.get(d) ?? 0) + PSEUDO * expectedShare) / (totalTx + PSEUDO);
    return [
      Number(d),
      r['department_name'],
      idx,
      Number(r['section_no']),
      Number(r['garment_group_no']),
      Math.max(1, Math.round(share * 1e6)),
    ];
  });
  const deptIndex = new Map(departments.map((d, i) => [String(d[0]), i]));
  const typeIndex = new Map(productTypes.map((t, i) => [String(t[0]), i]));
  const deptType = countBy(
    articles,
    (r) => `${deptIndex.get(r['department_no']!)}.${typeIndex.get(r['product_type_no']!)}`,
  );
  const deptTypeCounts = [...deptType.entries()]
    .map(([k, n]) => `${k}.${n}`)
    .sort((x, y) => {
      const [a1, a2] = x.split('.').map(Number);
      const [b1, b2] = y.split('.').map(Number);
      return a1! - b1! || a2! - b2!;
    });

  // --- Garment groups with a yearly season fitted on the transactions ----------------------
  const ggInfo = uniq(
    articles,
    (r) => r['garment_group_no']!,
    (r) => [Number(r['garment_group_no']), r['garment_group_name']!] as const,
  );
  const monthTotals = new Array<number>(12).fill(0);
  const ggMonth = new Map<number, number[]>();
  for (const t of transactions) {
    const month = Number(t['t_dat']!.slice(5, 7)) - 1;
    const gg = Number(art(t['article_id']!)['garment_group_no']);
    monthTotals[month]! += 1;
    if (!ggMonth.has(gg)) ggMonth.set(gg, new Array<number>(12).fill(0));
    ggMonth.get(gg)![month]! += 1;
  }
  const garmentGroups = ggInfo.map(([no, name]) => {
    const counts = ggMonth.get(no) ?? new Array<number>(12).fill(0);
    const n = counts.reduce((s, x) => s + x, 0);
    if (n === 0) return [no, name, 0, 0];
    const share = n / totalTx;
    let re = 0;
    let im = 0;
    for (let m = 0; m < 12; m++) {
      const rel = counts[m]! / monthTotals[m]! / share;
      const angle = (2 * Math.PI * (m * 30.44 + 15)) / 365.25;
      re += rel * Math.cos(angle);
      im += rel * Math.sin(angle);
    }
    const amplitude = Math.min(0.9, ((2 * Math.hypot(re, im)) / 12) * (n / (n + 500)));
    let peak = Math.round(((Math.atan2(im, re) / (2 * Math.PI)) * 365.25 + 365.25) % 365.25);
    if (amplitude < 0.05) peak = 0;
    return [no, name, round(amplitude < 0.05 ? 0 : amplitude, 2), peak];
  });

  // --- Colours: combinations with counts per index group --------------------------------------
  const groupNos = [...new Set(articles.map((r) => Number(r['index_group_no'])))].sort((a, b) => a - b);
  const colourCounts = new Map<string, number[]>();
  for (const r of articles) {
    const key = [
      r['colour_group_code'],
      r['colour_group_name'],
      r['perceived_colour_value_id'],
      r['perceived_colour_value_name'],
      r['perceived_colour_master_id'],
      r['perceived_colour_master_name'],
    ].join('|');
    if (!colourCounts.has(key)) colourCounts.set(key, new Array<number>(groupNos.length).fill(0));
    colourCounts.get(key)![groupNos.indexOf(Number(r['index_group_no']))]! += 1;
  }
  const colours = [...colourCounts.entries()]
    .sort((x, y) => y[1].reduce((s, v) => s + v, 0) - x[1].reduce((s, v) => s + v, 0))
    .map(([k, counts]) => {
      const [code, name, vid, vname, mid, mname] = k.split('|');
      return [Number(code), name, Number(vid), vname, Number(mid), mname, counts];
    });

  // --- Variants per product -------------------------------------------------------------------
  const perProduct = countBy(articles, (r) => r['product_code']!);
  const variantHist: number[] = [];
  for (const n of perProduct.values()) {
    const i = Math.min(n, 30) - 1;
    while (variantHist.length <= i) variantHist.push(0);
    variantHist[i]! += 1;
  }

  // --- Prices per product group (SEK cents; price = SEK / 590) -------------------------------
  const priceCounts = new Map<string, Map<number, number>>();
  for (const t of transactions) {
    const group = art(t['article_id']!)['product_group_name']!;
    const cents = Math.round(Number(t['price']) * 590 * 100);
    if (!priceCounts.has(group)) priceCounts.set(group, new Map());
    const m = priceCounts.get(group)!;
    m.set(cents, (m.get(cents) ?? 0) + 1);
  }
  const prices: Record<string, number[][]> = {};
  for (const [group, m] of [...priceCounts.entries()].sort()) {
    // List prices end in 9 (x.99, x9.00); the others are markdowns the generator adds itself.
    prices[group] = [...m.entries()]
      .filter(([c]) => c % 100 === 99 || c % 1000 === 900)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 14)
      .sort((x, y) => x[0] - y[0]);
  }

  // --- Baskets (one customer, one day), quantities, channels ---------------------------------
  const baskets = new Map<string, Row[]>();
  for (const t of transactions) {
    const key = `${t['customer_id']}|${t['t_dat']}`;
    const list = baskets.get(key);
    if (list) list.push(t);
    else baskets.set(key, [t]);
  }
  const sizeHist = { store: [] as number[], online: [] as number[] };
  const quantityHist: number[] = [];
  for (const rows of baskets.values()) {
    const perArticle = countBy(rows, (r) => r['article_id']!);
    const channel = rows[0]!['sales_channel_id'] === '2' ? 'online' : 'store';
    const hist = sizeHist[channel];
    const i = Math.min(perArticle.size, 40) - 1;
    while (hist.length <= i) hist.push(0);
    hist[i]! += 1;
    for (const q of perArticle.values()) {
      const j = Math.min(q, 6) - 1;
      while (quantityHist.length <= j) quantityHist.push(0);
      quantityHist[j]! += 1;
    }
  }

  // --- Daily volume: day of week and calendar month --------------------------------------------
  const dow = new Array<number>(7).fill(0);
  const monthDays = new Map<string, Set<string>>();
  const monthTx = countBy(transactions, (t) => t['t_dat']!.slice(0, 7));
  for (const t of transactions) {
    const d = t['t_dat']!;
    dow[(new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7]! += 1;
    const m = d.slice(0, 7);
    if (!monthDays.has(m)) monthDays.set(m, new Set());
    monthDays.get(m)!.add(d);
  }
  const dowMean = dow.reduce((s, x) => s + x, 0) / 7;
  const perDay = [...monthTx.entries()].sort().map(([m, n]) => [m, n / monthDays.get(m)!.size] as const);
  const perDayMean = perDay.reduce((s, [, v]) => s + v, 0) / perDay.length;

  // --- Customers ------------------------------------------------------------------------------
  const txPerCustomer = countBy(transactions, (t) => t['customer_id']!);
  const visitsPerCustomer = countBy(baskets.keys(), (k) => k.split('|')[0]!);
  const visits = [...visitsPerCustomer.values()];
  const vMean = visits.reduce((s, x) => s + x, 0) / visits.length;
  const vVar = visits.reduce((s, x) => s + (x - vMean) ** 2, 0) / visits.length;
  const flags = countBy(customers, (c) => `${c['FN']}|${c['Active']}|${c['fashion_news_frequency']}`);
  const club = [...countBy(customers, (c) => c['club_member_status']!).entries()].map(([status, n]) => {
    const members = customers.filter((c) => c['club_member_status'] === status);
    const meanTx = members.reduce((s, c) => s + (txPerCustomer.get(c['customer_id']!) ?? 0), 0) / n;
    return [status, n, round(meanTx, 2)];
  });
  const newsActivity = [...countBy(customers, (c) => c['fashion_news_frequency']!).entries()].map(
    ([f, n]) => {
      const members = customers.filter((c) => c['fashion_news_frequency'] === f);
      return [
        f,
        n,
        round(members.reduce((s, c) => s + (txPerCustomer.get(c['customer_id']!) ?? 0), 0) / n, 2),
      ];
    },
  );
  // Ages by the index group a customer buys most from (5-year bins from 15).
  const topGroup = new Map<string, number>();
  {
    const perCustomer = new Map<string, Map<number, number>>();
    for (const t of transactions) {
      const g = Number(art(t['article_id']!)['index_group_no']);
      const m = perCustomer.get(t['customer_id']!) ?? new Map<number, number>();
      m.set(g, (m.get(g) ?? 0) + 1);
      perCustomer.set(t['customer_id']!, m);
    }
    for (const [c, m] of perCustomer) topGroup.set(c, [...m.entries()].sort((x, y) => y[1] - x[1])[0]![0]);
  }
  const BINS = 17;
  const ageAll = new Array<number>(BINS).fill(0);
  const ageByGroup = new Map<number, number[]>(groupNos.map((g) => [g, new Array<number>(BINS).fill(0)]));
  let ageMissing = 0;
  for (const c of customers) {
    if (c['age'] === '') {
      ageMissing++;
      continue;
    }
    const bin = Math.max(0, Math.min(BINS - 1, Math.floor((Number(c['age']) - 15) / 5)));
    ageAll[bin]! += 1;
    const g = topGroup.get(c['customer_id']!);
    if (g !== undefined) ageByGroup.get(g)![bin]! += 1;
  }
  // Online share per customer (customers with >= 5 purchases): Beta by moments.
  const onlineShares: number[] = [];
  {
    const perCustomer = new Map<string, [number, number]>();
    for (const t of transactions) {
      const v = perCustomer.get(t['customer_id']!) ?? [0, 0];
      v[0] += t['sales_channel_id'] === '2' ? 1 : 0;
      v[1] += 1;
      perCustomer.set(t['customer_id']!, v);
    }
    for (const [on, n] of perCustomer.values()) if (n >= 5) onlineShares.push(on / n);
  }
  const oMean = onlineShares.reduce((s, x) => s + x, 0) / onlineShares.length;
  const oVar = onlineShares.reduce((s, x) => s + (x - oMean) ** 2, 0) / onlineShares.length;
  const oK = (oMean * (1 - oMean)) / oVar - 1;
  const postal = countBy(customers, (c) => c['postal_code']!);
  const topPostal = Math.max(...postal.values()) / customers.length;

  const json = (v: unknown) => JSON.stringify(v);
  const list = (rows: unknown[]) => `[\n${rows.map((r) => `  ${json(r)},`).join('\n')}\n]`;
  return `/**
 * Tables derived from the real H&M files by calibrate.ts: the product hierarchy and colour names
 * with their catalogue counts, and proportions measured on a random sample of customers with
 * their full history. Generated — edit calibrate.ts and re-run it instead of editing by hand.
 */
/* biome-ignore-all format: generated tables */

/** [index_code, index_name, index_group_no, index_group_name] */
export const INDEXES: readonly [string, string, number, string][] = ${list(indexes)};

/** [section_no, section_name] */
export const SECTIONS: readonly [number, string][] = ${list(sections)};

/** [garment_group_no, name, season amplitude, season peak day of year] fitted on monthly shares. */
export const GARMENT_GROUPS: readonly [number, string, number, number][] = ${list(garmentGroups)};

/** [department_no, name, index_code, section_no, garment_group_no, share of purchases per million] */
export const DEPARTMENTS: readonly [number, string, string, number, number, number][] = ${list(departments)};

/** [product_type_no, product_type_name, product_group_name] */
export const PRODUCT_TYPES: readonly [number, string, string][] = ${list(productTypes)};

/** Catalogue counts as "department index.product type index.articles", space separated. */
export const DEPARTMENT_TYPE_COUNTS = ${json(deptTypeCounts.join(' '))};

/** [graphical_appearance_no, name, articles] */
export const GRAPHICS: readonly [number, string, number][] = ${list(graphics)};

/** Index group numbers, in the order of the counts in COLOURS. */
export const COLOUR_INDEX_GROUPS: readonly number[] = ${json(groupNos)};

/** [colour_group_code, name, perceived value id, name, perceived master id, name, articles per index group] */
export const COLOURS: readonly [number, string, number, string, number, string, number[]][] = ${list(colours)};

/** Products with 1, 2, ... colour variants (articles sharing a product_code). */
export const VARIANTS_PER_PRODUCT: readonly number[] = ${json(variantHist)};

/** List prices in SEK cents (price column = SEK / 590) with purchase counts, per product group. */
export const LIST_PRICES: Readonly<Record<string, readonly [number, number][]>> = {
${Object.entries(prices)
  .map(([g, v]) => `  ${json(g)}: ${json(v)},`)
  .join('\n')}
};

/** Baskets (one customer, one day) with 1, 2, ... distinct articles, by channel. */
export const BASKET_SIZES = ${json(sizeHist)};

/** Rows of one article in one basket: 1, 2, ... (the files repeat a row per unit). */
export const QUANTITIES: readonly number[] = ${json(quantityHist)};

/** Relative purchases per weekday, Monday first (mean 1). */
export const DAY_OF_WEEK: readonly number[] = ${json(dow.map((x) => round(x / dowMean, 3)))};

/** Relative purchases per day in each calendar month (mean 1). */
export const MONTHS: Readonly<Record<string, number>> = ${json(Object.fromEntries(perDay.map(([m, v]) => [m, round(v / perDayMean, 3)])))};

/** Visits (baskets) per customer over the two years: mean and variance. */
export const VISITS = ${json({ mean: round(vMean, 3), variance: round(vVar, 2) })};

/** [FN, Active, fashion_news_frequency, customers] */
export const CUSTOMER_NEWS: readonly [string, string, string, number][] = ${json(
    [...flags.entries()].sort((x, y) => y[1] - x[1]).map(([k, n]) => [...k.split('|'), n]),
  )};

/** [club_member_status, customers, mean purchases] */
export const CLUB_STATUS: readonly [string, number, number][] = ${json(club)};

/** [fashion_news_frequency, customers, mean purchases] */
export const NEWS_ACTIVITY: readonly [string, number, number][] = ${json(newsActivity)};

/** Ages in 5-year bins from 15 (last bin open): all customers, and by the index group bought most. */
export const AGES = ${json({ start: 15, width: 5, missing: round(ageMissing / customers.length), all: ageAll, byIndexGroup: Object.fromEntries(ageByGroup) })};

/** Beta parameters of a customer's share of online purchases. */
export const ONLINE_SHARE = ${json({ mean: round(oMean), k: round(oK, 3) })};

/** Share of customers in the single most common postal code. */
export const TOP_POSTAL_SHARE = ${round(topPostal)};
`;
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: tsx lib/hm/calibrate.ts <dir with the Kaggle files> > lib/hm/tables.ts');
  process.exit(2);
}
process.stdout.write(main(dir));
