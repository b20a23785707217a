/**
 * Freshness: time from `POST /events/purchase` returning (the bus acknowledged the event) to the
 * first `/recommend` answer that reflects it, under a steady background load of simulated events.
 *
 * Real Kafka and Redis; the updater runs as its own process (`stream/updater/main.ts`, default
 * debounce); the API (`serve/app.ts`) runs in this process on the Redis feature store and an
 * embedded index. Probe users are kept out of the background traffic, so a change in their
 * recommendation scores can only come from the probe's purchase. After each purchase the probe
 * asks `/recommend` again and again (back to back) and stops the clock when an answer differs from
 * the one before the purchase; the figure therefore includes one `/recommend` call.
 *
 *   npm run bench -- freshness [--probes 300] [--load 500] [--debounce 20]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createMetrics } from '../lib/observability/metrics.ts';
import { sleep } from '../lib/retry.ts';
import { seededRandom } from '../lib/stores/random.ts';
import { createApp } from '../serve/app.ts';
import { runProducer } from '../stream/producer/run.ts';
import { createEventSimulator } from '../stream/producer/simulator.ts';
import { createStreamWorld } from '../stream/testing/world.ts';
import { median, percentile, recordResult } from './results.ts';

const { values } = parseArgs({
  options: { probes: { type: 'string' }, load: { type: 'string' }, debounce: { type: 'string' } },
  strict: true,
});
const PROBES = Number(values.probes ?? 300);
const LOAD = Number(values.load ?? 500);
/** The updater's UPDATER_DEBOUNCE_MS (the configuration default unless given). */
const DEBOUNCE_MS = Number(values.debounce ?? 20);
const WARMUP = 10;
const PROBE_USERS = 200;
const PROBE_TIMEOUT_MS = 5000;
const GOAL_P99_MS = 100;

async function main(): Promise<void> {
  console.log('setting up: synthetic model (rank 64, 20000 users, 5000 items) in Redis');
  const world = await createStreamWorld({ items: 5000, users: 20_000, rank: 64, seed: 8 });
  const controller = new AbortController();
  try {
    const metricsPort = 20_000 + Math.floor(Math.random() * 20_000);
    const updater = world.spawnUpdater({
      UPDATER_DEBOUNCE_MS: String(DEBOUNCE_MS),
      UPDATER_METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    });
    const app = createApp({
      featureStore: world.featureStore,
      vectorIndex: world.vectorIndex,
      eventBus: await world.bus('api'),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: world.logger,
    });
    const random = seededRandom(4);
    const probeUsers = world.catalog.users.slice(0, PROBE_USERS);
    const probeSet = new Set(probeUsers);
    const background = {
      users: world.catalog.users.filter((u) => !probeSet.has(u)),
      items: world.catalog.items,
    };

    // Wait until the updater has joined the group and applies events.
    const canary = await app.request('/events/purchase', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_idx: background.users[0], item_idx: background.items[0]!.item_idx }),
    });
    const canaryId = ((await canary.json()) as { event_id: string }).event_id;
    await world.waitApplied([{ event_id: canaryId, user_idx: background.users[0]! }], 60_000);

    let backgroundSent = 0;
    const load = runProducer({
      bus: await world.bus('load'),
      simulator: createEventSimulator(background, { seed: 2, source: 'load' }),
      rate: LOAD,
      signal: controller.signal,
      onSent: (events) => {
        backgroundSent += events.length;
      },
    });
    await sleep(2000);

    const recommend = async (user: number) => {
      const res = await app.request(`/recommend/${user}?k=10&diversity_lambda=1`);
      if (res.status !== 200) throw new Error(`/recommend answered ${res.status}`);
      return JSON.stringify(((await res.json()) as { items: unknown[] }).items);
    };

    const latencies: number[] = [];
    const recommendMs: number[] = [];
    let timeouts = 0;
    const loadBefore = loadavg()[0]!;
    for (let i = 0; i < PROBES + WARMUP; i++) {
      const user = probeUsers[i % probeUsers.length]!;
      const item = world.catalog.items[random.int(world.catalog.items.length)]!.item_idx;
      const before = await recommend(user);
      const posted = await app.request('/events/purchase', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_idx: user, item_idx: item }),
      });
      if (posted.status !== 202) throw new Error(`POST /events/purchase answered ${posted.status}`);
      const returned = performance.now();
      let seen = false;
      while (performance.now() - returned < PROBE_TIMEOUT_MS) {
        const asked = performance.now();
        const now = await recommend(user);
        recommendMs.push(performance.now() - asked);
        if (now !== before) {
          seen = true;
          break;
        }
      }
      if (i >= WARMUP) {
        if (seen) latencies.push(performance.now() - returned);
        else timeouts++;
      }
      await sleep(20);
    }
    controller.abort();
    await load;
    const batches = await batchTimes(metricsPort);

    const p50 = median(latencies);
    const p99 = percentile(latencies, 99);
    const round = (x: number) => Math.round(x * 10) / 10;
    console.log(
      `debounce ${DEBOUNCE_MS} ms, ${latencies.length} probes under ${LOAD} events/s (${backgroundSent} background events): ` +
        `p50 ${round(p50)} ms, p90 ${round(percentile(latencies, 90))} ms, p99 ${round(p99)} ms, ` +
        `max ${round(Math.max(...latencies))} ms, ${timeouts} timeouts; one /recommend p50 ${round(median(recommendMs))} ms`,
    );
    console.log(
      `updater: ${batches.count} batches, mean ${batches.mean_ms} ms each, ${batches.over_25ms_pct} % over 25 ms, ${batches.over_100ms_pct} % over 100 ms`,
    );
    console.log(`goal p99 ≤ ${GOAL_P99_MS} ms: ${p99 <= GOAL_P99_MS && timeouts === 0 ? 'MET' : 'NOT MET'}`);
    recordResult('freshness', {
      probes: latencies.length,
      timeouts,
      background_events_per_second: LOAD,
      background_events: backgroundSent,
      debounce_ms: DEBOUNCE_MS,
      model: { rank: 64, users: 20_000, items: 5000 },
      p50_ms: round(p50),
      p90_ms: round(percentile(latencies, 90)),
      p99_ms: round(p99),
      max_ms: round(Math.max(...latencies)),
      recommend_p50_ms: round(median(recommendMs)),
      updater_batches: batches,
      goal_p99_ms: GOAL_P99_MS,
      goal_met: p99 <= GOAL_P99_MS && timeouts === 0,
      load_average: [round(loadBefore), round(loadavg()[0]!)],
    });
    updater.child.kill('SIGTERM');
    await updater.exited;
  } finally {
    controller.abort();
    await world.dispose();
  }
}

/** The updater's batch processing times, from its /metrics (event_processing_duration_seconds). */
async function batchTimes(port: number) {
  const text = await (await fetch(`http://localhost:${port}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  const count = value(/^event_processing_duration_seconds_count\{[^}]*\} (\S+)$/m);
  const sum = value(/^event_processing_duration_seconds_sum\{[^}]*\} (\S+)$/m);
  const bucket = (le: string) =>
    value(new RegExp(`^event_processing_duration_seconds_bucket\\{le="${le}"[^}]*\\} (\\S+)$`, 'm'));
  const pct = (le: string) => Math.round(((count - bucket(le)) / count) * 1000) / 10;
  return {
    count,
    mean_ms: Math.round((sum / count) * 10_000) / 10,
    over_25ms_pct: pct('0.025'),
    over_100ms_pct: pct('0.1'),
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
