/**
 * Helpers for benchmarks that load the real API process: start `serve/main.ts` as a child process
 * on a free port, drive it with autocannon, and measure throughput, latency and the API's CPU
 * time per request (from /proc, which depends much less on what else runs on the machine).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { median } from './results.ts';

const mainScript = fileURLToPath(new URL('../serve/main.ts', import.meta.url));

export interface Measurement {
  /** API CPU time per answered request (all workers), independent of how busy the machine is. */
  api_cpu_ms_per_request?: number;
  /** CPU time per answered request of other processes the requests use (e.g. `qdrant`). */
  other_cpu_ms_per_request?: Record<string, number>;
  /** 1-minute load average of the machine before and after the run (other work competes for the cores). */
  load_average: [number, number];
  requests_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
  requests: number;
  errors: number;
  non2xx: number;
  /**
   * Share of the run's answers that were trending lists (`recommendation_requests_total` with
   * `source="trending"`, from the API's /metrics): a fallback answers 200 as fast as it can, so
   * req/s and latency mean little without it. Only for our API.
   */
  trending_share?: number;
}

/** A value of `--name <value>` on the command line, or the fallback. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/**
 * CPU time (user + system, ms) used so far by a process and its descendants (the API workers),
 * from /proc; undefined where /proc is not available. Clock ticks are 100 per second on Linux.
 */
export async function processTreeCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ms = (Number(fields[11]) + Number(fields[12])) * 10;
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      const children = (await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8')).trim();
      for (const child of children ? children.split(' ') : [])
        ms += (await processTreeCpuMs(Number(child))) ?? 0;
    }
    return ms;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the API with `env` and waits until all `workers` listen. */
export async function startServer(
  env: Record<string, string>,
  workers: number,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', mainScript], {
    env: {
      ...process.env,
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      // The default level: start-up is detected from its "API listening" lines, and the numbers
      // include the per-request log line a deployment writes at info.
      LOG_LEVEL: env['LOG_LEVEL'] ?? 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const started = Date.now();
  while (output.split('API listening').length - 1 < workers) {
    if (child.exitCode !== null) throw new Error(`API exited during start-up:\n${output}`);
    if (Date.now() - started > 600_000) throw new Error(`API did not start within 10 minutes:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`  API ready after ${((Date.now() - started) / 1000).toFixed(1)} s (model load included)`);
  child.stdout!.off('data', onData);
  child.stdout!.resume();
  return { url: `http://127.0.0.1:${port}`, child };
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface LoadOptions {
  url: string;
  /** The request path of each request (called per request). */
  path: () => string;
  seconds: number;
  connections: number;
  /** The API process, for its CPU time. */
  pid: number;
  /** Other processes whose CPU time per request to report, by name. */
  otherPids?: Record<string, number>;
  /** Our API's /metrics, to count the trending answers of the run. */
  metricsUrl?: string;
}

/** `recommendation_requests_total` by source, summed over the other labels, from a /metrics page. */
export async function answersBySource(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^recommendation_requests_total\{([^}]*)\} ([0-9.e+]+)$/.exec(line);
    const source = m ? /source="([^"]*)"/.exec(m[1]!)?.[1] : undefined;
    if (m && source) out[source] = (out[source] ?? 0) + Number(m[2]);
  }
  return out;
}

/** GETs `path()` at `connections` concurrency for `seconds`. */
export async function load(options: LoadOptions): Promise<Measurement> {
  const loadBefore = loadavg()[0]!;
  const others = Object.entries(options.otherPids ?? {});
  const othersBefore = await Promise.all(others.map(([, pid]) => processTreeCpuMs(pid)));
  const sourcesBefore = options.metricsUrl ? await answersBySource(options.metricsUrl) : undefined;
  const cpuBefore = await processTreeCpuMs(options.pid);
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: options.path() }) }],
  });
  const cpuAfter = await processTreeCpuMs(options.pid);
  const sourcesAfter = options.metricsUrl ? await answersBySource(options.metricsUrl) : undefined;
  let trendingShare: number | undefined;
  if (sourcesBefore && sourcesAfter) {
    const delta = (source: string) => (sourcesAfter[source] ?? 0) - (sourcesBefore[source] ?? 0);
    const total = delta('personalized') + delta('trending');
    trendingShare = total > 0 ? Math.round((delta('trending') / total) * 1000) / 1000 : undefined;
  }
  const othersAfter = await Promise.all(others.map(([, pid]) => processTreeCpuMs(pid)));
  const perRequest = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined || result.requests.total === 0
      ? undefined
      : Math.round(((after - before) / result.requests.total) * 1000) / 1000;
  const cpu = perRequest(cpuBefore, cpuAfter);
  const other: Record<string, number> = {};
  for (const [i, [name]] of others.entries()) {
    const value = perRequest(othersBefore[i], othersAfter[i]);
    if (value !== undefined) other[name] = value;
  }
  return {
    ...(cpu === undefined ? {} : { api_cpu_ms_per_request: cpu }),
    ...(others.length > 0 ? { other_cpu_ms_per_request: other } : {}),
    load_average: [Math.round(loadBefore * 100) / 100, Math.round(loadavg()[0]! * 100) / 100],
    requests_per_s: Math.round(result.requests.average),
    latency_ms: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: Math.round(result.latency.mean * 100) / 100,
    },
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    ...(trendingShare === undefined ? {} : { trending_share: trendingShare }),
  };
}

