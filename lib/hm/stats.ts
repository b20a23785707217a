/**
 * Statistics of a set of H&M files, real or synthetic, computed the same way for both so the
 * generator can be checked against the real data (docs/data.md) and its claims tested:
 * category proportions, basket sizes, repeat purchases, popularity skew, how concentrated each
 * customer's purchases are, and (given the generator's truth file) the taste signal.
 *
 * Streams the transactions; per-customer state is kept only for a hashed sample of customers
 * (`customerFraction`) so the full-size file fits in memory. Assumes the file is sorted by
 * `t_dat` (both real and generated files are), so baskets are complete when the day changes.
 */
import { parse } from 'csv-parse/sync';
import { detach, readLineBatches } from './lines.ts';

export interface StatsInput {
  articlesPath: string;
  transactionsPath: string;
  /** `customer_id,cluster,...` file written by the generator's `truthOut`. */
  truthPath?: string;
  /** Keep per-customer statistics for this share of customers (by a hash of the id). Default 1. */
  customerFraction?: number;
}

interface ArticleInfo {
  product: string;
  productGroup: string;
  index: string;
  indexGroup: string;
  department: string;
  section: string;
  colourMaster: string;
}

interface CustomerState {
  rows: number;
  visits: number;
  firstDay: Map<string, string>;
  /** The latest day each article was bought (re-buy gaps). */
  lastDay: Map<string, string>;
  /** Articles bought on two or more days. */
  repeated: Set<string>;
  counts: Record<Level, Map<string, number>>;
}

const LEVELS = ['index', 'department', 'section', 'productGroup', 'colourMaster'] as const;
type Level = (typeof LEVELS)[number];

export interface Stats {
  articles: number;
  catalogue: { productGroup: Record<string, number>; indexGroup: Record<string, number> };
  rows: number;
  customersWithPurchases: number;
  purchases: { productGroup: Record<string, number>; index: Record<string, number> };
  onlineRowShare: number;
  onlineBasketShare: number;
  baskets: number;
  basketRowsMean: number;
  basketDistinctMean: number;
  basketSingleShare: number;
  sameDayDuplicateShare: number;
  siblingShare: number;
  sameDepartmentPairShare: number;
  /** Rows of an article the customer bought on an earlier day (sampled customers). */
  repeatRowShare: number;
  /** Customer–article pairs bought on two or more days (sampled customers). */
  repeatPairShare: number;
  /** Re-buy rows within 7 days of the article's previous purchase, of all re-buy rows. */
  repeatWithinWeekShare: number;
  visitsPerCustomer: { mean: number; median: number; p90: number };
  rowsPerCustomer: { mean: number; median: number; p90: number };
  popularity: { soldShare: number; top1PctShare: number; top10PctShare: number; gini: number };
  /** Mean share of a customer's purchases in their most bought category (customers with >= 10 rows). */
  concentration: Record<Level, number>;
  dayOfWeek: number[];
  medianPriceSek: Record<string, number>;
  taste?: {
    ownClusterShare: number;
    otherClusterShare: number;
    /** The same for the clusters' most bought articles: taste below the department level. */
    ownClusterArticleShare: number;
    otherClusterArticleShare: number;
    customers: number;
  };
}

function hashFraction(customerId: string): number {
  return Number.parseInt(customerId.slice(0, 8), 16) / 0x100000000;
}

function shares(counts: Map<string, number>): Record<string, number> {
  let total = 0;
  for (const v of counts.values()) total += v;
  return Object.fromEntries(
    [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / total).toFixed(4))]),
  );
}

