/**
 * The real-time path end to end on real Kafka and Redis: `POST /events/purchase` on the API
 * (`serve/app.ts`) → Kafka → the updater → Redis, then `/recommend` and `/users/{id}/profile`
 * read the change. The expected recommendations come from an independent brute-force oracle over
 * the item vectors with the EMA-updated user vector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../lib/observability/metrics.ts';
import { sleep } from '../lib/retry.ts';
import { dot } from '../lib/vectors.ts';
import { createApp } from '../serve/app.ts';
import { createStreamWorld, type StreamWorld } from './testing/world.ts';
import { foldUserVector } from './updater/fold.ts';
import type { Updater } from './updater/updater.ts';

interface RecommendBody {
  source: string;
  items: Array<{
    item_idx: number;
    score: number;
    metadata: { product_group_name: string };
    bought_before?: { times: number; last_purchased_at: string };
  }>;
}
interface ProfileBody {
  total_purchases: number;
  recent_purchases: Array<{ item_idx: number }>;
  top_product_groups: Array<{ name: string; count: number }>;
}

describe('a purchase through the API changes the user within the stream', () => {
  let world: StreamWorld;
  let app: ReturnType<typeof createApp>;
  let updater: Updater;

  beforeAll(async () => {
    // The store the API reads keeps a client cache (REDIS_CLIENT_CACHE): the harder case for
    // freshness, as the updater's writes reach it only through Redis's invalidation messages.
    world = await createStreamWorld({ items: 400, users: 100, seed: 17, clientCacheEntries: 10_000 });
    app = createApp({
      featureStore: world.featureStore,
      vectorIndex: world.vectorIndex,
      eventBus: await world.bus('api'),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: world.logger,
    });
    updater = await world.updater();
    await updater.start();
  });
  afterAll(async () => {
    await updater?.stop();
    await world?.dispose();
  });

  async function get<T>(path: string): Promise<T> {
    const res = await app.request(path);
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  }

  /** Brute-force top-k of the active version by inner product, leaving out `excluded`. */
  async function oracleTopK(vector: Float32Array, k: number, excluded: Set<number>): Promise<number[]> {
    const ids = world.catalog.items.map((i) => i.item_idx);
    const points = await world.vectorIndex.retrieve(ids, { withVectors: true, version: world.version });
    return points
      .filter((p) => !excluded.has(p.id))
      .map((p) => ({ id: p.id, score: dot(vector, p.vector) }))
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .slice(0, k)
      .map((s) => s.id);
  }

  it('updates the vector, the recommendations and the profile', async () => {
    // A user with a vector and history; an item far from their taste, in a group they never bought.
    const user = world.catalog.users.find((u) => u % 7 === 3)!;
    const vectorBefore = (await world.featureStore.getUserVector(world.version, user))!;
    expect(vectorBefore).not.toBeNull();
    const profileBefore = await get<ProfileBody>(`/users/${user}/profile`);
    const boughtGroups = new Set(profileBefore.top_product_groups.map((g) => g.name));
    const recBefore = await get<RecommendBody>(`/recommend/${user}?k=10&diversity_lambda=1`);
    expect(recBefore.source).toBe('personalized');
    const candidates = await world.vectorIndex.retrieve(
      world.catalog.items.map((i) => i.item_idx),
      { withVectors: true, version: world.version },
    );
    const target = candidates
      .filter((p) => !boughtGroups.has(p.payload.product_group_name))
      .sort((a, b) => dot(vectorBefore, a.vector) - dot(vectorBefore, b.vector))[0]!;

    const posted = await app.request('/events/purchase', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_idx: user, item_idx: target.id }),
    });
    expect(posted.status).toBe(202);
    const { event_id } = (await posted.json()) as { event_id: string };

    const deadline = Date.now() + 20_000;
    while ((await world.appliedCount([{ event_id, user_idx: user }])) === 0) {
      if (Date.now() > deadline) throw new Error('the purchase was not applied within 20 s');
      await sleep(20);
    }

    // The vector moved by exactly one purchase-weighted EMA step towards the item.
    const expectedVector = foldUserVector(
      vectorBefore,
      [{ itemVector: target.vector, eventType: 'purchase' }],
      world.config.stream.weights,
    )!;
    expect(await world.featureStore.getUserVector(world.version, user)).toEqual(expectedVector);

    // /recommend now ranks by the new vector (purchases left out: the oracle's rule).
    const recAfter = await get<RecommendBody>(
      `/recommend/${user}?k=10&diversity_lambda=1&repurchase=exclude`,
    );
    const purchased = new Set(await world.featureStore.getPurchasedItems(user));
    expect(purchased.has(target.id)).toBe(true);
    const expectedIds = await oracleTopK(expectedVector, 10, purchased);
    expect(recAfter.items.map((i) => i.item_idx)).toEqual(expectedIds);
    expect(recAfter.items.map((i) => i.item_idx)).not.toEqual(recBefore.items.map((i) => i.item_idx));
    expect(recAfter.items.some((i) => i.item_idx === target.id)).toBe(false);
    // With the repurchase stage and boost 1 the item just bought competes on its model score plus
    // 1 × its recency weight (≈ 1, bought a moment ago) × the best new score.
    const recAuto = await get<RecommendBody>(
      `/recommend/${user}?k=10&diversity_lambda=1&repurchase=auto&repurchase_boost=1`,
    );
    const fresh = recAfter.items.map((i) => i.score);
    const lifted = dot(expectedVector, target.vector) + Math.abs(fresh[0]!);
    const place = fresh.filter((score) => score > lifted).length;
    if (place < 10) {
      expect(recAuto.items[place]?.item_idx).toBe(target.id);
      expect(recAuto.items[place]?.bought_before?.times).toBe(1);
      expect(recAuto.items.filter((i) => i.item_idx !== target.id).map((i) => i.item_idx)).toEqual(
        expectedIds.slice(0, 9),
      );
    } else {
      expect(recAuto.items.map((i) => i.item_idx)).toEqual(expectedIds);
    }

    // /profile shows the purchase.
    const profileAfter = await get<ProfileBody>(`/users/${user}/profile`);
    expect(profileAfter.total_purchases).toBe(profileBefore.total_purchases + 1);
    expect(profileAfter.recent_purchases[0]?.item_idx).toBe(target.id);
    expect(profileAfter.top_product_groups.map((g) => g.name)).toContain(target.payload.product_group_name);
  });

  it('posting the same purchase twice applies two events; redelivering one event applies it once', async () => {
    const user = world.catalog.users.find((u) => u % 7 === 5)!;
    const item = world.catalog.items[3]!.item_idx;
    const before = (await world.featureStore.getProfileCounters(user))?.total_purchases ?? 0;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await app.request('/events/purchase', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_idx: user, item_idx: item }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { event_id: string }).event_id);
    }
    await world.waitApplied(
      ids.map((event_id) => ({ event_id, user_idx: user })),
      20_000,
    );
    expect((await world.featureStore.getProfileCounters(user))?.total_purchases).toBe(before + 2);

    // The same event (same event_id) published again, as a producer retry would.
    const duplicatesBefore = updater.stats.duplicates;
    await world.publishRaw([
      {
        key: String(user),
        value: JSON.stringify({
          event_id: ids[0],
          event_type: 'purchase',
          user_idx: user,
          item_idx: item,
          ts: new Date().toISOString(),
        }),
      },
    ]);
    const deadline = Date.now() + 20_000;
    while (updater.stats.duplicates === duplicatesBefore && Date.now() < deadline) await sleep(20);
    expect(updater.stats.duplicates).toBe(duplicatesBefore + 1);
    expect((await world.featureStore.getProfileCounters(user))?.total_purchases).toBe(before + 2);
  });
});
