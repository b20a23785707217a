/**
 * Day-by-day purchase simulation, written in `t_dat` then `customer_id` order like the real
 * transactions_train.csv.
 *
 * Each day: the day's volume (calendar month × weekday × sale days) is split into visits of
 * customers drawn by purchase frequency; a visit is one basket on one channel with a real-sized
 * number of distinct articles, each repeated per unit bought. Articles come from the customer's
 * cluster (department by the cluster's preference and the season, a latent style, then an article
 * of that department and style weighted by appeal × life cycle × the cluster's affinity for its
 * product, kept with the cluster's colour preference), from their own favourite departments,
 * from earlier baskets (repeat purchases), or follow an article already in the basket (another
 * colour of it, or the same department). Prices are the article's list price, marked down late
 * in its life and now and then with a member discount.
 */
import type { Catalogue } from './catalogue.ts';
import { departmentGarmentGroup, lifeCycle, STYLES } from './catalogue.ts';
import type { Population } from './customers.ts';
import { FAVOURITES } from './customers.ts';
import { Random, searchCumulative, WeightedSampler } from './random.ts';
import { BASKET_SIZES, DAY_OF_WEEK, DEPARTMENTS, GARMENT_GROUPS, MONTHS, QUANTITIES } from './tables.ts';
import type { TasteCluster } from './taste.ts';

export interface BehaviourParams {
  /** Probability that a basket item re-buys any remembered earlier purchase, whatever its age. */
  repeat: number;
  /**
   * Re-buys of recent purchases (another size, the colour-mate, a second one): a basket item
   * re-buys one with probability min(0.5, repeatRecent × Σ 0.5^(age / repeatHalfLifeDays)) over
   * the customer's remembered purchases of earlier days, picked in proportion to that weight. In
   * the real data half of all re-buys come within a week of the previous purchase.
   */
  repeatRecent: number;
  repeatHalfLifeDays: number;
  /** Probability that a further basket item is another colour of an article already in it. */
  sibling: number;
  /** Probability that a further basket item comes from the department of one already in it. */
  sameDepartment: number;
  /** Probability that a fresh article comes from the customer's own favourite departments. */
  favourite: number;
  /** Probability of a 10 % member price. */
  memberDiscount: number;
  /** Tries to find an article in the customer's colours before taking any colour. */
  colourTries: number;
  /** Scales the cluster's acceptance of colours other than the customer's favourite. */
  otherColour: number;
}

export const DEFAULT_BEHAVIOUR: BehaviourParams = {
  repeat: 0.006,
  repeatRecent: 0.035,
  repeatHalfLifeDays: 4,
  sibling: 0.07,
  sameDepartment: 0.36,
  favourite: 0.35,
  memberDiscount: 0.04,
  colourTries: 6,
  otherColour: 0.35,
};

/** Sale days in the real data: volume on these days is a multiple of a normal day. */
export const SALE_DAYS: Readonly<Record<string, number>> = {
  '2018-09-29': 2.5,
  '2018-11-23': 2.5,
  '2019-09-28': 3,
  '2019-11-29': 2.5,
};

/**
 * Purchases remembered per customer: for repeat buying, and not to buy them again by chance (an
 * article forgotten can be drawn again: chance re-buys, long after the first purchase).
 */
const HISTORY = 64;
const DAY_MS = 86_400_000;

export interface SimulationInput {
  seed: number;
  firstDay: string;
  days: number;
  transactions: number;
  catalogue: Catalogue;
  population: Population;
  clusters: readonly TasteCluster[];
  behaviour?: Partial<BehaviourParams>;
  /** Receives each line (no newline). */
  onRow: (line: string) => void;
  /** Called after each simulated day with the rows written so far. */
  onDay?: (day: number, rowsSoFar: number) => void;
}

