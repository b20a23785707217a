/**
 * Synthetic H&M data in the exact Kaggle layout: articles.csv, customers.csv and
 * transactions_train.csv, streamed to disk with bounded memory. The same seed and scale give
 * byte-identical files (every random draw comes from seeded streams, in a fixed order).
 *
 * Every scale ends on the real last day (2020-09-22) so hold-out logic is the same; `full` spans
 * the real two years with the real row counts.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { articleRow, buildCatalogue } from './catalogue.ts';
import { buildPopulation } from './customers.ts';
import { LineSink } from './line-sink.ts';
import { ARTICLES, CUSTOMERS, headerLine, REAL_LAST_DAY, TRANSACTIONS } from './schema.ts';
import { DEPARTMENTS } from './tables.ts';
import { buildTaste, type TasteCluster, type TasteStrength } from './taste.ts';
import { type BehaviourParams, isoDay, simulateTransactions } from './transactions.ts';

export type Scale = 'tiny' | 'small' | 'medium' | 'full';

export interface ScaleSize {
  articles: number;
  customers: number;
  transactions: number;
  /** Days simulated, ending on REAL_LAST_DAY. */
  days: number;
  clusters: number;
}

export const SCALES: Readonly<Record<Scale, ScaleSize>> = {
  tiny: { articles: 1_500, customers: 1_000, transactions: 30_000, days: 183, clusters: 12 },
  small: { articles: 15_000, customers: 50_000, transactions: 1_000_000, days: 365, clusters: 20 },
  medium: { articles: 40_000, customers: 250_000, transactions: 6_000_000, days: 365, clusters: 22 },
  full: { articles: 105_542, customers: 1_371_980, transactions: 31_788_324, days: 734, clusters: 24 },
};

export const DEFAULT_SEED = 42;

export interface GenerateProgress {
  phase: 'articles' | 'customers' | 'transactions' | 'done';
  /** Rows written in this phase and the phase's total. */
  done: number;
  total: number;
  elapsedMs: number;
}

export interface GenerateOptions {
  scale: Scale;
  seed?: number;
  /** Output folder (created if missing). */
  out: string;
  overrides?: Partial<ScaleSize>;
  /** Optional side file `customer_id,cluster,index_group_no` with each customer's latent cluster. */
  truthOut?: string;
  onProgress?: (progress: GenerateProgress) => void;
  /** Tuning knobs of the simulation (tests and calibration). */
  behaviour?: Partial<BehaviourParams>;
  taste?: Partial<TasteStrength>;
}

export interface GeneratedFile {
  path: string;
  rows: number;
  bytes: number;
}

export interface GenerateSummary {
  scale: Scale;
  seed: number;
  size: ScaleSize;
  firstDay: string;
  lastDay: string;
  files: { articles: GeneratedFile; customers: GeneratedFile; transactions: GeneratedFile };
  truth?: GeneratedFile;
  clusters: { id: number; indexGroup: number; share: number; topDepartments: string[] }[];
  elapsedMs: number;
}

