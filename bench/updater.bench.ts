/**
 * Updater throughput: events per second one updater process applies from real Kafka into real
 * Redis (the production path of `npm run stream:update`).
 *
 * A backlog of simulated events (the shopper simulator over a synthetic model: rank 64, 20,000
 * users, 5,000 items) is published first; then one updater (in this process, a fresh consumer
 * group per benchmark, resuming where the previous run stopped) drains it. Throughput = events / time from the first handled batch to the last, so the
 * group join is not counted. Every event is checked as applied afterwards.
 *
 *   npm run bench -- updater [--events 100000] [--runs 3]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { UserEvent } from '../lib/events.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { sleep } from '../lib/retry.ts';
import { runProducer } from '../stream/producer/run.ts';
import { createEventSimulator } from '../stream/producer/simulator.ts';
import { createStreamWorld } from '../stream/testing/world.ts';
import { createUpdater } from '../stream/updater/updater.ts';
import { median, recordResult } from './results.ts';

const { values } = parseArgs({
  options: { events: { type: 'string' }, runs: { type: 'string' } },
  strict: true,
});
const EVENTS = Number(values.events ?? 100_000);
const RUNS = Number(values.runs ?? 3);
const GOAL = 10_000;

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
    const runs: Array<{ eventsPerSecond: number; seconds: number; writes: number; debounceHits: number }> =
      [];
    const mix = { click: 0, add_to_cart: 0, purchase: 0 };
    const loadBefore = loadavg()[0]!;
    for (let run = 0; run < RUNS; run++) {
      // A fresh backlog per run, drained by the same group (which resumes after the last run's).
      const sent: UserEvent[] = [];
      const started = performance.now();
      await runProducer({
        bus: producerBus,
        simulator: createEventSimulator(world.catalog, { seed: run + 1 }),
        rate: 1_000_000,
        durationMs: EVENTS / 1000, // the pacer lets exactly EVENTS through
        maxBatch: 2000,
        onSent: (events) => sent.push(...events),
      });
      for (const e of sent) mix[e.event_type]++;
      console.log(
        `run ${run + 1}: backlog of ${sent.length} events published in ${((performance.now() - started) / 1000).toFixed(1)} s`,
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
      const seconds = (last - first) / 1000;
      const eventsPerSecond = Math.round(sent.length / seconds);
      runs.push({ eventsPerSecond, seconds, writes: s.writes, debounceHits: s.debounceHits });
      console.log(
        `run ${run + 1}: ${sent.length} events in ${seconds.toFixed(2)} s = ${eventsPerSecond} events/s ` +
          `(${s.writes} store writes, ${s.debounceHits} coalesced, ${s.batches} batches)`,
      );
    }
    const best = median(runs.map((r) => r.eventsPerSecond));
    console.log(`median ${best} events/s (goal ≥ ${GOAL}) ${best >= GOAL ? 'MET' : 'NOT MET'}`);
    recordResult('updater', {
      events_per_run: EVENTS,
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
