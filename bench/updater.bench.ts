/**
 * Updater throughput: events per second one updater process applies from real Kafka into real
 * Redis (the production path of `npm run stream:update`).
 *
 * A backlog of simulated events (the shopper simulator over a synthetic model: rank 64, 20,000
 * users, 5,000 items) is published first; then one updater (in this process, a fresh consumer
 * group per benchmark, resuming where the previous run stopped) drains it. Throughput = events / time from the first handled batch to the last, so the
 * group join is not counted. Every event is checked as applied afterwards.
 *
 * `--new-customers 0.2`: that share of the events comes from customers the model never saw, as
 * the API takes them (`POST /events/purchase` with a new `customer_id`): numbered through
 * `featureStore.assignIds('user', …)` in the order they first appear, and published with that
 * `user_idx` and the `customer_id`, so the updater meets users with neither vector nor history.
 * Each new customer buys first and sends 1–3 more events. Afterwards every new customer is
 * checked to have a vector. The result goes to `updater-new-customers-<percent>.json`.
 *
 *   npm run bench -- updater [--events 100000] [--runs 3] [--new-customers 0]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { UserEvent } from '../lib/events.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { sleep } from '../lib/retry.ts';
import { runProducer } from '../stream/producer/run.ts';
import { createEventSimulator, type EventSimulator, withNewCustomers } from '../stream/producer/simulator.ts';
import { createStreamWorld, type StreamWorld } from '../stream/testing/world.ts';
import { createUpdater } from '../stream/updater/updater.ts';
import { median, recordResult } from './results.ts';

const { values } = parseArgs({
  options: { events: { type: 'string' }, runs: { type: 'string' }, 'new-customers': { type: 'string' } },
  strict: true,
});
const EVENTS = Number(values.events ?? 100_000);
const RUNS = Number(values.runs ?? 3);
/** Share of the events from customers the model never saw (0..1). */
const NEW_CUSTOMERS = Number(values['new-customers'] ?? 0);
if (!(NEW_CUSTOMERS >= 0 && NEW_CUSTOMERS <= 1))
  throw new RangeError('--new-customers takes a fraction in 0..1');
const GOAL = 10_000;

/** A customer id (64 hex digits) no synthetic bundle holds: run `run`'s `n`-th new customer. */
function newCustomerId(run: number, n: number): string {
  return `c0ffee${run.toString(16).padStart(4, '0')}${n.toString(16).padStart(54, '0')}`;
}