function checkSize(size: ScaleSize): void {
  for (const [key, value] of Object.entries(size)) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${key} must be a positive integer (got ${String(value)})`);
  }
  if (size.days > 734)
    throw new RangeError(`days must be at most 734 (the real two years); got ${size.days}`);
  if (size.clusters > 250) throw new RangeError(`clusters must be at most 250; got ${size.clusters}`);
}

export async function generate(options: GenerateOptions): Promise<GenerateSummary> {
  const started = Date.now();
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`seed must be an integer in 0..4294967295 (got ${seed})`);
  const base = SCALES[options.scale];
  if (!base)
    throw new RangeError(`unknown scale "${String(options.scale)}"; use tiny, small, medium or full`);
  const size: ScaleSize = { ...base, ...stripUndefined(options.overrides ?? {}) };
  checkSize(size);
  const firstDay = isoDay(REAL_LAST_DAY, -(size.days - 1));
  const progress = (phase: GenerateProgress['phase'], done: number, total: number) =>
    options.onProgress?.({ phase, done, total, elapsedMs: Date.now() - started });

  mkdirSync(options.out, { recursive: true });
  const sinks: LineSink[] = [];
  const open = (path: string) => {
    const sink = new LineSink(path);
    sinks.push(sink);
    return sink;
  };
  try {
    // Articles.
    const catalogue = buildCatalogue(seed, { articles: size.articles, days: size.days });
    const articles = open(join(options.out, ARTICLES.fileName));
    articles.write(headerLine(ARTICLES));
    for (let i = 0; i < catalogue.size; i++) articles.write(articleRow(catalogue, i));
    articles.close();
    progress('articles', catalogue.size, catalogue.size);

    // Taste clusters and customers.
    const present = DEPARTMENTS.map(() => false);
    for (let i = 0; i < catalogue.size; i++) present[catalogue.department[i]!] = true;
    const clusters = buildTaste(seed, {
      clusters: size.clusters,
      departmentsPresent: present,
      colourMasters: catalogue.colourMasters.length,
      products: catalogue.productFirst.length,
      strength: options.taste,
    });
    const customers = open(join(options.out, CUSTOMERS.fileName));
    customers.write(headerLine(CUSTOMERS));
    const colourShares = catalogue.colourMasters.map(() => 0);
    for (let i = 0; i < catalogue.size; i++) colourShares[catalogue.colourMaster[i]!]! += 1 / catalogue.size;
    const population = buildPopulation(seed, size.customers, clusters, colourShares, (line) =>
      customers.write(line),
    );
    customers.close();
    progress('customers', size.customers, size.customers);

    let truth: GeneratedFile | undefined;
    if (options.truthOut) {
      mkdirSync(dirname(options.truthOut), { recursive: true });
      const sink = open(options.truthOut);
      sink.write('customer_id,cluster,index_group_no');
      for (let c = 0; c < population.size; c++) {
        const k = population.cluster[c]!;
        sink.write(`${population.ids[c]},${k},${clusters[k]!.indexGroup}`);
      }
      sink.close();
      truth = { path: sink.path, rows: sink.lines - 1, bytes: sink.bytes };
    }

    // Transactions, day by day.
    const transactions = open(join(options.out, TRANSACTIONS.fileName));
    transactions.write(headerLine(TRANSACTIONS));
    let lastReport = 0;
    simulateTransactions({
      seed,
      firstDay,
      days: size.days,
      transactions: size.transactions,
      catalogue,
      population,
      clusters,
      behaviour: options.behaviour,
      onRow: (line) => transactions.write(line),
      onDay: (_day, rows) => {
        const now = Date.now();
        if (now - lastReport >= 1000) {
          lastReport = now;
          progress('transactions', rows, size.transactions);
        }
      },
    });
    transactions.close();
    progress('transactions', size.transactions, size.transactions);

    const file = (s: LineSink): GeneratedFile => ({ path: s.path, rows: s.lines - 1, bytes: s.bytes });
    const summary: GenerateSummary = {
      scale: options.scale,
      seed,
      size,
      firstDay,
      lastDay: REAL_LAST_DAY,
      files: { articles: file(articles), customers: file(customers), transactions: file(transactions) },
      ...(truth ? { truth } : {}),
      clusters: describeClusters(clusters),
      elapsedMs: Date.now() - started,
    };
    progress('done', size.transactions, size.transactions);
    return summary;
  } catch (error) {
    for (const sink of sinks) sink.abort();
    throw error;
  }
}

function describeClusters(clusters: readonly TasteCluster[]) {
  return clusters.map((c) => ({
    id: c.id,
    indexGroup: c.indexGroup,
    share: Number(c.share.toFixed(4)),
    topDepartments: [...c.departments.keys()]
      .sort((a, b) => c.departments[b]! - c.departments[a]!)
      .slice(0, 5)
      .map((d) => `${DEPARTMENTS[d]![1]} (${DEPARTMENTS[d]![2]})`),
  }));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
