/**
 * Serving against peers: `/recommend` of our API (Redis feature store + Qdrant vector index, one
 * worker; asked with its defaults and for top-k only; and with the embedded index instead of
 * Qdrant) and of the classic Python stack for this architecture (`bench/peers/fastapi_recommend.py`:
 * FastAPI + uvicorn, one process, reading the same Redis keys and searching the same Qdrant
 * collection with the same filters), with the same load generator (autocannon), concurrency, k,
 * users and requests. Gorse is a third arm when a `gorse-in-one` binary is given (`--gorse`).
 *
 *   npm run bench -- serving-peers [--items N] [--users N] [--duration S] [--runs N] [--connections N]
 *     [--python <python with the peer's requirements>] [--gorse <gorse-in-one binary>]
 *
 * Needs Redis (`npm run infra:up`) and a Qdrant server at QDRANT_URL; says why and records a skip
 * otherwise. Our API publishes a synthetic model (the `recommend` bench's) into both at start; the
 * peer then reads what it wrote. Arms run in turn within each scenario (ours, peer, ours, peer, …)
 * so that drift of the host hits both. Reported: req/s, p50, p99, CPU per request of the API
 * process and of Qdrant, each with the ratio to ours.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../lib/config.ts';
import {
  dropPrefix,
  freePort,
  load,
  type Measurement,
  option,
  pidOf,
  qdrantAnswers,
  RECOMMEND_CALLS,
  redisAnswers,
  type Scenario,
  type Summary,
  servingOptions,
  startServer,
  stopServer,
  summarize,
  writeServingModel,
} from './api-load.ts';
import { type GorseArm, startGorse } from './gorse-peer.ts';
import { recordResult } from './results.ts';

const here = dirname(fileURLToPath(import.meta.url));
const {
  items: ITEMS,
  users: USERS,
  rank: RANK,
  durationS: DURATION_S,
  warmupS: WARMUP_S,
  connections: CONNECTIONS,
  runs: RUNS,
} = servingOptions();
const GORSE = option('gorse', process.env['GORSE_BIN'] ?? '');
const K = 10;
/** Our request options that leave only what the FastAPI peer does: top-k by score, filters, purchases out. */
const TOP_K_ONLY = 'diversity_lambda=1&repurchase=exclude';

// The calls every arm can answer (the peer has no explanations).
const SCENARIOS = RECOMMEND_CALLS;

/** An arm of the comparison: a server answering `/recommend/{user}` (or Gorse's own path). */
interface Arm {
  name: string;
  url: string;
  pid: number;
  path: (user: number, scenario: Scenario) => string;
  /** The items of one answer, to check it has k of them. */
  items: (body: unknown) => unknown[] | undefined;
  scenarios: string[];
  stop: () => Promise<void>;
  /** Our API's /metrics (counts the trending answers). */
  metricsUrl?: string;
}

const PEER_REQUIREMENTS = join(here, 'peers', 'requirements-serving.txt');