function bump(m: Map<string, number>, k: string, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

/** `bump` for a key cut from a read chunk: a new key is copied, so the map does not keep the chunk. */
function bumpNewKeyDetached(m: Map<string, number>, k: string): void {
  const n = m.get(k);
  if (n === undefined) m.set(detach(k), 1);
  else m.set(k, n + 1);
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function summary(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    mean: Number(mean.toFixed(3)),
    median: s[Math.floor(s.length / 2)] ?? 0,
    p90: s[Math.floor(s.length * 0.9)] ?? 0,
  };
}

export async function readArticles(path: string): Promise<Map<string, ArticleInfo>> {
  const out = new Map<string, ArticleInfo>();
  let header: string[] | undefined;
  for await (const batch of readLineBatches(path, 8192)) {
    const records = parse(batch.lines.join('\n'), { relax_column_count: true }) as string[][];
    for (const r of records) {
      if (!header) {
        header = r;
        continue;
      }
      const get = (name: string) => r[header!.indexOf(name)] ?? '';
      out.set(get('article_id'), {
        product: get('product_code'),
        productGroup: get('product_group_name'),
        index: get('index_name'),
        indexGroup: get('index_group_name'),
        department: get('department_no'),
        section: get('section_name'),
        colourMaster: get('perceived_colour_master_name'),
      });
    }
  }
  return out;
}

async function readTruth(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const batch of readLineBatches(path)) {
    for (const line of batch.lines) {
      const [id, cluster] = line.split(',');
      if (id && cluster && id !== 'customer_id') out.set(detach(id), detach(cluster));
    }
  }
  return out;
}

