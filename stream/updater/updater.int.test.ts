/**
 * The online updater against real Kafka and Redis: a crash mid-stream loses nothing and applies
 * nothing twice, a replay changes nothing, bad events go to the dead-letter topic with reasons,
 * and a Redis outage pauses the updater without losing an event.
 *
 * "Applied exactly once" is checked against an independent oracle: for every user, the stored
 * vector must equal the EMA fold of that user's events in publish order starting from the model's
 * vector (an event applied twice or skipped gives a different vector), and the purchase counter
 * must equal the model's count plus the purchases sent.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { EVENT_HEADERS, type UserEvent } from '../../lib/events.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { sleep } from '../../lib/retry.ts';
import { RedisFeatureStore } from '../../lib/stores/redis/feature-store.ts';
import { FeatureStoreKeys } from '../../lib/stores/redis/keys.ts';
import { runProducer } from '../producer/run.ts';
import { createEventSimulator } from '../producer/simulator.ts';
import { startTcpProxy } from '../testing/tcp-proxy.ts';
import { createStreamWorld, eventsByUser, type StreamWorld } from '../testing/world.ts';
import { foldUserVector } from './fold.ts';

interface Snapshot {
  vectors: Map<number, Float32Array | null>;
  purchases: Map<number, number>;
}

async function snapshot(world: StreamWorld, users: readonly number[]): Promise<Snapshot> {
  const vectors = new Map<number, Float32Array | null>();
  const purchases = new Map<number, number>();
  await Promise.all(
    users.map(async (u) => {
      vectors.set(u, await world.featureStore.getUserVector(world.version, u));
      purchases.set(u, (await world.featureStore.getProfileCounters(u))?.total_purchases ?? 0);
    }),
  );
  return { vectors, purchases };
}

/** Checks the store against the fold of `events` from `before`; returns how many users were checked. */
async function expectAppliedOnce(world: StreamWorld, before: Snapshot, events: UserEvent[]): Promise<number> {
  const itemIds = [...new Set(events.map((e) => e.item_idx))];
  const points = await world.vectorIndex.retrieve(itemIds, { withVectors: true, version: world.version });
  const itemVectors = new Map(points.map((p) => [p.id, p.vector]));
  const weights = world.config.stream.weights;
  const after = await snapshot(world, [...eventsByUser(events).keys()]);
  let checked = 0;
  for (const [user, list] of eventsByUser(events)) {
    const expected = foldUserVector(
      before.vectors.get(user) ?? null,
      list.map((e) => ({ itemVector: itemVectors.get(e.item_idx)!, eventType: e.event_type })),
      weights,
    );
    expect(after.vectors.get(user), `vector of user ${user}`).toEqual(expected);
    const bought = list.filter((e) => e.event_type === 'purchase').length;
    expect(after.purchases.get(user), `purchases of user ${user}`).toBe(
      (before.purchases.get(user) ?? 0) + bought,
    );
    checked++;
  }
  return checked;
}