/** Per-number medians of several runs of one scenario (the runs themselves are kept too). */
export interface Summary extends Measurement {
  runs: Measurement[];
}

export function summarize(runs: Measurement[]): Summary {
  const mid = (pick: (m: Measurement) => number) => median(runs.map(pick));
  const cpu = runs.map((m) => m.api_cpu_ms_per_request).filter((v): v is number => v !== undefined);
  const names = Object.keys(runs[0]?.other_cpu_ms_per_request ?? {});
  const other = Object.fromEntries(
    names.map((name) => [name, median(runs.map((m) => m.other_cpu_ms_per_request?.[name] ?? 0))]),
  );
  return {
    ...(cpu.length === runs.length ? { api_cpu_ms_per_request: median(cpu) } : {}),
    ...(names.length > 0 ? { other_cpu_ms_per_request: other } : {}),
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
    ...(runs.every((m) => m.trending_share !== undefined)
      ? { trending_share: median(runs.map((m) => m.trending_share!)) }
      : {}),
    runs,
  };
}

export async function redisAnswers(url: string): Promise<boolean> {
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

/** The process id of the Redis server at `url` (INFO server), so its CPU can be counted too. */
export async function redisServerPid(url: string): Promise<number | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  try {
    await client.connect();
    const match = /^process_id:(\d+)/m.exec(await client.info('server'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
  await client.quit();
}

/** A `/recommend` call of the serving benchmarks: a name and the query string after the path. */
export interface Scenario {
  name: string;
  query: string;
}

/** The default call and the filtered one (two product groups, two types and three ids left out). */
export const RECOMMEND_CALLS: Scenario[] = [
  { name: 'default', query: '' },
  {
    name: 'filters',
    query:
      '?product_group=Garment%20Upper%20body,Garment%20Lower%20body&exclude_types=Socks,Bra&exclude_ids=1,2,3',
  },
];

/** Null when a Qdrant server answers /readyz at `url`, else why not. */
export async function qdrantAnswers(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/readyz`);
    return res.ok ? null : `Qdrant at ${url} answers ${res.status} to /readyz`;
  } catch (error) {
    return `no Qdrant server answers at ${url} (${(error as Error).message}); start one and set QDRANT_URL`;
  }
}

/** The pid of a process of this machine by its command name (e.g. `qdrant`), for its CPU time. */
export function pidOf(command: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** The options every serving benchmark takes, from the command line. */
export function servingOptions() {
  return {
    items: Number(option('items', '105000')),
    users: Number(option('users', '10000')),
    rank: Number(option('rank', '64')),
    durationS: Number(option('duration', '15')),
    warmupS: Number(option('warmup', '3')),
    connections: Number(option('connections', '32')),
    runs: Number(option('runs', '3')),
  };
}

/**
 * Writes the serving benchmarks' synthetic model into `dir`. Histories end today, so the
 * repurchase stage (REPURCHASE=auto) finds recent purchases as live.
 */
export async function writeServingModel(
  dir: string,
  o: { items: number; users: number; rank: number },
): Promise<void> {
  console.log(`synthetic bundle: ${o.items} items × ${o.rank} dims, ${o.users} users`);
  const started = Date.now();
  await syntheticBundle({
    items: o.items,
    users: o.users,
    rank: o.rank,
    seed: 42,
    outDir: dir,
    lastDay: new Date(),
  });
  console.log(`  written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
