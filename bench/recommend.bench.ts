/**
 * Serving benchmark: `/recommend` under load with autocannon, on the real API process
 * (`serve/main.ts` in a child process, so the load generator and the server do not share a
 * thread), over a synthetic model of 105,000 items × 64 dims and 10,000 users.
 *
 * Setups: the embedded adapters (memory feature store + embedded index), and Redis feature store +
 * embedded index (skipped with a reason when Redis does not answer). Scenarios, each at
 * concurrency 32 with a random user per request: the default call, with filters, and with
 * `explain=true`. Every scenario is first checked to answer 200 with k personalized items, so a
 * fast error page cannot pass for a result.
 *
 * Each setup runs with every worker count of --workers (API_WORKERS; default 1 and 2). Every
 * scenario is measured --runs times (default 3) after one warm-up; the table shows the median of
 * each number over the runs, and the results file keeps every run.
 *
 * Options: --items N --users N --rank N --duration S --warmup S --connections N --setups embedded,redis
 * --workers 1,2 --runs N
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../lib/config.ts';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { load as loadApi, type Measurement, option, startServer, stopServer } from './api-load.ts';
import { median, recordResult } from './results.ts';

const ITEMS = Number(option('items', '105000'));
const USERS = Number(option('users', '10000'));
const RANK = Number(option('rank', '64'));
const DURATION_S = Number(option('duration', '15'));
const WARMUP_S = Number(option('warmup', '3'));
const CONNECTIONS = Number(option('connections', '32'));
const SETUPS = option('setups', 'embedded,redis').split(',');
const WORKERS = option('workers', '1,2').split(',').map(Number);
const RUNS = Number(option('runs', '3'));
const K = 10;

interface Scenario {
  name: string;
  query: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'default', query: '' },
  {
    name: 'filters',
    query:
      '?product_group=Garment%20Upper%20body,Garment%20Lower%20body&exclude_types=Socks,Bra&exclude_ids=1,2,3',
  },
  { name: 'explain', query: '?explain=true' },
];

async function check(url: string, scenario: Scenario): Promise<void> {
  for (const user of [0, Math.floor(USERS / 2), USERS - 1]) {
    const res = await fetch(`${url}/recommend/${user}${scenario.query}`);
    const body = (await res.json()) as { source?: string; items?: Array<{ explanation?: unknown[] }> };
    if (res.status !== 200 || body.source !== 'personalized' || body.items?.length !== K) {
      throw new Error(
        `${scenario.name}: user ${user} got ${res.status} ${JSON.stringify(body).slice(0, 300)}`,
      );
    }
    if (scenario.query.includes('explain=true') && !body.items.every((i) => Array.isArray(i.explanation))) {
      throw new Error(`${scenario.name}: explanations missing`);
    }
  }
}

function load(url: string, scenario: Scenario, seconds: number, pid: number): Promise<Measurement> {
  return loadApi({
    url,
    path: () => `/recommend/${Math.floor(Math.random() * USERS)}${scenario.query}`,
    seconds,
    connections: CONNECTIONS,
    pid,
  });
}

/** Per-number medians of several runs of one scenario (the runs themselves are kept too). */
interface Summary extends Measurement {
  runs: Measurement[];
}

function summarize(runs: Measurement[]): Summary {
  const mid = (pick: (m: Measurement) => number) => median(runs.map(pick));
  const cpu = runs.map((m) => m.api_cpu_ms_per_request).filter((v): v is number => v !== undefined);
  return {
    ...(cpu.length === runs.length ? { api_cpu_ms_per_request: median(cpu) } : {}),
    load_average: [mid((m) => m.load_average[0]), mid((m) => m.load_average[1])],
    requests_per_s: mid((m) => m.requests_per_s),
    latency_ms: {
      p50: mid((m) => m.latency_ms.p50),
      p90: mid((m) => m.latency_ms.p90),
      p99: mid((m) => m.latency_ms.p99),
      max: mid((m) => m.latency_ms.max),
      mean: mid((m) => m.latency_ms.mean),
    },
    requests: mid((m) => m.requests),
    errors: runs.reduce((sum, m) => sum + m.errors, 0),
    non2xx: runs.reduce((sum, m) => sum + m.non2xx, 0),
    runs,
  };
}

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
  await client.quit();
}