describe('updater on Kafka + Redis', () => {
  let world: StreamWorld;
  let before: Snapshot;
  const sent: UserEvent[] = [];

  beforeAll(async () => {
    world = await createStreamWorld();
    before = await snapshot(world, world.catalog.users);
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('killed mid-stream and restarted, loses no event and applies none twice', async () => {
    const bus = await world.bus('producer');
    const first = world.spawnUpdater();
    await Promise.race([
      first.started,
      sleep(30_000).then(() => Promise.reject(new Error(first.lines.join('\n')))),
    ]);

    const producing = runProducer({
      bus,
      simulator: createEventSimulator(world.catalog, { seed: 5 }),
      rate: 1500,
      durationMs: 4000,
      onSent: (events) => sent.push(...events),
    });
    // Kill the first updater for good once it has applied part of the stream.
    for (;;) {
      const applied = await world.appliedCount(sent);
      if (applied >= 1500) break;
      await sleep(50);
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const result = await producing;
    expect(result.failed).toBe(0);
    const appliedAtKill = await world.appliedCount(sent);
    expect(appliedAtKill).toBeGreaterThan(0);
    expect(appliedAtKill).toBeLessThan(sent.length);

    const second = world.spawnUpdater();
    await Promise.race([
      second.started,
      sleep(30_000).then(() => Promise.reject(new Error(second.lines.join('\n')))),
    ]);
    await world.waitApplied(sent, 90_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const stopped = second.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'updater stopped');
    expect(stopped, second.lines.slice(-5).join('\n')).toBeDefined();
    // The restarted updater saw again what the first had written but not committed, and
    // recognised it: what it applied plus what it skipped covers the rest of the stream.
    expect(stopped.applied + stopped.duplicates).toBeGreaterThanOrEqual(sent.length - appliedAtKill);
    expect(stopped.applied).toBeLessThanOrEqual(sent.length - appliedAtKill);
    expect(stopped.deadLettered).toBe(0);

    const users = await expectAppliedOnce(world, before, sent);
    expect(users).toBeGreaterThan(20);
    expect(await world.topicSize(world.config.kafka.topics.deadLetter)).toBe(0);
    console.log(
      `crash test: ${sent.length} events, ${appliedAtKill} applied before the kill, restarted updater applied ${stopped.applied} and skipped ${stopped.duplicates} redelivered; ${users} users checked`,
    );
  });

  it('a batch that comes back after its writes (lost commit) is recognised, not applied again', async () => {
    const fresh = await createStreamWorld({ seed: 21 });
    try {
      const initial = await snapshot(fresh, fresh.catalog.users);
      const real = await fresh.bus('updater');
      // The updater's writes succeed, then the commit is "lost" (as in a crash between the two)
      // for the first three batches: Kafka hands them over again.
      let lostCommits = 0;
      const losingCommits: typeof real = Object.assign(Object.create(real) as typeof real, {
        consume: (options: Parameters<typeof real.consume>[0]) =>
          real.consume({
            ...options,
            onBatch: async (messages, context) => {
              await options.onBatch(messages, context);
              if (lostCommits < 3) {
                lostCommits++;
                throw new Error('crash after the writes, before the commit');
              }
            },
          }),
      });
      const updater = await fresh.updater({ bus: losingCommits });
      await updater.start();
      const events: UserEvent[] = [];
      await runProducer({
        bus: await fresh.bus('producer'),
        simulator: createEventSimulator(fresh.catalog, { seed: 3 }),
        rate: 1000,
        durationMs: 1500,
        onSent: (batch) => events.push(...batch),
      });
      await fresh.waitApplied(events);
      const deadline = Date.now() + 30_000;
      while (updater.stats.applied < events.length && Date.now() < deadline) await sleep(50);
      await updater.stop();
      expect(lostCommits).toBe(3);
      expect(updater.stats.duplicates).toBeGreaterThan(0);
      expect(updater.stats.applied).toBe(events.length);
      await expectAppliedOnce(fresh, initial, events);
    } finally {
      await fresh.dispose();
    }
  });

  it('a replay of the whole topic by another group changes nothing', async () => {
    expect(sent.length).toBeGreaterThan(0);
    const beforeReplay = await snapshot(world, [...eventsByUser(sent).keys()]);
    const updater = await world.updater({
      bus: await world.bus('replay'),
      options: { groupId: `replay-${world.id}` },
    });
    await updater.start();
    const deadline = Date.now() + 60_000;
    while (updater.stats.duplicates < sent.length && Date.now() < deadline) await sleep(100);
    await updater.stop();
    expect(updater.stats.duplicates).toBe(sent.length);
    expect(updater.stats.applied).toBe(0);
    const afterReplay = await snapshot(world, [...eventsByUser(sent).keys()]);
    expect(afterReplay).toEqual(beforeReplay);
  });
});

describe('a crash between the user write and the applied marks', () => {
  let world: StreamWorld;
  beforeAll(async () => {
    world = await createStreamWorld({ seed: 41, partitions: 1 });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('does not apply the written events again when they come back with newer ones', async () => {
    const user = world.catalog.users[2]!;
    const items = world.catalog.items.slice(0, 3).map((i) => i.item_idx);
    const events: UserEvent[] = items.map((item, n) => ({
      event_id: crypto.randomUUID(),
      event_type: n === 1 ? 'purchase' : 'click',
      user_idx: user,
      item_idx: item,
      ts: new Date(Date.UTC(2026, 2, 1, 12, 0, n)).toISOString(),
    }));
    const before = await snapshot(world, [user]);
    const [first, second] = events;
    // An earlier updater wrote the first two events to the user (one atomic script), then died
    // before the global "applied" marks were written: the store has the change, the marks miss.
    const points = await world.vectorIndex.retrieve(items, { withVectors: true, version: world.version });
    const vectorOf = (item: number) => points.find((p) => p.id === item)!.vector;
    const payloadOf = (item: number) => points.find((p) => p.id === item)!.payload;
    await world.featureStore.applyUserUpdate({
      version: world.version,
      userIdx: user,
      vector: foldUserVector(
        before.vectors.get(user) ?? null,
        [first!, second!].map((e) => ({ itemVector: vectorOf(e.item_idx), eventType: e.event_type })),
        world.config.stream.weights,
      )!,
      purchases: [
        {
          item_idx: second!.item_idx,
          ts: second!.ts,
          product_group_name: payloadOf(second!.item_idx).product_group_name,
          product_type_name: payloadOf(second!.item_idx).product_type_name,
        },
      ],
      eventIds: [first!.event_id, second!.event_id],
    });
    const redis = new Redis(world.config.redis.url);
    const keys = new FeatureStoreKeys(world.config.redis.keyPrefix);
    await redis.del(keys.eventApplied(first!.event_id), keys.eventApplied(second!.event_id));
    redis.disconnect();

    // Kafka hands the two events over again, now in one batch with a third.
    const bus = await world.bus('producer');
    await bus.publish(events);
    const updater = await world.updater();
    await updater.start();
    await world.waitApplied(events, 30_000);
    await updater.stop();
    await expectAppliedOnce(world, before, events);
    expect(updater.stats.applied).toBe(1);
    expect(updater.stats.duplicates).toBe(2);
  });
});

describe('two updater processes in one group', () => {
  let world: StreamWorld;
  beforeAll(async () => {
    world = await createStreamWorld({ seed: 31, partitions: 4 });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('share the partitions and apply every event exactly once, then stop gracefully', async () => {
    const before = await snapshot(world, world.catalog.users);
    const a = world.spawnUpdater();
    const b = world.spawnUpdater();
    const started = (p: typeof a) =>
      Promise.race([p.started, sleep(30_000).then(() => Promise.reject(new Error(p.lines.join('\n'))))]);
    await Promise.all([started(a), started(b)]);
    const sent: UserEvent[] = [];
    await runProducer({
      bus: await world.bus('producer'),
      simulator: createEventSimulator(world.catalog, { seed: 13 }),
      rate: 1000,
      durationMs: 3000,
      onSent: (events) => sent.push(...events),
    });
    await world.waitApplied(sent, 60_000);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    const stats = [a, b].map((p) =>
      p.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'updater stopped'),
    );
    for (const s of stats) expect(s).toBeDefined();
    // Both did work, and between them every event once (a rebalance may hand a batch over, which
    // the other recognises as applied).
    expect(stats[0].applied).toBeGreaterThan(0);
    expect(stats[1].applied).toBeGreaterThan(0);
    expect(stats[0].applied + stats[1].applied).toBe(sent.length);
    await expectAppliedOnce(world, before, sent);
  });
});

describe('updater dead letters on Kafka', () => {
  let world: StreamWorld;
  beforeAll(async () => {
    world = await createStreamWorld({ partitions: 1 });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('sends malformed, invalid and unknown-id events to the DLQ with reasons, and goes on', async () => {
    const user = world.catalog.users[0]!;
    const item = world.catalog.items[0]!.item_idx;
    const good = {
      event_id: crypto.randomUUID(),
      event_type: 'purchase',
      user_idx: user,
      item_idx: item,
      ts: new Date().toISOString(),
    };
    const before = (await world.featureStore.getProfileCounters(user))?.total_purchases ?? 0;
    // One partition: the bad events sit in front of the good one.
    await world.publishRaw([
      { key: String(user), value: '{"event_id": oops', headers: { traceparent: '00-1-2-01' } },
      { key: String(user), value: JSON.stringify({ ...good, event_type: 'wishlist' }) },
      {
        key: String(user),
        value: JSON.stringify({ ...good, event_id: crypto.randomUUID(), item_idx: 999_999 }),
      },
      { key: '999999', value: JSON.stringify({ ...good, event_id: crypto.randomUUID(), user_idx: 999_999 }) },
      { key: String(user), value: JSON.stringify(good) },
    ]);
    const metrics = createMetrics({ defaultMetrics: false });
    const updater = await world.updater({ metrics });
    await updater.start();
    const deadline = Date.now() + 30_000;
    while (updater.stats.applied + updater.stats.deadLettered < 5 && Date.now() < deadline) await sleep(50);
    await updater.stop();
    expect(updater.stats.applied).toBe(1);
    expect((await world.featureStore.getProfileCounters(user))?.total_purchases).toBe(before + 1);

    const dead = await world.readTopic(world.config.kafka.topics.deadLetter, 4);
    expect(dead).toHaveLength(4);
    const byReason = new Map(dead.map((d) => [d.headers[EVENT_HEADERS.dlqReason], d]));
    expect([...byReason.keys()].sort()).toEqual(['invalid', 'malformed', 'unknown_item', 'unknown_user']);
    const malformed = byReason.get('malformed')!;
    expect(malformed.value).toBe('{"event_id": oops');
    expect(malformed.headers['traceparent']).toBe('00-1-2-01');
    expect(malformed.headers[EVENT_HEADERS.dlqOriginalTopic]).toBe(world.config.kafka.topics.events);
    expect(malformed.headers[EVENT_HEADERS.dlqOriginalOffset]).toBe('0');
    expect(byReason.get('invalid')!.headers[EVENT_HEADERS.dlqError]).toMatch(/event_type/);
    expect(byReason.get('unknown_item')!.headers[EVENT_HEADERS.dlqError]).toMatch(/999999/);
    expect(byReason.get('unknown_user')!.headers[EVENT_HEADERS.dlqError]).toMatch(/999999/);
    const { values } = await metrics.eventsDeadLettered.get();
    expect(values.reduce((sum, v) => sum + v.value, 0)).toBe(4);
  });
});

describe('updater through a Redis outage', () => {
  let world: StreamWorld;
  beforeAll(async () => {
    world = await createStreamWorld();
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('pauses while Redis is unreachable and applies everything once when it is back', async () => {
    const before = await snapshot(world, world.catalog.users);
    const proxy = await startTcpProxy(world.config.redis.endpoint.host, world.config.redis.endpoint.port);
    const viaProxy = loadConfig({
      ...process.env,
      ...world.env,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    });
    const store = new RedisFeatureStore({
      url: viaProxy.redis.url,
      keyPrefix: viaProxy.redis.keyPrefix,
      writeTimeoutMs: 500,
      logger: world.logger,
    });
    await store.start();
    const updater = await world.updater({ featureStore: store });
    try {
      await updater.start();
      const sent: UserEvent[] = [];
      const producing = runProducer({
        bus: await world.bus('producer'),
        simulator: createEventSimulator(world.catalog, { seed: 9 }),
        rate: 500,
        durationMs: 4000,
        onSent: (events) => sent.push(...events),
      });
      await sleep(1000);
      proxy.cut();
      await sleep(2000);
      const appliedDuringOutage = updater.stats.applied;
      await sleep(500);
      expect(updater.stats.applied).toBe(appliedDuringOutage); // nothing moves while Redis is away
      expect(updater.stats.failedBatches).toBeGreaterThan(0);
      proxy.restore();
      await producing;
      await world.waitApplied(sent, 60_000);
      await expectAppliedOnce(world, before, sent);
    } finally {
      await updater.stop();
      await store.close();
      await proxy.close();
    }
  });
});
