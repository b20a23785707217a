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
 * `--new-customers 0.2`: that share of the probe purchases comes from brand-new customers, posted
 * as the API takes them (a `customer_id` the id map does not hold, no `user_idx`); "before" is
 * then the cold-start answer (`/recommend/customer/{id}`: trending), and the clock stops when
 * `/recommend/{user_idx}` for the `user_idx` of the 202 answers differently (the updater started
 * the customer's vector). The same share of the background events comes from new customers too
 * (numbered with `featureStore.assignIds`, 1–3 events after a first purchase each). Figures are
 * given for known users and new customers apart and overall; the result goes to
 * `freshness-new-customers-<percent>.json`.
 *
 *   npm run bench -- freshness [--probes 300] [--load 500] [--debounce 20] [--new-customers 0]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { sleep } from '../lib/retry.ts';
import type { FeatureStore } from '../lib/stores/feature-store.ts';
import { seededRandom } from '../lib/stores/random.ts';
import { createApp } from '../serve/app.ts';
import { runProducer } from '../stream/producer/run.ts';
import { createEventSimulator, type NewCustomer, withNewCustomers } from '../stream/producer/simulator.ts';
import { createStreamWorld } from '../stream/testing/world.ts';
import { median, percentile, recordResult } from './results.ts';

const { values } = parseArgs({
  options: {
    probes: { type: 'string' },
    load: { type: 'string' },
    debounce: { type: 'string' },
    'new-customers': { type: 'string' },
  },
  strict: true,
});
const PROBES = Number(values.probes ?? 300);
const LOAD = Number(values.load ?? 500);
/** The updater's UPDATER_DEBOUNCE_MS (the configuration default unless given). */
const DEBOUNCE_MS = Number(values.debounce ?? 20);
/** Share of the probe purchases (and of the background events) from customers never seen (0..1). */
const NEW_CUSTOMERS = Number(values['new-customers'] ?? 0);
if (!(NEW_CUSTOMERS >= 0 && NEW_CUSTOMERS <= 1))
  throw new RangeError('--new-customers takes a fraction in 0..1');
const WARMUP = 10;
const PROBE_USERS = 200;
const PROBE_TIMEOUT_MS = 5000;
const GOAL_P99_MS = 100;

async function main(): Promise<void> {
  console.log('setting up: synthetic model (rank 64, 20000 users, 5000 items) in Redis');
  // The API's store keeps a client cache of Redis reads as the environment's REDIS_CLIENT_CACHE
  // says (on by default, as in the API; 0 measures without it); the updater is another process.
  const world = await createStreamWorld({
    items: 5000,
    users: 20_000,
    rank: 64,
    seed: 8,
    clientCacheEntries: loadConfig().redis.clientCacheEntries,
  });
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
    // New customers of the background traffic, numbered ahead in the store (as the API would).
    const backgroundCustomers = newCustomerPool(world.featureStore, 'b0');
    if (NEW_CUSTOMERS > 0) await backgroundCustomers.fill();

    // Wait until the updater has joined the group and applies events.
    const canary = await app.request('/events/purchase', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_idx: background.users[0], item_idx: background.items[0]!.item_idx }),
    });
    const canaryId = ((await canary.json()) as { event_id: string }).event_id;
    await world.waitApplied([{ event_id: canaryId, user_idx: background.users[0]! }], 60_000);

    let backgroundSent = 0;
    const baseLoad = createEventSimulator(background, { seed: 2, source: 'load' });
    const loadSimulator = withNewCustomers(baseLoad, {
      fraction: NEW_CUSTOMERS,
      seed: 5,
      newCustomer: () => backgroundCustomers.take(),
    });
    const load = runProducer({
      bus: await world.bus('load'),
      simulator: NEW_CUSTOMERS > 0 ? loadSimulator : baseLoad,
      rate: LOAD,
      signal: controller.signal,
      onSent: (events) => {
        backgroundSent += events.length;
      },
    });
    await sleep(2000);

    const recommend = async (path: string) => {
      const res = await app.request(`${path}?k=10&diversity_lambda=1`);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      const body = (await res.json()) as { items: unknown[]; source: string };
      return { items: JSON.stringify(body.items), source: body.source };
    };

    type Kind = 'known' | 'new';
    const latencies: Record<Kind, number[]> = { known: [], new: [] };
    const postMs: Record<Kind, number[]> = { known: [], new: [] };
    const timeouts: Record<Kind, number> = { known: 0, new: 0 };
    const recommendMs: number[] = [];
    let newProbeCustomers = 0;
    const loadBefore = loadavg()[0]!;
    for (let i = 0; i < PROBES + WARMUP; i++) {
      // Every 1/NEW_CUSTOMERS-th probe (evenly spread) is a brand-new customer's first purchase.
      const kind: Kind =
        Math.floor((i + 1) * NEW_CUSTOMERS) > Math.floor(i * NEW_CUSTOMERS) ? 'new' : 'known';
      const item = world.catalog.items[random.int(world.catalog.items.length)]!.item_idx;
      let user = -1;
      let before: string;
      let postedAt: number;
      let posted: Response;
      if (kind === 'known') {
        user = probeUsers[i % probeUsers.length]!;
        before = (await recommend(`/recommend/${user}`)).items;
        postedAt = performance.now();
        posted = await app.request('/events/purchase', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_idx: user, item_idx: item }),
        });
      } else {
        const customerId = probeCustomerId(newProbeCustomers++);
        // What the customer was shown before buying: the cold-start answer.
        const cold = await recommend(`/recommend/customer/${customerId}`);
        if (cold.source !== 'trending') throw new Error(`a new customer got a ${cold.source} answer`);
        before = cold.items;
        postedAt = performance.now();
        posted = await app.request('/events/purchase', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customer_id: customerId, item_idx: item }),
        });
      }
      if (posted.status !== 202)
        throw new Error(`POST /events/purchase answered ${posted.status}: ${await posted.text()}`);
      // A new customer's number comes with the 202 (parsed before the clock starts: microseconds).
      if (kind === 'new') user = ((await posted.json()) as { user_idx: number }).user_idx;
      const returned = performance.now();
      let seen = false;
      while (performance.now() - returned < PROBE_TIMEOUT_MS) {
        const asked = performance.now();
        const now = await recommend(`/recommend/${user}`);
        recommendMs.push(performance.now() - asked);
        if (now.items !== before) {
          // A new customer's answer changes only when the updater has started the vector.
          if (kind === 'new' && now.source !== 'personalized')
            throw new Error(`new customer ${user}: the answer changed but is ${now.source}`);
          seen = true;
          break;
        }
      }
      if (i >= WARMUP) {
        postMs[kind].push(returned - postedAt);
        if (seen) latencies[kind].push(performance.now() - returned);
        else timeouts[kind]++;
      }
      await sleep(20);
    }
    controller.abort();
    await load;
    const batches = await batchTimes(metricsPort);

    const all = [...latencies.known, ...latencies.new];
    const allTimeouts = timeouts.known + timeouts.new;
    const p50 = median(all);
    const p99 = percentile(all, 99);
    const round = (x: number) => Math.round(x * 10) / 10;
    const figures = (values: number[]) => ({
      p50_ms: round(median(values)),
      p90_ms: round(percentile(values, 90)),
      p99_ms: round(percentile(values, 99)),
      max_ms: round(Math.max(...values)),
    });
    const line = (values: number[], lost: number) => {
      const f = figures(values);
      return `${values.length} probes: p50 ${f.p50_ms} ms, p90 ${f.p90_ms} ms, p99 ${f.p99_ms} ms, max ${f.max_ms} ms, ${lost} timeouts`;
    };
    const background_new_customers =
      NEW_CUSTOMERS > 0 ? { fraction: NEW_CUSTOMERS, ...loadSimulator.stats } : undefined;
    console.log(
      `debounce ${DEBOUNCE_MS} ms, under ${LOAD} events/s (${backgroundSent} background events` +
        (background_new_customers
          ? `, ${background_new_customers.events} from ${background_new_customers.customers} new customers`
          : '') +
        `): ${line(all, allTimeouts)}; one /recommend p50 ${round(median(recommendMs))} ms`,
    );
    if (NEW_CUSTOMERS > 0) {
      console.log(
        `  known users:   ${line(latencies.known, timeouts.known)}; POST p50 ${round(median(postMs.known))} ms`,
      );
      console.log(
        `  new customers: ${line(latencies.new, timeouts.new)}; POST p50 ${round(median(postMs.new))} ms`,
      );
    }
    console.log(
      `updater: ${batches.count} batches, mean ${batches.mean_ms} ms each, ${batches.over_25ms_pct} % over 25 ms, ${batches.over_100ms_pct} % over 100 ms, ${batches.dead_lettered} dead-lettered`,
    );
    console.log(
      `goal p99 ≤ ${GOAL_P99_MS} ms: ${p99 <= GOAL_P99_MS && allTimeouts === 0 ? 'MET' : 'NOT MET'}`,
    );
    const split = (kind: Kind) => ({
      probes: latencies[kind].length,
      timeouts: timeouts[kind],
      ...figures(latencies[kind]),
      post_p50_ms: round(median(postMs[kind])),
      post_p99_ms: round(percentile(postMs[kind], 99)),
    });
    recordResult(
      NEW_CUSTOMERS > 0 ? `freshness-new-customers-${Math.round(NEW_CUSTOMERS * 100)}` : 'freshness',
      {
        probes: all.length,
        timeouts: allTimeouts,
        api_client_cache: world.featureStore.clientCacheStats(),
        new_customer_fraction: NEW_CUSTOMERS,
        ...(NEW_CUSTOMERS > 0 ? { known_users: split('known'), new_customers: split('new') } : {}),
        background_events_per_second: LOAD,
        background_events: backgroundSent,
        ...(background_new_customers ? { background_new_customers } : {}),
        debounce_ms: DEBOUNCE_MS,
        model: { rank: 64, users: 20_000, items: 5000 },
        p50_ms: round(p50),
        p90_ms: round(percentile(all, 90)),
        p99_ms: round(p99),
        max_ms: round(Math.max(...all)),
        recommend_p50_ms: round(median(recommendMs)),
        updater_batches: batches,
        goal_p99_ms: GOAL_P99_MS,
        goal_met: p99 <= GOAL_P99_MS && allTimeouts === 0,
        load_average: [round(loadBefore), round(loadavg()[0]!)],
      },
    );
    updater.child.kill('SIGTERM');
    await updater.exited;
  } finally {
    controller.abort();
    await world.dispose();
  }
}

