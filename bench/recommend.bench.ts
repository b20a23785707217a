/**
 * Serving benchmark: `/recommend` under load with autocannon, on the real API process
 * (`serve/main.ts` in a child process, so the load generator and the server do not share a
 * thread), over a synthetic model of 105,000 items × 64 dims and 10,000 users.
 *
 * Setups: `embedded` (memory feature store + embedded index), `redis` (Redis feature store +
 * embedded index as by default: the API's client cache of Redis reads, searches batched per
 * turn), `redis-uncached` (REDIS_CLIENT_CACHE=0, so no batching either) and `redis-batched`
 * (no cache, searches batched all the same: VECTOR_INDEX_BATCH=on); the Redis ones are skipped
 * with a reason when Redis does not answer, and count the Redis server's CPU per request too
 * when it is a local process. A setup named twice in --setups runs twice (alternating arms),
 * labelled by round. Scenarios, each at concurrency 32 with a random user per request: the default call, with filters, and with
 * `explain=true`. Every scenario is first checked to answer 200 with k personalized items, so a
 * fast error page cannot pass for a result.
 *
 * Each setup runs with every worker count of --workers (API_WORKERS; default 1 and 2). Every
 * scenario is measured --runs times (default 3) after one warm-up; the table shows the median of
 * each number over the runs, and the results file keeps every run.
 *
 * Options: --items N --users N --rank N --duration S --warmup S --connections N
 * --setups embedded,redis[,redis-uncached,redis-batched] --workers 1,2 --runs N --result NAME
 * --scenarios default,filters,explain
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../lib/config.ts';
import {
  dropPrefix,
  load as loadApi,
  type Measurement,
  option,
  RECOMMEND_CALLS,
  redisAnswers,
  redisServerPid,
  type Scenario,
  type Summary,
  servingOptions,
  startServer,
  stopServer,
  summarize,
  writeServingModel,
} from './api-load.ts';
import { recordResult } from './results.ts';

const {
  items: ITEMS,
  users: USERS,
  rank: RANK,
  durationS: DURATION_S,
  warmupS: WARMUP_S,
  connections: CONNECTIONS,
  runs: RUNS,
} = servingOptions();
const SETUPS = option('setups', 'embedded,redis').split(',');
/** What each Redis setup adds to the API's environment. */
const REDIS_SETUPS: Record<string, Record<string, string>> = {
  redis: {},
  'redis-uncached': { REDIS_CLIENT_CACHE: '0' },
  'redis-batched': { REDIS_CLIENT_CACHE: '0', VECTOR_INDEX_BATCH: 'on' },
};
const WORKERS = option('workers', '1,2').split(',').map(Number);
/** The results file's name in bench/results (`--result`), so a partial run keeps the full one. */
const RESULT = option('result', 'recommend');
const K = 10;

const ALL_SCENARIOS: Scenario[] = [...RECOMMEND_CALLS, { name: 'explain', query: '?explain=true' }];
const SCENARIO_NAMES = option('scenarios', ALL_SCENARIOS.map((s) => s.name).join(',')).split(',');
const SCENARIOS = ALL_SCENARIOS.filter((s) => SCENARIO_NAMES.includes(s.name));
if (SCENARIOS.length !== SCENARIO_NAMES.length) {
  throw new Error(`--scenarios: use some of ${ALL_SCENARIOS.map((s) => s.name).join(', ')}`);
}

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

function load(
  url: string,
  scenario: Scenario,
  seconds: number,
  pid: number,
  redisPid: number | undefined,
): Promise<Measurement> {
  return loadApi({
    url,
    path: () => `/recommend/${Math.floor(Math.random() * USERS)}${scenario.query}`,
    seconds,
    connections: CONNECTIONS,
    pid,
    // The Redis server's CPU per request too, where it is a local process.
    ...(redisPid !== undefined ? { otherPids: { redis: redisPid } } : {}),
  });
}

/** The API's CPU per request, and the Redis server's where it was counted. */
function cpuText(m: Measurement): string {
  const redis = m.other_cpu_ms_per_request?.['redis'];
  return `API CPU ${m.api_cpu_ms_per_request ?? '?'} ms/req${redis !== undefined ? `  Redis CPU ${redis} ms/req` : ''}`;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const modelsDir = await mkdtemp(join(tmpdir(), 'bench-recommend-'));
  const results: Record<string, Record<string, Summary> | { skipped: string }> = {};
  try {
    await writeServingModel(modelsDir, { items: ITEMS, users: USERS, rank: RANK });

    for (const setup of SETUPS) {
      const env: Record<string, string> = {
        MODELS_DIR: modelsDir,
        FEATURE_STORE: 'memory',
        VECTOR_INDEX: 'embedded',
        EVENT_BUS: 'memory',
      };
      let prefix: string | undefined;
      let redisPid: number | undefined;
      const redisEnv = REDIS_SETUPS[setup];
      if (redisEnv) {
        if (!(await redisAnswers(config.redis.url))) {
          const reason = `Redis does not answer at ${config.redis.url} (run npm run infra:up)`;
          console.log(`\n[${setup}] skipped: ${reason}`);
          results[setup] = { skipped: reason };
          continue;
        }
        prefix = `bench:${randomUUID().slice(0, 8)}:`;
        redisPid = await redisServerPid(config.redis.url);
        Object.assign(env, { FEATURE_STORE: 'redis', REDIS_KEY_PREFIX: prefix }, redisEnv);
      } else if (setup !== 'embedded') {
        throw new Error(`unknown setup ${setup}; use embedded, ${Object.keys(REDIS_SETUPS).join(', ')}`);
      }
      for (const workers of WORKERS) {
        let label = `${setup}, ${workers} worker${workers === 1 ? '' : 's'}`;
        for (let round = 2; label in results; round++) {
          label = `${setup}, ${workers} worker${workers === 1 ? '' : 's'}, round ${round}`;
        }
        console.log(`\n[${label}] starting the API`);
        const server = await startServer({ ...env, API_WORKERS: String(workers) }, workers);
        try {
          const measured: Record<string, Summary> = {};
          for (const scenario of SCENARIOS) {
            await check(server.url, scenario);
            await load(server.url, scenario, WARMUP_S, server.child.pid!, redisPid);
            const runs: Measurement[] = [];
            for (let run = 1; run <= RUNS; run++) {
              const m = await load(server.url, scenario, DURATION_S, server.child.pid!, redisPid);
              runs.push(m);
              console.log(
                `  ${scenario.name.padEnd(8)} run ${run}/${RUNS} ${String(m.requests_per_s).padStart(6)} req/s  ` +
                  `p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms  ` +
                  `${cpuText(m)}  ` +
                  `(errors ${m.errors}, non-2xx ${m.non2xx}, load ${m.load_average.join(' → ')})`,
              );
            }
            const m = summarize(runs);
            measured[scenario.name] = m;
            console.log(
              `  ${scenario.name.padEnd(8)} median  ${String(m.requests_per_s).padStart(6)} req/s  ` +
                `p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms  ` +
                cpuText(m),
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

  recordResult(RESULT, {
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