async function main(): Promise<void> {
  const config = loadConfig();
  const modelsDir = await mkdtemp(join(tmpdir(), 'bench-recommend-'));
  const results: Record<string, Record<string, Summary> | { skipped: string }> = {};
  try {
    console.log(`synthetic bundle: ${ITEMS} items × ${RANK} dims, ${USERS} users`);
    const started = Date.now();
    // Histories end today, so the repurchase stage (REPURCHASE=auto) finds recent purchases as live.
    await syntheticBundle({
      items: ITEMS,
      users: USERS,
      rank: RANK,
      seed: 42,
      outDir: modelsDir,
      lastDay: new Date(),
    });
    console.log(`  written in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    for (const setup of SETUPS) {
      const env: Record<string, string> = {
        MODELS_DIR: modelsDir,
        FEATURE_STORE: 'memory',
        VECTOR_INDEX: 'embedded',
        EVENT_BUS: 'memory',
      };
      let prefix: string | undefined;
      if (setup === 'redis') {
        if (!(await redisAnswers(config.redis.url))) {
          const reason = `Redis does not answer at ${config.redis.url} (run npm run infra:up)`;
          console.log(`\n[${setup}] skipped: ${reason}`);
          results[setup] = { skipped: reason };
          continue;
        }
        prefix = `bench:${randomUUID().slice(0, 8)}:`;
        Object.assign(env, { FEATURE_STORE: 'redis', REDIS_KEY_PREFIX: prefix });
      } else if (setup !== 'embedded') {
        throw new Error(`unknown setup ${setup}; use embedded and/or redis`);
      }
      for (const workers of WORKERS) {
        const label = `${setup}, ${workers} worker${workers === 1 ? '' : 's'}`;
        console.log(`\n[${label}] starting the API`);
        const server = await startServer({ ...env, API_WORKERS: String(workers) }, workers);
        try {
          const measured: Record<string, Summary> = {};
          for (const scenario of SCENARIOS) {
            await check(server.url, scenario);
            await load(server.url, scenario, WARMUP_S, server.child.pid!);
            const runs: Measurement[] = [];
            for (let run = 1; run <= RUNS; run++) {
              const m = await load(server.url, scenario, DURATION_S, server.child.pid!);
              runs.push(m);
              console.log(
                `  ${scenario.name.padEnd(8)} run ${run}/${RUNS} ${String(m.requests_per_s).padStart(6)} req/s  ` +
                  `p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms  ` +
                  `API CPU ${m.api_cpu_ms_per_request ?? '?'} ms/req  ` +
                  `(errors ${m.errors}, non-2xx ${m.non2xx}, load ${m.load_average.join(' → ')})`,
              );
            }
            const m = summarize(runs);
            measured[scenario.name] = m;
            console.log(
              `  ${scenario.name.padEnd(8)} median  ${String(m.requests_per_s).padStart(6)} req/s  ` +
                `p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms  ` +
                `API CPU ${m.api_cpu_ms_per_request ?? '?'} ms/req`,
            );
          }
          results[label] = measured;
        } finally {
          await stopServer(server.child);
        }
      }
      if (prefix) await dropPrefix(config.redis.url, prefix);
    }
  } finally {
    await rm(modelsDir, { recursive: true, force: true });
  }

  recordResult('recommend', {
    parameters: {
      items: ITEMS,
      users: USERS,
      rank: RANK,
      k: K,
      connections: CONNECTIONS,
      workers: WORKERS,
      runs: RUNS,
      duration_s: DURATION_S,
      warmup_s: WARMUP_S,
      scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.name, `/recommend/{random user}${s.query}`])),
    },
    results,
  });
}

await main();