export function isoDay(firstDay: string, offset: number): string {
  return new Date(Date.parse(`${firstDay}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

/** Relative purchase volume of each simulated day. */
export function dayWeights(firstDay: string, days: number): Float64Array {
  const w = new Float64Array(days);
  for (let t = 0; t < days; t++) {
    const date = isoDay(firstDay, t);
    const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
    const month = MONTHS[date.slice(0, 7)] ?? 1;
    w[t] = month * DAY_OF_WEEK[weekday]! * (SALE_DAYS[date] ?? 1);
  }
  return w;
}

function priceText(cents: number, cache: Map<number, string>): string {
  let s = cache.get(cents);
  if (s === undefined) {
    s = (cents / 100 / 590).toFixed(16).replace(/0+$/, '');
    if (s.endsWith('.')) s += '0';
    cache.set(cents, s);
  }
  return s;
}

export function simulateTransactions(input: SimulationInput): { rows: number } {
  const { catalogue: cat, population: pop, clusters, days, transactions } = input;
  const b: BehaviourParams = { ...DEFAULT_BEHAVIOUR, ...input.behaviour };
  const rng = new Random(input.seed, 'transactions');
  const D = DEPARTMENTS.length;
  const K = clusters.length;
  const N = pop.size;

  // Articles grouped in cells of department × style; per-day weights per cell, and per cluster
  // cumulative weights in the same layout (cluster k's block starts at k × cat.size).
  const S = STYLES;
  const cells = D * S;
  const cellOf = (a: number) => cat.department[a]! * S + cat.style[a]!;
  const cellStart = new Int32Array(cells + 1);
  for (let i = 0; i < cat.size; i++) cellStart[cellOf(i) + 1]! += 1;
  for (let x = 0; x < cells; x++) cellStart[x + 1]! += cellStart[x]!;
  const cellArticles = new Int32Array(cat.size);
  {
    const fill = cellStart.slice(0, cells);
    for (let i = 0; i < cat.size; i++) cellArticles[fill[cellOf(i)]!++] = i;
  }
  const cellAffinity = new Float32Array(K * cat.size);
  for (let k = 0; k < K; k++) {
    const affinity = clusters[k]!.affinity;
    for (let j = 0; j < cat.size; j++)
      cellAffinity[k * cat.size + j] = affinity[cat.product[cellArticles[j]!]!]!;
  }
  /** appeal × life cycle of the article at each cell position, today. */
  const cellWeight = new Float64Array(cat.size);
  /** Per cell, the positions from the first to the last article on sale today. */
  const onSaleFrom = new Int32Array(cells);
  const onSaleTo = new Int32Array(cells);
  const cellTotal = new Float64Array(cells);
  const articleCum = new Float64Array(K * cat.size);
  const clusterCellTotal = new Float64Array(K * cells);
  /** Day on which a cluster's running sums of a cell were last computed. */
  const clusterCellDay = new Int32Array(K * cells).fill(-1);
  let today = -1;
  const deptTotal = new Float64Array(D);
  const life = new Float64Array(cat.size);
  const clusterCum = new Float64Array(K * D);
  const clusterTotal = new Float64Array(K);

  const customerSampler = new WeightedSampler(pop.activity);
  const sizeSamplers = {
    1: new WeightedSampler(BASKET_SIZES.store),
    2: new WeightedSampler(BASKET_SIZES.online),
  } as const;
  const quantitySampler = new WeightedSampler(QUANTITIES);
  const history = new Int32Array(N * HISTORY);
  /** Day of the latest purchase of each remembered article. */
  const historyDay = new Uint16Array(N * HISTORY);
  const recency = new Float64Array(HISTORY);
  const historyCount = new Uint8Array(N);
  const historyNext = new Uint8Array(N);
  const priceCache = new Map<number, string>();

  // Exact rows per day: cumulative rounding of the volume curve.
  const weights = dayWeights(input.firstDay, days);
  const weightSum = weights.reduce((s, x) => s + x, 0);
  const dayRows = new Int32Array(days);
  {
    let acc = 0;
    let assigned = 0;
    for (let t = 0; t < days; t++) {
      acc += weights[t]!;
      const upTo = Math.round((acc / weightSum) * transactions);
      dayRows[t] = upTo - assigned;
      assigned = upTo;
    }
  }

  // One day's plan, reused: visits and their quantities.
  let planCustomer = new Int32Array(1024);
  let planChannel = new Uint8Array(1024);
  let planFirstQty = new Int32Array(1025);
  let quantities = new Uint8Array(4096);

  let rowsSoFar = 0;
  let chosenAsRepeat = false;
  for (let t = 0; t < days; t++) {
    today = t;
    const date = isoDay(input.firstDay, t);
    const dayOfYear =
      (Date.parse(`${date}T00:00:00Z`) - Date.parse(`${date.slice(0, 4)}-01-01T00:00:00Z`)) / DAY_MS;

    // Article weights within cells (a cluster's own, with its affinity, on its first draw from the
    // cell that day), department weights per cluster.
    deptTotal.fill(0);
    for (let x = 0; x < cells; x++) {
      let sum = 0;
      let from = -1;
      let to = -1;
      for (let j = cellStart[x]!; j < cellStart[x + 1]!; j++) {
        const a = cellArticles[j]!;
        const l = lifeCycle(cat, a, t);
        life[a] = l;
        const w = cat.appeal[a]! * l;
        cellWeight[j] = w;
        if (w > 0) {
          if (from < 0) from = j;
          to = j + 1;
        }
        sum += w;
      }
      onSaleFrom[x] = from < 0 ? cellStart[x]! : from;
      onSaleTo[x] = from < 0 ? cellStart[x]! : to;
      cellTotal[x] = sum;
      deptTotal[Math.floor(x / S)]! += sum;
    }
    for (let k = 0; k < K; k++) {
      const prefs = clusters[k]!.departments;
      let sum = 0;
      for (let d = 0; d < D; d++) {
        if (deptTotal[d]! > 0 && prefs[d]! > 0) {
          const [, , amplitude, peak] = GARMENT_GROUPS[departmentGarmentGroup[d]!]!;
          sum += prefs[d]! * (1 + amplitude * Math.cos((2 * Math.PI * (dayOfYear - peak)) / 365.25));
        }
        clusterCum[k * D + d] = sum;
      }
      clusterTotal[k] = sum;
    }

    // Plan the day's visits until its rows are used up (the last basket is cut to fit).
    const target = dayRows[t]!;
    let visits = 0;
    let qtyUsed = 0;
    let planned = 0;
    while (planned < target) {
      if (visits + 1 >= planCustomer.length) {
        planCustomer = grow(planCustomer);
        planChannel = grow(planChannel);
        planFirstQty = grow(planFirstQty);
      }
      const c = customerSampler.sample(rng);
      const channel = rng.next() < pop.online[c]! ? 2 : 1;
      const size = sizeSamplers[channel].sample(rng) + 1;
      planCustomer[visits] = c;
      planChannel[visits] = channel;
      planFirstQty[visits] = qtyUsed;
      for (let j = 0; j < size && planned < target; j++) {
        const q = Math.min(quantitySampler.sample(rng) + 1, target - planned);
        if (qtyUsed >= quantities.length) quantities = grow(quantities);
        quantities[qtyUsed++] = q;
        planned += q;
      }
      visits++;
      planFirstQty[visits] = qtyUsed;
    }

    // Write in customer order (customers are numbered in id order); same-day visits merge.
    const order = Array.from({ length: visits }, (_, i) => i).sort(
      (x, y) => planCustomer[x]! - planCustomer[y]! || x - y,
    );
    const basket: number[] = [];
    for (const v of order) {
      const c = planCustomer[v]!;
      const k = pop.cluster[c]!;
      const channel = String(planChannel[v]!);
      const prefix = `${date},${pop.ids[c]!},`;
      basket.length = 0;
      for (let q = planFirstQty[v]!; q < planFirstQty[v + 1]!; q++) {
        let article = -1;
        for (let attempt = 0; attempt < 8; attempt++) {
          article = chooseArticle(c, k, basket, attempt);
          // Customers rarely buy the same article again by chance: only deliberate repeats do.
          if (article >= 0 && !basket.includes(article) && (chosenAsRepeat || !inHistory(c, article))) break;
        }
        if (article < 0) article = anyArticle();
        basket.push(article);
        const price = priceText(priceCents(article, t), priceCache);
        const line = `${prefix}${cat.articleIds[article]!},${price},${channel}`;
        for (let n = quantities[q]!; n > 0; n--) input.onRow(line);
        rowsSoFar += quantities[q]!;
      }
      for (const a of basket) remember(c, a);
    }
    input.onDay?.(t, rowsSoFar);
  }
  return { rows: rowsSoFar };

  // --- helpers (closures over the day's state) -------------------------------------------------

  /**
   * An article of department d on sale today: a style by the customer's cluster (among the
   * styles on sale there), then an article of that style by the cluster's weights, kept with the
   * customer's colour taste.
   */
  function fromDepartment(d: number, c: number, colourTries: number): number {
    if (!(deptTotal[d]! > 0)) return -1;
    const k = pop.cluster[c]!;
    const cluster = clusters[k]!;
    let styleSum = 0;
    for (let st = 0; st < S; st++) if (cellTotal[d * S + st]! > 0) styleSum += cluster.styles[st]!;
    let u = rng.next() * styleSum;
    let cell = -1;
    for (let st = 0; st < S; st++) {
      if (!(cellTotal[d * S + st]! > 0)) continue;
      cell = d * S + st;
      u -= cluster.styles[st]!;
      if (u < 0) break;
    }
    const total = clusterWeights(k, cell);
    const block = k * cat.size;
    const start = block + onSaleFrom[cell]!;
    const end = block + onSaleTo[cell]!;
    const accept = cluster.colourAccept;
    const favourite = pop.favouriteColour[c]!;
    let a = -1;
    for (let i = 0; i <= colourTries; i++) {
      const j = searchCumulative(articleCum, start, end, rng.next() * total);
      a = cellArticles[j - block]!;
      const m = cat.colourMaster[a]!;
      if (i === colourTries || m === favourite || rng.next() < accept[m]! * b.otherColour) break;
    }
    return a;
  }

  /**
   * Cluster k's running sums over the articles of `cell` on sale today (weight × the cluster's
   * affinity), computed on the first draw of the day from that cell; returns their total. A
   * cell's articles are in launch order, so those on sale lie between the ones long gone and the
   * ones not yet launched, and the sums cover only that stretch.
   */
  function clusterWeights(k: number, cell: number): number {
    const key = k * cells + cell;
    if (clusterCellDay[key] === today) return clusterCellTotal[key]!;
    const block = k * cat.size;
    let sum = 0;
    for (let j = onSaleFrom[cell]!; j < onSaleTo[cell]!; j++) {
      sum += cellWeight[j]! * cellAffinity[block + j]!;
      articleCum[block + j] = sum;
    }
    clusterCellDay[key] = today;
    clusterCellTotal[key] = sum;
    return sum;
  }

  /** Later attempts (after drawing something already bought) widen from favourites to the cluster. */
  function chooseArticle(c: number, k: number, basket: readonly number[], attempt: number): number {
    chosenAsRepeat = false;
    const count = historyCount[c]!;
    if (attempt === 0 && count > 0) {
      const base = c * HISTORY;
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const age = today - historyDay[base + i]!;
        const w = age >= 1 ? 0.5 ** (age / b.repeatHalfLifeDays) : 0;
        recency[i] = w;
        sum += w;
      }
      let a = -1;
      if (sum > 0 && rng.next() < Math.min(0.5, b.repeatRecent * sum)) {
        let u = rng.next() * sum;
        let i = 0;
        while (i < count - 1 && u >= recency[i]!) u -= recency[i++]!;
        a = history[base + i]!;
      } else if (rng.next() < b.repeat) {
        const j = base + rng.int(count);
        // Only purchases of an earlier day are re-bought (today's are in the basket's own draws).
        if (today - historyDay[j]! >= 1) a = history[j]!;
      }
      if (a >= 0 && life[a]! > 0) {
        chosenAsRepeat = true;
        return a;
      }
    }
    if (basket.length > 0 && attempt < 3) {
      const u = rng.next();
      const base = basket[rng.int(basket.length)]!;
      if (u < b.sibling) {
        const p = cat.product[base]!;
        const n = cat.productVariants[p]!;
        if (n > 1) {
          const a = cat.productFirst[p]! + rng.int(n);
          if (a !== base && life[a]! > 0) return a;
        }
      } else if (u < b.sibling + b.sameDepartment) {
        const a = fromDepartment(cat.department[base]!, c, b.colourTries);
        if (a >= 0) return a;
      }
    }
    if (attempt < 3 && rng.next() < b.favourite) {
      const d = pop.favourites[c * FAVOURITES + rng.int(FAVOURITES)]!;
      const a = fromDepartment(d, c, b.colourTries);
      if (a >= 0) return a;
    }
    const total = clusterTotal[k]!;
    if (!(total > 0)) return -1;
    const d = searchCumulative(clusterCum, k * D, (k + 1) * D, rng.next() * total) - k * D;
    return fromDepartment(d, c, b.colourTries);
  }

  /** Fallback when the cluster has nothing on sale: any article on sale. */
  function anyArticle(): number {
    let total = 0;
    for (let d = 0; d < D; d++) total += deptTotal[d]!;
    if (total > 0) {
      let u = rng.next() * total;
      for (let d = 0; d < D; d++) {
        if (u < deptTotal[d]!) return fromDepartment(d, 0, 0);
        u -= deptTotal[d]!;
      }
    }
    return rng.int(cat.size);
  }

  function inHistory(c: number, a: number): boolean {
    const base = c * HISTORY;
    const n = historyCount[c]!;
    for (let i = 0; i < n; i++) if (history[base + i] === a) return true;
    return false;
  }

  function remember(c: number, a: number): void {
    const base = c * HISTORY;
    const n = historyCount[c]!;
    for (let i = 0; i < n; i++) {
      if (history[base + i] === a) {
        historyDay[base + i] = today;
        return;
      }
    }
    historyDay[base + historyNext[c]!] = today;
    history[base + historyNext[c]!] = a;
    historyNext[c] = (historyNext[c]! + 1) % HISTORY;
    if (n < HISTORY) historyCount[c] = n + 1;
  }

  function priceCents(a: number, t: number): number {
    let cents = cat.listPriceCents[a]!;
    const age = t - cat.launchDay[a]! - cat.riseDays[a]!;
    // Late in its life an article is marked down, more often the older it gets.
    if (age > 0) {
      const lateness = age / cat.decayDays[a]!;
      if (lateness > 1.5 && rng.next() < Math.min(0.4, (lateness - 1.5) * 0.25)) {
        const factor = lateness > 2.5 ? 0.5 : lateness > 1.8 ? 0.6 : 0.7;
        cents = Math.max(99, Math.round((cents * factor) / 100) * 100 - 1);
      }
    }
    if (rng.next() < b.memberDiscount) cents = Math.round(cents * 0.9);
    return cents;
  }
}

function grow<T extends Int32Array | Uint8Array>(a: T): T {
  const bigger = new (a.constructor as new (n: number) => T)(a.length * 2);
  bigger.set(a);
  return bigger;
}