async function main(): Promise<void> {
  console.log(
    `setting up: synthetic model (rank 64, 20000 users, 5000 items) in Redis, topic with 3 partitions`,
  );
  // The configuration's default debounce, as `npm run stream:update` runs.
  const world = await createStreamWorld({
    items: 5000,
    users: 20_000,
    rank: 64,
    seed: 3,
    env: { UPDATER_DEBOUNCE_MS: '20' },
  });
  try {
    const producerBus = await world.bus('producer');
    const runs: Array<{
      eventsPerSecond: number;
      seconds: number;
      writes: number;
      debounceHits: number;
      newCustomers: number;
      newCustomerEvents: number;
    }> = [];
    const mix = { click: 0, add_to_cart: 0, purchase: 0 };
    const loadBefore = loadavg()[0]!;
    for (let run = 0; run < RUNS; run++) {
      // A fresh backlog per run, drained by the same group (which resumes after the last run's).
      const { backlog, newCustomers } = await makeBacklog(world, run);
      const newCustomerEvents = backlog.reduce((n, e) => n + (e.customer_id !== undefined ? 1 : 0), 0);
      let replayed = 0;
      const replay: EventSimulator = {
        next: (now = new Date()) => ({ ...backlog[replayed++]!, ts: now.toISOString() }),
      };
      const sent: UserEvent[] = [];
      const started = performance.now();
      await runProducer({
        bus: producerBus,
        simulator: replay,
        rate: 1_000_000,
        durationMs: EVENTS / 1000, // the pacer lets exactly EVENTS through
        maxBatch: 2000,
        onSent: (events) => sent.push(...events),
      });
      for (const e of sent) mix[e.event_type]++;
      if (sent.length !== EVENTS) throw new Error(`run ${run + 1}: published ${sent.length} of ${EVENTS}`);
      console.log(
        `run ${run + 1}: backlog of ${sent.length} events published in ${((performance.now() - started) / 1000).toFixed(1)} s` +
          (NEW_CUSTOMERS > 0
            ? ` (${newCustomerEvents} from ${newCustomers.length} new customers, user_idx ${newCustomers[0]}..${newCustomers.at(-1)})`
            : ''),
      );

      const updater = createUpdater({
        featureStore: world.featureStore,
        vectorIndex: world.vectorIndex,
        bus: await world.bus(`updater-${run}`),
        config: world.config,
        metrics: createMetrics({ defaultMetrics: false }),
        logger: world.logger,
        options: { groupId: `bench-updater-${world.id}` },
      });
      let first = 0;
      let last = 0;
      await updater.start();
      const deadline = Date.now() + 600_000;
      for (;;) {
        const s = updater.stats;
        const handled = s.applied + s.duplicates + s.deadLettered;
        if (handled > 0 && first === 0) first = performance.now();
        if (handled >= sent.length) {
          last = performance.now();
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`run ${run + 1}: only ${handled} of ${sent.length} handled`);
        await sleep(2);
      }
      await updater.stop();
      const s = updater.stats;
      if (s.applied !== sent.length)
        throw new Error(`run ${run + 1}: applied ${s.applied} of ${sent.length}`);
      const applied = await world.appliedCount(sent);
      if (applied !== sent.length) throw new Error(`run ${run + 1}: only ${applied} marked applied in Redis`);
      const withVector = await countWithVector(world, newCustomers);
      if (withVector !== newCustomers.length)
        throw new Error(
          `run ${run + 1}: only ${withVector} of ${newCustomers.length} new customers have a vector`,
        );
      const seconds = (last - first) / 1000;
      const eventsPerSecond = Math.round(sent.length / seconds);
      runs.push({
        eventsPerSecond,
        seconds,
        writes: s.writes,
        debounceHits: s.debounceHits,
        newCustomers: newCustomers.length,
        newCustomerEvents,
      });
      console.log(
        `run ${run + 1}: ${sent.length} events in ${seconds.toFixed(2)} s = ${eventsPerSecond} events/s ` +
          `(${s.writes} store writes, ${s.debounceHits} coalesced, ${s.batches} batches)`,
      );
    }
    const best = median(runs.map((r) => r.eventsPerSecond));
    console.log(`median ${best} events/s (goal ≥ ${GOAL}) ${best >= GOAL ? 'MET' : 'NOT MET'}`);
    recordResult(NEW_CUSTOMERS > 0 ? `updater-new-customers-${Math.round(NEW_CUSTOMERS * 100)}` : 'updater', {
      events_per_run: EVENTS,
      new_customer_fraction: NEW_CUSTOMERS,
      mix,
      model: { rank: 64, users: 20_000, items: 5000 },
      partitions: world.config.kafka.partitions,
      debounce_ms: world.config.stream.debounceMs,
      runs,
      median_events_per_second: best,
      goal_events_per_second: GOAL,
      goal_met: best >= GOAL,
      load_average: [Math.round(loadBefore * 100) / 100, Math.round(loadavg()[0]! * 100) / 100],
    });
  } finally {
    await world.dispose();
  }
}

/**
 * Run `run`'s backlog: EVENTS simulated events, NEW_CUSTOMERS of them from new customers, who are
 * numbered in the feature store as the API numbers them (in the order they first appear) before
 * anything is published. Returns the events and the new customers' user_idx.
 */
async function makeBacklog(
  world: StreamWorld,
  run: number,
): Promise<{ backlog: UserEvent[]; newCustomers: number[] }> {
  const base = createEventSimulator(world.catalog, { seed: run + 1 });
  let n = 0;
  const simulator =
    NEW_CUSTOMERS > 0
      ? withNewCustomers(base, {
          fraction: NEW_CUSTOMERS,
          seed: 100 + run,
          // Numbered below, once the backlog is drawn.
          newCustomer: () => ({ customer_id: newCustomerId(run, n++), user_idx: -1 }),
        })
      : base;
  const now = new Date();
  const backlog = Array.from({ length: EVENTS }, () => simulator.next(now));
  const keys = [...new Set(backlog.flatMap((e) => (e.customer_id !== undefined ? [e.customer_id] : [])))];
  const idxOf = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 1000) {
    const assigned = await world.featureStore.assignIds('user', keys.slice(i, i + 1000));
    if (assigned === null) throw new Error('the feature store has no user id map to number new customers in');
    for (const a of assigned) {
      if (!a.created) throw new Error(`new customer ${a.key} was already numbered`);
      idxOf.set(a.key, a.idx);
    }
  }
  for (const e of backlog) if (e.customer_id !== undefined) e.user_idx = idxOf.get(e.customer_id)!;
  return { backlog, newCustomers: keys.map((k) => idxOf.get(k)!) };
}

/** How many of these users have a vector in the served version. */
async function countWithVector(world: StreamWorld, users: readonly number[]): Promise<number> {
  let count = 0;
  for (let i = 0; i < users.length; i += 500) {
    const vectors = await Promise.all(
      users.slice(i, i + 500).map((u) => world.featureStore.getUserVector(world.version, u)),
    );
    count += vectors.filter((v) => v !== null).length;
  }
  return count;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