/** A customer id (64 hex digits) no synthetic bundle holds: the `n`-th new customer of `tag`. */
function customerId(tag: string, n: number): string {
  return `c0ffee${tag}${n.toString(16).padStart(58 - tag.length, '0')}`;
}

function probeCustomerId(n: number): string {
  return customerId('a0', n);
}

/**
 * New customers numbered ahead in the feature store (`assignIds`, as the API numbers them), in
 * batches: `take()` hands out the next one and starts a refill when the pool runs low; it gives
 * null when the refill has not landed yet.
 */
function newCustomerPool(featureStore: FeatureStore, tag: string, batch = 256) {
  const ready: NewCustomer[] = [];
  let next = 0;
  let refilling: Promise<void> | null = null;
  let failure: unknown = null;
  const refill = () => {
    if (refilling !== null) return;
    const keys = Array.from({ length: batch }, () => customerId(tag, next++));
    refilling = featureStore
      .assignIds('user', keys)
      .then((assigned) => {
        if (assigned === null)
          throw new Error('the feature store has no user id map to number new customers in');
        for (const a of assigned) ready.push({ customer_id: a.key, user_idx: a.idx });
      })
      .catch((error: unknown) => {
        failure = error;
      })
      .finally(() => {
        refilling = null;
      });
  };
  return {
    async fill(): Promise<void> {
      refill();
      await refilling;
      if (failure !== null) throw failure;
    },
    take(): NewCustomer | null {
      if (failure !== null) throw failure;
      if (ready.length < batch / 2) refill();
      return ready.shift() ?? null;
    },
  };
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
  // Events the updater refused (e.g. `unknown_user`): should be none.
  let deadLettered = 0;
  for (const m of text.matchAll(/^events_processed_total\{[^}]*outcome="dead_lettered"[^}]*\} (\S+)$/gm))
    deadLettered += Number(m[1]);
  return {
    count,
    mean_ms: Math.round((sum / count) * 10_000) / 10,
    over_25ms_pct: pct('0.025'),
    over_100ms_pct: pct('0.1'),
    dead_lettered: deadLettered,
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