export async function computeStats(input: StatsInput): Promise<Stats> {
  const fraction = input.customerFraction ?? 1;
  const articles = await readArticles(input.articlesPath);
  const truth = input.truthPath ? await readTruth(input.truthPath) : undefined;
  const catalogueGroup = new Map<string, number>();
  const catalogueIndexGroup = new Map<string, number>();
  for (const a of articles.values()) {
    bump(catalogueGroup, a.productGroup);
    bump(catalogueIndexGroup, a.indexGroup);
  }

  const groupRows = new Map<string, number>();
  const indexRows = new Map<string, number>();
  const articleRows = new Map<string, number>();
  const prices = new Map<string, number[]>();
  const dow = new Array<number>(7).fill(0);
  const customers = new Map<string, CustomerState>();
  const allCustomers = new Set<string>();
  let rows = 0;
  let onlineRows = 0;
  let baskets = 0;
  let onlineBaskets = 0;
  let basketRows = 0;
  let basketDistinct = 0;
  let singleBaskets = 0;
  let duplicateRows = 0;
  let siblingRows = 0;
  let deptPairs = 0;
  let sameDeptPairs = 0;
  let repeatRows = 0;
  let repeatWithinWeek = 0;
  let sampledRows = 0;
  // Cluster purchase profiles by department and by article, from customers in the even hash
  // half, and the purchases of the customers in the odd half (for taste).
  const clusterDept = new Map<string, Map<string, number>>();
  const clusterArticle = new Map<string, Map<string, number>>();
  const tasteCustomers = new Map<string, Map<string, number>>();
  const tasteCustomerArticles = new Map<string, Map<string, number>>();

  let day = '';
  let dayBaskets = new Map<string, { articles: string[]; online: boolean }>();
  const flushDay = () => {
    for (const [customer, basket] of dayBaskets) {
      baskets++;
      if (basket.online) onlineBaskets++;
      basketRows += basket.articles.length;
      const distinct = [...new Set(basket.articles)];
      basketDistinct += distinct.length;
      if (distinct.length === 1) singleBaskets++;
      duplicateRows += basket.articles.length - distinct.length;
      const products = new Map<string, number>();
      for (const a of distinct) bump(products, articles.get(a)?.product ?? a);
      for (const n of products.values()) siblingRows += n - 1;
      for (let i = 0; i < distinct.length; i++)
        for (let j = i + 1; j < distinct.length; j++) {
          deptPairs++;
          if (articles.get(distinct[i]!)?.department === articles.get(distinct[j]!)?.department)
            sameDeptPairs++;
        }
      const state = customers.get(customer);
      if (state) {
        state.visits++;
        for (const a of basket.articles) {
          sampledRows++;
          const first = state.firstDay.get(a);
          if (first === undefined) {
            state.firstDay.set(detach(a), day);
          } else if (first < day) {
            repeatRows++;
            state.repeated.add(a);
            const previous = state.lastDay.get(a) ?? first;
            if (Date.parse(day) - Date.parse(previous) <= 7 * 86_400_000) repeatWithinWeek++;
          }
        }
        // Updated after the basket, so every unit of an article compares with an earlier day.
        for (const a of distinct) {
          if (state.lastDay.has(a)) state.lastDay.set(a, day);
          else state.lastDay.set(detach(a), day);
        }
      }
    }
    dayBaskets = new Map();
  };

  let header = true;
  for await (const batch of readLineBatches(input.transactionsPath)) {
    for (const line of batch.lines) {
      if (header) {
        header = false;
        continue;
      }
      const [tDat, customer, article, price, channel] = line.split(',');
      if (!tDat || !customer || !article || !price || !channel) continue;
      if (tDat !== day) {
        flushDay();
        day = tDat;
      }
      rows++;
      const info = articles.get(article);
      const online = channel === '2';
      if (online) onlineRows++;
      if (!articleRows.has(article)) articleRows.set(detach(article), 0);
      bump(articleRows, article);
      if (!allCustomers.has(customer)) allCustomers.add(detach(customer));
      if (info) {
        bump(groupRows, info.productGroup);
        bump(indexRows, info.index);
        const p = getOrCreate(prices, info.productGroup, () => []);
        if (p.length < 200_000) p.push(Number(price) * 590);
      }
      dow[(new Date(`${tDat}T00:00:00Z`).getUTCDay() + 6) % 7]! += 1;
      getOrCreate(dayBaskets, customer, () => ({ articles: [], online })).articles.push(article);

      if (hashFraction(customer) < fraction) {
        let state = customers.get(customer);
        if (!state) {
          state = {
            rows: 0,
            visits: 0,
            firstDay: new Map(),
            lastDay: new Map(),
            repeated: new Set(),
            counts: Object.fromEntries(LEVELS.map((l) => [l, new Map()])) as CustomerState['counts'],
          };
          customers.set(detach(customer), state);
        }
        state.rows++;
        if (info) for (const level of LEVELS) bump(state.counts[level], info[level]);
        const cluster = truth?.get(customer);
        if (cluster !== undefined && info) {
          if (hashFraction(customer.slice(8)) < 0.5) {
            bump(
              getOrCreate(clusterDept, cluster, () => new Map()),
              info.department,
            );
            bumpNewKeyDetached(
              getOrCreate(clusterArticle, cluster, () => new Map()),
              article,
            );
          } else {
            bump(
              getOrCreate(tasteCustomers, customer, () => new Map()),
              info.department,
            );
            bumpNewKeyDetached(
              getOrCreate(tasteCustomerArticles, customer, () => new Map()),
              article,
            );
          }
        }
      }
    }
  }
  flushDay();

  // Popularity over the whole catalogue (unsold articles count as zero).
  const counts = [...articles.keys()].map((a) => articleRows.get(a) ?? 0).sort((a, b) => b - a);
  const total = counts.reduce((s, x) => s + x, 0);
  const topShare = (q: number) =>
    counts.slice(0, Math.max(1, Math.round(counts.length * q))).reduce((s, x) => s + x, 0) /
    Math.max(1, total);
  let giniNum = 0;
  const ascending = [...counts].reverse();
  for (let i = 0; i < ascending.length; i++) giniNum += (2 * (i + 1) - ascending.length - 1) * ascending[i]!;
  const gini = total > 0 ? giniNum / (ascending.length * total) : 0;

  const concentration = {} as Record<Level, number>;
  for (const level of LEVELS) {
    const tops: number[] = [];
    for (const s of customers.values()) {
      if (s.rows < 10) continue;
      tops.push(Math.max(...s.counts[level].values()) / s.rows);
    }
    concentration[level] = Number((tops.reduce((a, b) => a + b, 0) / Math.max(1, tops.length)).toFixed(4));
  }

  const medianPriceSek: Record<string, number> = {};
  for (const [group, p] of prices) {
    p.sort((a, b) => a - b);
    medianPriceSek[group] = Number((p[Math.floor(p.length / 2)] ?? 0).toFixed(2));
  }

  const stats: Stats = {
    articles: articles.size,
    catalogue: { productGroup: shares(catalogueGroup), indexGroup: shares(catalogueIndexGroup) },
    rows,
    customersWithPurchases: allCustomers.size,
    purchases: { productGroup: shares(groupRows), index: shares(indexRows) },
    onlineRowShare: ratio(onlineRows, rows),
    onlineBasketShare: ratio(onlineBaskets, baskets),
    baskets,
    basketRowsMean: ratio(basketRows, baskets),
    basketDistinctMean: ratio(basketDistinct, baskets),
    basketSingleShare: ratio(singleBaskets, baskets),
    sameDayDuplicateShare: ratio(duplicateRows, rows),
    siblingShare: ratio(siblingRows, rows),
    sameDepartmentPairShare: ratio(sameDeptPairs, deptPairs),
    repeatRowShare: ratio(repeatRows, sampledRows),
    repeatWithinWeekShare: ratio(repeatWithinWeek, repeatRows),
    repeatPairShare: ratio(
      [...customers.values()].reduce((s, c) => s + c.repeated.size, 0),
      [...customers.values()].reduce((s, c) => s + c.firstDay.size, 0),
    ),
    visitsPerCustomer: summary([...customers.values()].map((c) => c.visits)),
    rowsPerCustomer: summary([...customers.values()].map((c) => c.rows)),
    popularity: {
      soldShare: ratio(counts.filter((c) => c > 0).length, counts.length),
      top1PctShare: Number(topShare(0.01).toFixed(4)),
      top10PctShare: Number(topShare(0.1).toFixed(4)),
      gini: Number(gini.toFixed(4)),
    },
    concentration,
    dayOfWeek: dow.map((x) => Number(((7 * x) / Math.max(1, rows)).toFixed(3))),
    medianPriceSek,
  };
  if (truth) {
    const departments = tasteSignal(truth, clusterDept, tasteCustomers, TASTE_TOP_DEPARTMENTS);
    const articles = tasteSignal(truth, clusterArticle, tasteCustomerArticles, TASTE_TOP_ARTICLES);
    stats.taste = {
      ownClusterShare: departments.own,
      otherClusterShare: departments.other,
      ownClusterArticleShare: articles.own,
      otherClusterArticleShare: articles.other,
      customers: departments.customers,
    };
  }
  return stats;
}

