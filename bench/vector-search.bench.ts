/**
 * Embedded vector index: search latency and throughput on the serving benchmark's catalogue
 * (synthetic bundle, 105,000 items × 64 dims, 10,000 users), one query at a time on one core.
 *
 * Scenarios: top-40 with no filter, with a one-group filter (a small and a large group), with
 * exclusions (the user's purchases plus two excluded groups), and top-160 (the MMR candidate
 * pool at oversampling 4). Queries are the bundle's user vectors. Every scenario's answers are
 * first checked against an exhaustive scan on a sample of queries, so a fast wrong index fails
 * the benchmark instead of winning it.
 *
 * Reported per scenario: wall-clock p50/p99 and queries/s (one query at a time), CPU time per
 * query and the queries per CPU-second it implies (stable when other processes share the cores;
 * the load average at the start is recorded), and how much of the catalogue a query touched.
 *
 * Options: --items N --users N --rank N --queries N (defaults 105000, 10000, 64, 2000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleReader } from '../lib/stores/bundle.ts';
import { scanTopK } from '../lib/stores/embedded/scan.ts';
import { type SearchStats, searchTopK } from '../lib/stores/embedded/search.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { publishVersion } from '../lib/stores/publish.ts';
import type { SearchFilter } from '../lib/stores/vector-index.ts';
import { machine, median, percentile, recordResult } from './results.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const ITEMS = option('items', 105_000);
const USERS = option('users', 10_000);
const RANK = option('rank', 64);
const QUERIES = option('queries', 2000);
const CHECKED = 100;

interface Scenario {
  name: string;
  k: number;
  filter: (user: number) => SearchFilter | undefined;
}

async function main() {
  const loadAverage = Number(loadavg()[0]?.toFixed(2));
  const dir = await mkdtemp(join(tmpdir(), 'vector-search-bench-'));
  try {
    console.log(`writing a synthetic bundle: ${ITEMS} items × ${RANK} dims, ${USERS} users`);
    const { dir: bundleDir } = await syntheticBundle({
      items: ITEMS,
      users: USERS,
      rank: RANK,
      seed: 42,
      outDir: dir,
    });
    const index = new EmbeddedVectorIndex();
    const featureStore = new MemoryFeatureStore();
    await index.start();
    await featureStore.start();
    const publishStarted = performance.now();
    let buildMs = 0;
    await publishVersion({
      featureStore,
      vectorIndex: index,
      bundleDir,
      onProgress: (p) => {
        if (p.step === 'verify') buildMs = performance.now();
        if (p.step === 'activate') buildMs = performance.now() - buildMs;
      },
    });
    const publishMs = performance.now() - publishStarted;
    console.log(
      `published in ${(publishMs / 1000).toFixed(1)} s (index build on activation ${(buildMs / 1000).toFixed(2)} s)`,
    );

    const reader = await BundleReader.open(bundleDir);
    const users: Float32Array[] = [];
    for await (const batch of reader.userVectors()) for (const [, v] of batch) users.push(v);
    const purchased: number[][] = [];
    for await (const batch of reader.profiles())
      for (const seed of batch) purchased.push(seed.recent.map((p) => p.item_idx));

    const scenarios: Scenario[] = [
      { name: 'top-40, no filter', k: 40, filter: () => undefined },
      {
        name: 'top-40, group filter (Shoes, 6%)',
        k: 40,
        filter: () => ({ include: { product_group_name: ['Shoes'] } }),
      },
      {
        name: 'top-40, group filter (Garment Upper body, 38%)',
        k: 40,
        filter: () => ({ include: { product_group_name: ['Garment Upper body'] } }),
      },
      {
        name: 'top-40, exclusions (purchases + 2 groups)',
        k: 40,
        filter: (u) => ({
          excludeIds: purchased[u] ?? [],
          exclude: { product_group_name: ['Underwear', 'Socks & Tights'] },
        }),
      },
      {
        name: 'top-160, exclude purchases (MMR pool)',
        k: 160,
        filter: (u) => ({ excludeIds: purchased[u] ?? [] }),
      },
    ];

    // Exactness first: the index must agree with an exhaustive scan.
    const table = index.table();
    for (const scenario of scenarios) {
      for (let i = 0; i < CHECKED; i++) {
        const u = (i * 7919) % users.length;
        const filter = scenario.filter(u);
        const hits = await index.search({ vector: users[u]!, k: scenario.k, filter });
        const expected = scanTopK(table, users[u]!, scenario.k, table.eligibleRows(filter));
        const got = hits.map((h) => h.id).join(',');
        const want = expected.map((e) => table.ids[e.row]).join(',');
        if (got !== want)
          throw new Error(`${scenario.name}: results differ from the exhaustive scan for user ${u}`);
      }
    }
    console.log(`exactness: ${scenarios.length} scenarios × ${CHECKED} queries match the exhaustive scan`);

    const results: Array<Record<string, unknown>> = [];
    for (const scenario of scenarios) {
      // Warm-up, then timed queries.
      for (let i = 0; i < 200; i++) {
        const u = i % users.length;
        await index.search({ vector: users[u]!, k: scenario.k, filter: scenario.filter(u) });
      }
      const latencies: number[] = [];
      const cpuStarted = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < QUERIES; i++) {
        const u = (i * 104_729) % users.length;
        const filter = scenario.filter(u);
        const t = performance.now();
        await index.search({ vector: users[u]!, k: scenario.k, filter });
        latencies.push(performance.now() - t);
      }
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuStarted);
      const cpuMsPerQuery = (cpu.user + cpu.system) / 1000 / QUERIES;
      // How much work a query did: cells visited and rows scored exactly.
      const stats: SearchStats = { cellsVisited: 0, rowsScored: 0 };
      let cellsVisited = 0;
      let rowsScored = 0;
      for (let i = 0; i < CHECKED; i++) {
        const u = (i * 104_729) % users.length;
        searchTopK(table, users[u]!, scenario.k, table.eligibleRows(scenario.filter(u)), stats);
        cellsVisited += stats.cellsVisited;
        rowsScored += stats.rowsScored;
      }
      // The exhaustive scan on the same queries, for comparison.
      const scanLatencies: number[] = [];
      for (let i = 0; i < Math.min(QUERIES, 200); i++) {
        const u = (i * 104_729) % users.length;
        const t = performance.now();
        scanTopK(table, users[u]!, scenario.k, table.eligibleRows(scenario.filter(u)));
        scanLatencies.push(performance.now() - t);
      }
      const row = {
        scenario: scenario.name,
        k: scenario.k,
        queries: QUERIES,
        qps: Math.round(QUERIES / seconds),
        p50_ms: Number(median(latencies).toFixed(3)),
        p99_ms: Number(percentile(latencies, 99).toFixed(3)),
        max_ms: Number(Math.max(...latencies).toFixed(3)),
        cpu_ms_per_query: Number(cpuMsPerQuery.toFixed(4)),
        queries_per_cpu_second: Math.round(1000 / cpuMsPerQuery),
        cells_visited: Math.round(cellsVisited / CHECKED),
        cells_total: table.partitions?.cells ?? 0,
        rows_scored_exactly: Math.round(rowsScored / CHECKED),
        exhaustive_p50_ms: Number(median(scanLatencies).toFixed(3)),
      };
      results.push(row);
      console.log(
        `${scenario.name.padEnd(48)} ${String(row.qps).padStart(6)} q/s  p50 ${row.p50_ms.toFixed(3)} ms  p99 ${row.p99_ms.toFixed(3)} ms  cpu ${row.cpu_ms_per_query.toFixed(3)} ms/q (${row.queries_per_cpu_second}/cpu-s)  cells ${row.cells_visited}/${row.cells_total}  rows ${row.rows_scored_exactly}  (exhaustive p50 ${row.exhaustive_p50_ms.toFixed(3)} ms)`,
      );
    }
    recordResult('vector-search', {
      machine: machine(),
      load_average_at_start: loadAverage,
      items: ITEMS,
      users: USERS,
      rank: RANK,
      publish_ms: Math.round(publishMs),
      build_ms: Math.round(buildMs),
      scenarios: results,
    });
    await index.close();
    await featureStore.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
