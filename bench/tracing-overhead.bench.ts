/**
 * Tracing overhead: `/recommend` throughput and latency with tracing off and on.
 *
 * Same synthetic model and load as `recommend.bench.ts` (105,000 items × 64 dims, 10,000 users,
 * a random user per request, concurrency 32, embedded adapters, one API worker). "On" is
 * TRACING_ENABLED with TRACING_SAMPLE_RATIO 0.1, exporting over OTLP/HTTP to a sink in this
 * process that answers 200 on /v1/traces and discards the body, so the cost measured is the
 * API's (spans, sampling, batching, serialisation, the HTTP export), not a collector's. Both
 * servers run side by side and the measured runs alternate off/on, so a change in the machine's
 * load hits both; the result is the median of the runs of each.
 *
 * Options: --items N --users N --rank N --duration S --warmup S --runs N --connections N --ratio R
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { load, type Measurement, option, startServer, stopServer } from './api-load.ts';
import { median, recordResult } from './results.ts';

const ITEMS = Number(option('items', '105000'));
const USERS = Number(option('users', '10000'));
const RANK = Number(option('rank', '64'));
const DURATION_S = Number(option('duration', '10'));
const WARMUP_S = Number(option('warmup', '3'));
const RUNS = Number(option('runs', '3'));
const CONNECTIONS = Number(option('connections', '32'));
const SAMPLE_RATIO = Number(option('ratio', '0.1'));

/** An OTLP/HTTP endpoint that accepts every export and keeps only counts. */
async function startSink() {
  const received = { exports: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      received.bytes += chunk.length;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') received.exports++;
      res.writeHead(req.url === '/v1/traces' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Summary {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  api_cpu_ms_per_request: number;
}

function summarise(runs: Measurement[]): Summary {
  return {
    requests_per_s: median(runs.map((r) => r.requests_per_s)),
    p50_ms: median(runs.map((r) => r.latency_ms.p50)),
    p99_ms: median(runs.map((r) => r.latency_ms.p99)),
    api_cpu_ms_per_request: median(runs.map((r) => r.api_cpu_ms_per_request ?? Number.NaN)),
  };
}

const ratio = (on: number, off: number) => Math.round((on / off) * 1000) / 1000;

async function main(): Promise<void> {
  const modelsDir = await mkdtemp(join(tmpdir(), 'bench-tracing-'));
  const sink = await startSink();
  const servers: Array<Awaited<ReturnType<typeof startServer>>> = [];
  try {
    console.log(`synthetic bundle: ${ITEMS} items × ${RANK} dims, ${USERS} users`);
    await syntheticBundle({ items: ITEMS, users: USERS, rank: RANK, seed: 42, outDir: modelsDir });
    const base = {
      MODELS_DIR: modelsDir,
      FEATURE_STORE: 'memory',
      VECTOR_INDEX: 'embedded',
      EVENT_BUS: 'memory',
      API_WORKERS: '1',
    };
    console.log('[tracing off] starting the API');
    const off = await startServer({ ...base, TRACING_ENABLED: 'false' }, 1);
    servers.push(off);
    console.log(`[tracing on, ratio ${SAMPLE_RATIO}] starting the API`);
    const on = await startServer(
      {
        ...base,
        TRACING_ENABLED: 'true',
        TRACING_SAMPLE_RATIO: String(SAMPLE_RATIO),
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      },
      1,
    );
    servers.push(on);

    const modes = { off, on } as const;
    const runs: Record<keyof typeof modes, Measurement[]> = { off: [], on: [] };
    const path = () => `/recommend/${Math.floor(Math.random() * USERS)}`;
    for (const [name, server] of Object.entries(modes)) {
      const res = await fetch(`${server.url}/recommend/0`);
      const body = (await res.json()) as { source?: string };
      if (res.status !== 200 || body.source !== 'personalized') {
        throw new Error(`tracing ${name}: /recommend/0 answered ${res.status} ${JSON.stringify(body)}`);
      }
      await load({
        url: server.url,
        path,
        seconds: WARMUP_S,
        connections: CONNECTIONS,
        pid: server.child.pid!,
      });
    }
    for (let run = 0; run < RUNS; run++) {
      // Alternate which mode goes first, so neither always follows the other's heat.
      const order = run % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const name of order) {
        const server = modes[name];
        const m = await load({
          url: server.url,
          path,
          seconds: DURATION_S,
          connections: CONNECTIONS,
          pid: server.child.pid!,
        });
        runs[name].push(m);
        console.log(
          `  run ${run + 1} tracing ${name.padEnd(3)} ${String(m.requests_per_s).padStart(6)} req/s  ` +
            `p50 ${m.latency_ms.p50} ms  p99 ${m.latency_ms.p99} ms  API CPU ${m.api_cpu_ms_per_request ?? '?'} ms/req  ` +
            `(errors ${m.errors}, non-2xx ${m.non2xx}, load ${m.load_average.join(' → ')})`,
        );
      }
    }
    // Let the batch processor's last export (every 5 s) arrive before checking spans were sent.
    await new Promise((r) => setTimeout(r, 6000));
    if (sink.received.exports === 0) throw new Error('tracing on, but no export reached the OTLP sink');

    const summary = { off: summarise(runs.off), on: summarise(runs.on) };
    const overhead = {
      throughput_on_over_off: ratio(summary.on.requests_per_s, summary.off.requests_per_s),
      p50_on_over_off: ratio(summary.on.p50_ms, summary.off.p50_ms),
      p99_on_over_off: ratio(summary.on.p99_ms, summary.off.p99_ms),
      cpu_per_request_on_over_off: ratio(
        summary.on.api_cpu_ms_per_request,
        summary.off.api_cpu_ms_per_request,
      ),
    };
    console.log(`\nmedians: ${JSON.stringify(summary)}`);
    console.log(`on / off: ${JSON.stringify(overhead)}`);
    console.log(`OTLP sink: ${sink.received.exports} exports, ${sink.received.bytes} bytes`);

    recordResult('tracing-overhead', {
      parameters: {
        items: ITEMS,
        users: USERS,
        rank: RANK,
        connections: CONNECTIONS,
        workers: 1,
        duration_s: DURATION_S,
        warmup_s: WARMUP_S,
        runs: RUNS,
        sample_ratio: SAMPLE_RATIO,
        call: '/recommend/{random user}',
        exporter: 'OTLP/HTTP to an in-process sink answering 200',
      },
      summary,
      overhead,
      otlp_sink: sink.received,
      runs,
    });
  } finally {
    for (const server of servers) await stopServer(server.child);
    await sink.close();
    await rm(modelsDir, { recursive: true, force: true });
  }
}

await main();