/** The Python that has the peer's requirements: the one given, or a virtualenv made once. */
function peerPython(given?: string): string {
  if (given) return given;
  const venv = join(tmpdir(), 'recsys-serving-peer-venv');
  const bin = join(venv, 'bin', 'python');
  if (!existsSync(bin)) {
    console.log(`creating ${venv} with ${PEER_REQUIREMENTS} from PyPI`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', '-r', PEER_REQUIREMENTS], { stdio: 'inherit' });
  }
  return bin;
}

async function startPeer(
  python: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    python,
    [
      '-m',
      'uvicorn',
      'fastapi_recommend:app',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--no-access-log',
    ],
    { cwd: join(here, 'peers'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the FastAPI peer exited during start-up:\n${output}`);
    try {
      if ((await fetch(`${url}/docs`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) throw new Error(`the FastAPI peer did not start in 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child };
}

/**
 * Each arm must answer 200 with k personalized items before it is measured. Our API may still be
 * answering trending lists for a moment after the previous arm's load (its Qdrant reads timed out
 * and it waits before trying again), so an answer is asked for up to 10 s.
 */
async function check(arm: Arm, scenario: Scenario): Promise<void> {
  for (const user of [0, Math.floor(USERS / 2), USERS - 1]) {
    const started = Date.now();
    for (;;) {
      const res = await fetch(`${arm.url}${arm.path(user, scenario)}`);
      const body = (await res.json()) as unknown;
      const items = arm.items(body);
      if (res.status === 200 && items?.length === K) break;
      if (Date.now() - started > 10_000) {
        throw new Error(
          `${arm.name} ${scenario.name}: user ${user} got ${res.status} ${JSON.stringify(body).slice(0, 300)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function ratio(value: number | undefined, base: number | undefined): number | undefined {
  if (value === undefined || base === undefined || base === 0) return undefined;
  return Math.round((value / base) * 1000) / 1000;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const skip = !(await redisAnswers(config.redis.url))
    ? `Redis does not answer at ${config.redis.url} (run npm run infra:up)`
    : await qdrantAnswers(config.qdrant.url);
  if (skip) {
    console.log(`skipped: ${skip}`);
    recordResult('serving-peers', { skipped: skip });
    return;
  }
  const python = peerPython(option('python', '') || undefined);
  const modelsDir = await mkdtemp(join(tmpdir(), 'bench-serving-peers-'));
  const prefix = `bench:${randomUUID().slice(0, 8)}:`;
  const collection = `bench_${randomUUID().slice(0, 8)}`;
  const arms: Arm[] = [];
  const results: Record<
    string,
    Record<string, Summary & { ratio_to_ours: Record<string, number | undefined> }>
  > = {};
  let gorse: GorseArm | { skipped: string } | undefined;
  try {
    await writeServingModel(modelsDir, { items: ITEMS, users: USERS, rank: RANK });

    const shared = { REDIS_KEY_PREFIX: prefix, QDRANT_COLLECTION: collection };
    console.log('[ours] starting the API (Redis + Qdrant, 1 worker); it publishes the model into both');
    const ours = await startServer(
      {
        MODELS_DIR: modelsDir,
        FEATURE_STORE: 'redis',
        VECTOR_INDEX: 'qdrant',
        EVENT_BUS: 'memory',
        API_WORKERS: '1',
        ...shared,
      },
      1,
    );
    const personalized = (body: unknown) => {
      const b = body as { source?: string; items?: unknown[] };
      return b.source === 'personalized' ? b.items : undefined;
    };
    arms.push({
      name: 'ours',
      url: ours.url,
      pid: ours.child.pid!,
      path: (user, s) => `/recommend/${user}${s.query}`,
      items: personalized,
      scenarios: SCENARIOS.map((s) => s.name),
      stop: () => stopServer(ours.child),
      metricsUrl: `${ours.url}/metrics`,
    });
    // The same API asked for the peer's work only: no MMR diversity, purchases left out instead
    // of offered again (no second index read).
    arms.push({
      name: 'ours-top-k',
      url: ours.url,
      pid: ours.child.pid!,
      path: (user, s) => `/recommend/${user}${s.query ? `${s.query}&` : '?'}${TOP_K_ONLY}`,
      items: personalized,
      scenarios: SCENARIOS.map((s) => s.name),
      stop: async () => {},
      metricsUrl: `${ours.url}/metrics`,
    });

    // The same API with filtered searches on HNSW instead of a scan (QDRANT_EXACT_SEARCH=never):
    // less Qdrant CPU per search for a lower recall (see the qdrant bench). A second process on the
    // version the first one published.
    console.log('[ours-hnsw] starting the API (Redis + Qdrant, filtered searches on HNSW, 1 worker)');
    const hnsw = await startServer(
      {
        MODELS_DIR: modelsDir,
        FEATURE_STORE: 'redis',
        VECTOR_INDEX: 'qdrant',
        QDRANT_EXACT_SEARCH: 'never',
        EVENT_BUS: 'memory',
        API_WORKERS: '1',
        ...shared,
      },
      1,
    );
    arms.push({
      name: 'ours-hnsw',
      url: hnsw.url,
      pid: hnsw.child.pid!,
      path: (user, s) => `/recommend/${user}${s.query}`,
      items: personalized,
      scenarios: SCENARIOS.filter((s) => s.query !== '').map((s) => s.name),
      stop: () => stopServer(hnsw.child),
      metricsUrl: `${hnsw.url}/metrics`,
    });

    // Our single-node form: the same Redis, the item vectors in the API process (filled from the
    // bundle of the version Redis serves) instead of Qdrant.
    console.log('[ours-embedded] starting the API (Redis + embedded index, 1 worker)');
    const embedded = await startServer(
      {
        MODELS_DIR: modelsDir,
        FEATURE_STORE: 'redis',
        VECTOR_INDEX: 'embedded',
        EVENT_BUS: 'memory',
        API_WORKERS: '1',
        ...shared,
      },
      1,
    );
    arms.push({
      name: 'ours-embedded',
      url: embedded.url,
      pid: embedded.child.pid!,
      path: (user, s) => `/recommend/${user}${s.query}`,
      items: personalized,
      scenarios: SCENARIOS.map((s) => s.name),
      stop: () => stopServer(embedded.child),
      metricsUrl: `${embedded.url}/metrics`,
    });

    console.log('[fastapi] starting the FastAPI + uvicorn peer (1 process)');
    const peer = await startPeer(python, {
      REDIS_URL: config.redis.url,
      QDRANT_URL: config.qdrant.url,
      ...shared,
    });
    arms.push({
      name: 'fastapi',
      url: peer.url,
      pid: peer.child.pid!,
      path: (user, s) => `/recommend/${user}${s.query}`,
      items: (body) => (body as { items?: unknown[] }).items,
      scenarios: SCENARIOS.map((s) => s.name),
      stop: () => stopServer(peer.child),
    });

    if (GORSE) {
      gorse = await startGorse({ binary: GORSE, modelsDir, users: USERS, k: K });
      if ('skipped' in gorse) console.log(`[gorse] skipped: ${gorse.skipped}`);
      else arms.push(gorse.arm);
    }

    const qdrant = pidOf('qdrant');
    for (const scenario of SCENARIOS) {
      const taking = arms.filter((a) => a.scenarios.includes(scenario.name));
      for (const arm of taking) {
        await check(arm, scenario);
        await measure(arm, scenario, WARMUP_S, qdrant);
      }
      const runs = new Map(taking.map((a) => [a.name, [] as Measurement[]]));
      for (let run = 1; run <= RUNS; run++) {
        for (const arm of taking) {
          const m = await measure(arm, scenario, DURATION_S, qdrant);
          runs.get(arm.name)!.push(m);
          console.log(
            `  ${scenario.name.padEnd(13)} ${arm.name.padEnd(13)} run ${run}/${RUNS} ${String(m.requests_per_s).padStart(6)} req/s  ` +
              `p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms  CPU ${m.api_cpu_ms_per_request ?? '?'} ms/req ` +
              `(qdrant ${m.other_cpu_ms_per_request?.['qdrant'] ?? '?'})  errors ${m.errors}, non-2xx ${m.non2xx}` +
              (m.trending_share === undefined ? '' : `, trending ${(100 * m.trending_share).toFixed(1)} %`),
          );
        }
      }
      const base = summarize(runs.get('ours')!);
      for (const arm of taking) {
        const m = summarize(runs.get(arm.name)!);
        const row = {
          ...m,
          ratio_to_ours: {
            requests_per_s: ratio(m.requests_per_s, base.requests_per_s),
            p50: ratio(m.latency_ms.p50, base.latency_ms.p50),
            p99: ratio(m.latency_ms.p99, base.latency_ms.p99),
            cpu_ms_per_request: ratio(m.api_cpu_ms_per_request, base.api_cpu_ms_per_request),
          },
        };
        results[arm.name] ??= {};
        results[arm.name]![scenario.name] = row;
        console.log(
          `  ${scenario.name.padEnd(13)} ${arm.name.padEnd(13)} median ${String(m.requests_per_s).padStart(6)} req/s ` +
            `(×${row.ratio_to_ours.requests_per_s})  p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms ` +
            `(×${row.ratio_to_ours.p99})  CPU ${m.api_cpu_ms_per_request} ms/req (×${row.ratio_to_ours.cpu_ms_per_request})` +
            (m.trending_share === undefined ? '' : `  trending ${(100 * m.trending_share).toFixed(1)} %`),
        );
      }
    }
  } finally {
    for (const arm of arms.reverse()) await arm.stop();
    if (gorse && 'cleanup' in gorse) await gorse.cleanup();
    await dropPrefix(config.redis.url, prefix);
    await dropCollections(config.qdrant.url, collection);
    await rm(modelsDir, { recursive: true, force: true });
  }
  recordResult('serving-peers', {
    parameters: {
      items: ITEMS,
      users: USERS,
      rank: RANK,
      k: K,
      connections: CONNECTIONS,
      runs: RUNS,
      duration_s: DURATION_S,
      warmup_s: WARMUP_S,
      scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.name, `/recommend/{random user}${s.query}`])),
    },
    ...(gorse && 'skipped' in gorse ? { gorse_skipped: gorse.skipped } : {}),
    ...(gorse && 'loaded' in gorse ? { gorse_loaded: gorse.loaded } : {}),
    results,
  });
}

function measure(
  arm: Arm,
  scenario: Scenario,
  seconds: number,
  qdrant: number | undefined,
): Promise<Measurement> {
  return load({
    url: arm.url,
    path: () => arm.path(Math.floor(Math.random() * USERS), scenario),
    seconds,
    connections: CONNECTIONS,
    pid: arm.pid,
    ...(qdrant === undefined ? {} : { otherPids: { qdrant } }),
    ...(arm.metricsUrl ? { metricsUrl: arm.metricsUrl } : {}),
  });
}

/** Removes the bench's collections and alias from Qdrant. */
async function dropCollections(url: string, alias: string): Promise<void> {
  const res = await fetch(`${url}/collections`);
  const body = (await res.json()) as { result?: { collections?: Array<{ name: string }> } };
  await fetch(`${url}/collections/aliases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ actions: [{ delete_alias: { alias_name: alias } }] }),
  });
  for (const { name } of body.result?.collections ?? []) {
    if (name.startsWith(`${alias}_`)) await fetch(`${url}/collections/${name}`, { method: 'DELETE' });
  }
}

await main();
