/**
 * Helpers for benchmarks that load the real API process: start `serve/main.ts` as a child process
 * on a free port, drive it with autocannon, and measure throughput, latency and the API's CPU
 * time per request (from /proc, which depends much less on what else runs on the machine).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const mainScript = fileURLToPath(new URL('../serve/main.ts', import.meta.url));

export interface Measurement {
  /** API CPU time per answered request (all workers), independent of how busy the machine is. */
  api_cpu_ms_per_request?: number;
  /** 1-minute load average of the machine before and after the run (other work competes for the cores). */
  load_average: [number, number];
  requests_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
  requests: number;
  errors: number;
  non2xx: number;
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
}

/** GETs `path()` at `connections` concurrency for `seconds`. */
export async function load(options: LoadOptions): Promise<Measurement> {
  const loadBefore = loadavg()[0]!;
  const cpuBefore = await processTreeCpuMs(options.pid);
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: options.path() }) }],
  });
  const cpuAfter = await processTreeCpuMs(options.pid);
  const cpu =
    cpuBefore === undefined || cpuAfter === undefined || result.requests.total === 0
      ? undefined
      : Math.round(((cpuAfter - cpuBefore) / result.requests.total) * 1000) / 1000;
  return {
    ...(cpu === undefined ? {} : { api_cpu_ms_per_request: cpu }),
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
  };
}