function ratio(a: number, b: number): number {
  return b > 0 ? Number((a / b).toFixed(4)) : 0;
}

const TASTE_TOP_DEPARTMENTS = 10;
const TASTE_TOP_ARTICLES = 50;

/**
 * For held-out customers (the odd hash half): the share of their purchases that fall in the
 * `top` departments (or articles) their own cluster buys most (profiled on the other half),
 * against the same share for the top of the other clusters. Equal shares would mean no taste
 * signal at that level.
 */
function tasteSignal(
  truth: Map<string, string>,
  profiles: Map<string, Map<string, number>>,
  customers: Map<string, Map<string, number>>,
  top: number,
): { own: number; other: number; customers: number } {
  const tops = new Map<string, Set<string>>();
  for (const [cluster, m] of profiles) {
    tops.set(
      cluster,
      new Set(
        [...m.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, top)
          .map(([key]) => key),
      ),
    );
  }
  let own = 0;
  let other = 0;
  let n = 0;
  for (const [customer, m] of customers) {
    const cluster = truth.get(customer);
    const ownTop = cluster === undefined ? undefined : tops.get(cluster);
    if (!ownTop) continue;
    let total = 0;
    for (const v of m.values()) total += v;
    const shareIn = (set: Set<string>) => {
      let s = 0;
      for (const [d, v] of m) if (set.has(d)) s += v;
      return s / total;
    };
    own += shareIn(ownTop);
    let otherSum = 0;
    let otherN = 0;
    for (const [c, set] of tops) {
      if (c === cluster) continue;
      otherSum += shareIn(set);
      otherN++;
    }
    other += otherN > 0 ? otherSum / otherN : 0;
    n++;
  }
  return { own: ratio(own, n), other: ratio(other, n), customers: n };
}
