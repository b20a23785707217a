/**
 * The API contract suite: every endpoint, parameter and error path, run in-process with
 * `app.request(...)` against whichever adapters the caller provides. `serve/app.test.ts` runs it on
 * the memory feature store, embedded index and memory bus; `serve/app.int.test.ts` on Redis and
 * Kafka. Expected answers come from the world's brute-force oracles, not from the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../lib/events.ts';
import { createMetrics, type Metrics } from '../../lib/observability/metrics.ts';
import type { EventBus } from '../../lib/stores/event-bus.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { cosine } from '../../lib/vectors.ts';
import { createApp } from '../app.ts';
import type { ServeOptions } from '../deps.ts';
import { type Faults, recordingBus, withFaults } from './faults.ts';
import {
  rankByInnerProduct,
  UNKNOWN_ITEM,
  UNKNOWN_USER,
  WORLD_ITEMS,
  WORLD_TRENDING_GLOBAL,
  WORLD_TRENDING_SEGMENT,
  WORLD_USERS,
  WORLD_VERSION,
  worldGroupTrending,
} from './world.ts';

/** Adapters with the world loaded; `close` releases them. */
export interface ContractStores {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  eventBus: EventBus;
  /**
   * Reads back from the bus itself (not from the API's view) the events with these ids, to prove
   * they were really published.
   */
  readBack(eventIds: string[]): Promise<UserEvent[]>;
  close(): Promise<void>;
}

interface Harness {
  app: ReturnType<typeof createApp>;
  metrics: Metrics;
  faults: { featureStore: Faults; vectorIndex: Faults; eventBus: Faults };
  published: UserEvent[];
}

const LONG_ID_LIST = 'exclude_ids with 501 entries';
const LONG_ID_QUERY = `exclude_ids=${Array.from({ length: 501 }, (_, i) => i).join(',')}`;
const LONG_NAME = 'product_group with a 201-character name';
const LONG_NAME_QUERY = `product_group=${'x'.repeat(201)}`;
const CLICK = { event_type: 'click', user_idx: 0, item_idx: 1 };

const USER = WORLD_USERS[0]!; // known, with purchases
const FRESH_USER = WORLD_USERS[1]!; // known, no purchases
const COLD_USER = WORLD_USERS[2]!; // no vector, one purchase
const PURCHASED = new Set(USER.purchases.map((p) => p.item_idx));
const metadataOf = (id: number) => WORLD_ITEMS[id]!.metadata;
const vectorOf = (id: number) => WORLD_ITEMS[id]!.vector;

type Json = Record<string, unknown> & {
  items?: Array<{ item_idx: number; score: number; metadata: ItemMetadata; explanation?: Explanation[] }>;
};
interface Explanation {
  item_idx: number;
  item_name: string;
  similarity: number;
  contribution_pct: number;
}

export function apiContractSuite(name: string, setupStores: () => Promise<ContractStores>): void {
  describe(`API contract (${name})`, () => {
    let stores: ContractStores;
    let main: Harness;

    const makeApp = (options: Partial<ServeOptions> = {}, now?: () => Date): Harness => {
      const fs = withFaults(stores.featureStore, 'feature store');
      const vi = withFaults(stores.vectorIndex, 'vector index');
      const bus = withFaults(stores.eventBus, 'event bus');
      const recorder = recordingBus(bus.port);
      const metrics = createMetrics({ defaultMetrics: false });
      const app = createApp({
        featureStore: fs.port,
        vectorIndex: vi.port,
        eventBus: recorder.bus,
        metrics,
        // The exclusion contract is the baseline here; the repurchase stage has its own block.
        options: { storeTimeoutMs: 200, repurchase: 'exclude', ...options },
        ...(now ? { now } : {}),
      });
      return {
        app,
        metrics,
        faults: { featureStore: fs.faults, vectorIndex: vi.faults, eventBus: bus.faults },
        published: recorder.published,
      };
    };

    beforeAll(async () => {
      stores = await setupStores();
      main = makeApp();
    });
    afterAll(async () => {
      await stores?.close();
    });

    const get = async (path: string, harness = main) => {
      const res = await harness.app.request(path);
      return { res, body: (await res.clone().json()) as Json };
    };
    const post = async (
      path: string,
      body: unknown,
      harness = main,
      headers: Record<string, string> = {},
    ) => {
      const res = await harness.app.request(path, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      });
      return { res, body: (await res.clone().json()) as Json };
    };
    const ids = (body: Json) => body.items!.map((i) => i.item_idx);

    async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}) {
      const metric = metrics.registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name}`);
      const { values } = await metric.get();
      const wanted = Object.entries(labels);
      return values
        .filter((v) => !('metricName' in v) || v.metricName === name || v.metricName === `${name}_count`)
        .filter((v) => wanted.every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value))
        .reduce((sum, v) => sum + v.value, 0);
    }

    async function expectProblem(res: Response, status: number, detail: RegExp) {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await res.clone().json()) as {
        status: number;
        detail: string;
        type: string;
        title: string;
      };
      expect(problem.status).toBe(status);
      expect(problem.type).toMatch(/^urn:recsys:problem:/);
      expect(problem.title).toEqual(expect.any(String));
      expect(problem.detail).toMatch(detail);
      return problem;
    }

    // --- /recommend --------------------------------------------------------------------------

    describe('GET /recommend/{user_idx}', () => {
      it('returns k personalized items with metadata and the model version, leaving out purchases', async () => {
        const { res, body } = await get(`/recommend/${USER.userIdx}`);
        expect(res.status).toBe(200);
        expect(body).toMatchObject({
          user_idx: USER.userIdx,
          source: 'personalized',
          model_version: WORLD_VERSION,
        });
        expect(body.items).toHaveLength(10);
        expect(new Set(ids(body)).size).toBe(10);
        for (const item of body.items!) {
          expect(PURCHASED.has(item.item_idx)).toBe(false);
          expect(item.metadata).toEqual(metadataOf(item.item_idx));
          expect(item.explanation).toBeUndefined();
          expect(item.score).toBeCloseTo(innerProduct(USER.vector!, vectorOf(item.item_idx)), 4);
        }
        expect(body.fallback_reason).toBeUndefined();
      });

      it('with diversity_lambda=1 is exactly the top k by score among eligible items', async () => {
        const { body } = await get(`/recommend/${USER.userIdx}?k=7&diversity_lambda=1`);
        const oracle = rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx));
        expect(ids(body)).toEqual(oracle.slice(0, 7));
      });

      it('with MMR keeps the best item first and draws its list from the k × oversampling candidates', async () => {
        const { body } = await get(`/recommend/${USER.userIdx}?k=5&diversity_lambda=0.2`);
        const oracle = rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx));
        expect(ids(body)[0]).toBe(oracle[0]);
        const candidates = new Set(oracle.slice(0, 5 * 4));
        for (const id of ids(body)) expect(candidates.has(id)).toBe(true);
        expect(ids(body)).not.toEqual(oracle.slice(0, 5));
        const groups = (list: number[]) => new Set(list.map((id) => metadataOf(id).product_group_name)).size;
        expect(groups(ids(body))).toBeGreaterThan(groups(oracle.slice(0, 5)));
      });

      it('accepts the ends of the diversity range', async () => {
        for (const lambda of ['0', '0.0', '1', '1.0', '.5']) {
          const { res, body } = await get(`/recommend/${USER.userIdx}?k=4&diversity_lambda=${lambda}`);
          expect(res.status).toBe(200);
          expect(body.items).toHaveLength(4);
        }
      });

      it('returns every eligible item when k exceeds them', async () => {
        const { body } = await get(`/recommend/${USER.userIdx}?k=50`);
        expect(body.items).toHaveLength(WORLD_ITEMS.length - PURCHASED.size);
      });

      it('pushes include filters into the search, so k results come back even far from the user', async () => {
        // The user leans to upper-body garments; 6 accessories exist, and all 6 must come back.
        const { body } = await get(
          `/recommend/${USER.userIdx}?k=6&product_group=Accessories&diversity_lambda=1`,
        );
        const oracle = rankByInnerProduct(
          USER.vector!,
          (m) => m.product_group_name === 'Accessories' && !PURCHASED.has(m.item_idx),
        );
        expect(oracle.length).toBeGreaterThanOrEqual(5);
        expect(ids(body)).toEqual(oracle.slice(0, 6));
      });

      it('combines include and exclude filters and explicit exclusions', async () => {
        const query =
          'k=50&product_group=Garment%20Upper%20body,Shoes&product_type=T-shirt,Sneakers,Boots' +
          '&exclude_types=Boots&exclude_groups=Nightwear&exclude_ids=20,22';
        const { body } = await get(`/recommend/${USER.userIdx}?${query}`);
        const expected = WORLD_ITEMS.map((i) => i.metadata).filter(
          (m) =>
            ['Garment Upper body', 'Shoes'].includes(m.product_group_name) &&
            ['T-shirt', 'Sneakers'].includes(m.product_type_name) &&
            ![20, 22].includes(m.item_idx) &&
            !PURCHASED.has(m.item_idx),
        );
        expect(new Set(ids(body))).toEqual(new Set(expected.map((m) => m.item_idx)));
      });

      it('can keep purchased items when exclude_purchased=false', async () => {
        const { body } = await get(`/recommend/${USER.userIdx}?k=50&exclude_purchased=false`);
        expect(body.items).toHaveLength(WORLD_ITEMS.length);
        const top = await get(`/recommend/${USER.userIdx}?k=3&diversity_lambda=1&exclude_purchased=false`);
        expect(ids(top.body)).toEqual(rankByInnerProduct(USER.vector!, () => true).slice(0, 3));
      });

      it('explains each item with the most similar recent purchases, contributions summing to 100', async () => {
        const { body } = await get(`/recommend/${USER.userIdx}?k=5&explain=true&explain_top_k=2`);
        for (const item of body.items!) {
          const explanation = item.explanation!;
          expect(explanation.length).toBeGreaterThan(0);
          expect(explanation.length).toBeLessThanOrEqual(2);
          const total = explanation.reduce((s, e) => s + e.contribution_pct, 0);
          expect(Math.round(total * 10)).toBe(1000);
          const byOracle = [...PURCHASED]
            .map((id) => ({ id, sim: cosine(vectorOf(item.item_idx), vectorOf(id)) }))
            .filter((x) => x.sim > 0)
            .sort((a, b) => b.sim - a.sim);
          expect(explanation.map((e) => e.item_idx)).toEqual(byOracle.slice(0, 2).map((x) => x.id));
          for (const e of explanation) {
            expect(e.item_name).toBe(metadataOf(e.item_idx).prod_name);
            expect(e.similarity).toBeCloseTo(byOracle.find((x) => x.id === e.item_idx)!.sim, 3);
          }
        }
      });

      it('explains with an empty list for a user without purchases', async () => {
        const { body } = await get(`/recommend/${FRESH_USER.userIdx}?k=3&explain=true`);
        expect(body.source).toBe('personalized');
        for (const item of body.items!) expect(item.explanation).toEqual([]);
      });

      it('answers cold-start users from global trending, still leaving out their purchases', async () => {
        const { body } = await get(`/recommend/${COLD_USER.userIdx}?k=5`);
        expect(body).toMatchObject({
          source: 'trending',
          user_idx: COLD_USER.userIdx,
          model_version: WORLD_VERSION,
        });
        const bought = new Set(COLD_USER.purchases.map((p) => p.item_idx));
        expect(ids(body)).toEqual(WORLD_TRENDING_GLOBAL.filter((id) => !bought.has(id)).slice(0, 5));
        expect(body.items![0]!.score).toBe(1);
        expect(body.items![0]!.metadata).toEqual(metadataOf(body.items![0]!.item_idx));
      });

      it('answers unknown users from trending per product group when a group filter is given', async () => {
        const { body } = await get(`/recommend/${UNKNOWN_USER}?k=50&product_group=Shoes`);
        expect(body.source).toBe('trending');
        expect(ids(body)).toEqual(worldGroupTrending('Shoes'));
        const two = await get(`/recommend/${UNKNOWN_USER}?k=4&product_group=Shoes,Accessories&exclude_ids=8`);
        const shoes = worldGroupTrending('Shoes');
        const accessories = worldGroupTrending('Accessories').filter((id) => id !== 8);
        expect(ids(two.body)).toEqual([shoes[0], accessories[0], shoes[1], accessories[1]]);
      });

      it('applies type filters and exclusions to trending too', async () => {
        const { body } = await get(
          `/recommend/${UNKNOWN_USER}?k=50&exclude_groups=Garment%20Upper%20body&exclude_ids=8`,
        );
        expect(ids(body)).toEqual(
          WORLD_TRENDING_GLOBAL.filter(
            (id) => id !== 8 && metadataOf(id).product_group_name !== 'Garment Upper body',
          ),
        );
      });

      it('looks users up by customer id', async () => {
        const byIndex = await get(`/recommend/${USER.userIdx}?k=4`);
        const byCustomer = await get(`/recommend/customer/${USER.customerId.toUpperCase()}?k=4`);
        expect(byCustomer.res.status).toBe(200);
        expect(byCustomer.body).toEqual(byIndex.body);
        const unknown = await get(`/recommend/customer/${'f'.repeat(64)}?k=3`);
        expect(unknown.body).toMatchObject({ user_idx: null, source: 'trending' });
        expect(unknown.body.items).toHaveLength(3);
        await expectProblem(
          (await get('/recommend/customer/not-a-customer')).res,
          400,
          /customer_id: must be a customer id/,
        );
      });

      it.each([
        ['k=0', /^k: must be an integer between 1 and 50 \(got "0"\)$/],
        ['k=51', /^k: must be an integer between 1 and 50/],
        ['k=abc', /^k: must be an integer between 1 and 50/],
        ['k=2.5', /^k: must be an integer between 1 and 50/],
        ['explain_top_k=11', /^explain_top_k: must be an integer between 1 and 10/],
        ['explain_top_k=0', /^explain_top_k: must be an integer between 1 and 10/],
        ['diversity_lambda=1.5', /^diversity_lambda: must be a number between 0 and 1/],
        ['diversity_lambda=-0.1', /^diversity_lambda: must be a number between 0 and 1/],
        ['diversity_lambda=high', /^diversity_lambda: must be a number between 0 and 1/],
        ['explain=maybe', /^explain: must be true or false/],
        ['exclude_purchased=2', /^exclude_purchased: must be true or false/],
        [
          'exclude_ids=1,x',
          /^exclude_ids: must be a comma-separated list of at most 500 non-negative integers/,
        ],
        ['exclude_ids=-4', /^exclude_ids: must be a comma-separated list/],
        [LONG_ID_LIST, /^exclude_ids: .*at most 500/],
        [LONG_NAME, /^product_group: must be a comma-separated list/],
        ['colour=Black', /^colour: is not a known parameter/],
        ['k=0&explain=maybe', /^k: .*; explain: must be true or false/],
        ['k=1&k=50', /^k: given 2 times; give it once \(got "1,50"\)$/],
        ['diversity_lambda=2e0', /^diversity_lambda: must be a number between 0 and 1/],
      ])('rejects %s with a 400 problem naming the parameter and range', async (label, detail) => {
        const query = label === LONG_ID_LIST ? LONG_ID_QUERY : label === LONG_NAME ? LONG_NAME_QUERY : label;
        const { res } = await get(`/recommend/${USER.userIdx}?${query}`);
        const problem = await expectProblem(res, 400, detail);
        expect((problem as unknown as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
      });

      it.each([
        'diversity_lambda=1e-1',
        'diversity_lambda=1.1e-308',
        'diversity_lambda=%2B.5',
        'exclude_ids=%201,%202%20,,3',
        'repurchase_boost=1000',
      ])('accepts %s (any notation the document allows)', async (query) => {
        const { res } = await get(`/recommend/${USER.userIdx}?${query}`);
        expect(res.status).toBe(200);
      });

      it.each(['-1', 'abc', '1.5', '99999999999'])('rejects user_idx=%s with a 400 problem', async (user) => {
        await expectProblem(
          (await get(`/recommend/${user}`)).res,
          400,
          /^user_idx: must be an integer between 0 and/,
        );
      });
    });

    // --- the repurchase stage ------------------------------------------------------------------

    describe('GET /recommend/{user_idx} with repurchase=auto', () => {
      // USER bought 5, 1, 0, 10 on four consecutive days (newest first); asked the day after the
      // last, with a 28-day window and a 7-day half-life all four are candidates. A large boost
      // puts them ahead of every new item, in recency order; the merge itself is tested below.
      const STAGE = { windowDays: 28, halfLifeDays: 7, maxItems: 12, boost: 100, fill: 'model' as const };
      const BOUGHT = USER.purchases.map((p) => p.item_idx);
      const dayAfter = () => new Date('2026-01-06T00:00:00.000Z');
      let shop: Harness;
      beforeAll(() => {
        shop = makeApp({ repurchaseStage: STAGE }, dayAfter);
      });
      const ask = (path: string, harness?: Harness) => get(path, harness ?? shop);
      type Item = NonNullable<Json['items']>[number] & {
        bought_before?: { times: number; last_purchased_at: string };
      };
      const items = (body: Json) => body.items as Item[];

      it("puts the recent purchases first, newest first, then the model's best other items", async () => {
        const { res, body } = await ask(`/recommend/${USER.userIdx}?repurchase=auto&k=6&diversity_lambda=1`);
        expect(res.status).toBe(200);
        expect(ids(body).slice(0, 4)).toEqual(BOUGHT);
        const oracle = rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx));
        expect(ids(body).slice(4)).toEqual(oracle.slice(0, 2));
        for (const [i, item] of items(body).entries()) {
          if (i < 4) {
            expect(item.bought_before).toEqual({ times: 1, last_purchased_at: USER.purchases[i]!.ts });
            expect(item.score).toBeGreaterThan(items(body)[4]!.score);
          } else {
            expect(item.bought_before).toBeUndefined();
            expect(item.score).toBeCloseTo(innerProduct(USER.vector!, vectorOf(item.item_idx)), 4);
          }
        }
      });

      it('merges by score: with no boost a purchase competes on its model score alone', async () => {
        const harness = makeApp({ repurchaseStage: { ...STAGE, boost: 0 } }, dayAfter);
        const { body } = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&k=8&diversity_lambda=1`,
          harness,
        );
        // Every item ranked by the plain inner product: purchases and new items alike.
        expect(ids(body)).toEqual(rankByInnerProduct(USER.vector!, () => true).slice(0, 8));
        for (const item of items(body))
          expect(item.bought_before !== undefined).toBe(PURCHASED.has(item.item_idx));
      });

      it('merges by score: a boost lifts a purchase by its recency weight × the best new score', async () => {
        const boost = 0.05;
        const harness = makeApp({ repurchaseStage: { ...STAGE, boost } }, dayAfter);
        const { body } = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&k=10&diversity_lambda=1`,
          harness,
        );
        const fresh = rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx));
        const best = innerProduct(USER.vector!, vectorOf(fresh[0]!));
        const asked = Date.parse('2026-01-06T00:00:00.000Z');
        const score = new Map<number, number>(
          fresh.map((id) => [id, innerProduct(USER.vector!, vectorOf(id))]),
        );
        for (const p of USER.purchases) {
          const weight = 7 / (7 + (asked - Date.parse(p.ts)) / 86_400_000);
          score.set(p.item_idx, innerProduct(USER.vector!, vectorOf(p.item_idx)) + boost * weight * best);
        }
        const oracle = [...score].sort((a, b) => b[1] - a[1]).map(([id]) => id);
        expect(ids(body)).toEqual(oracle.slice(0, 10));
        for (const item of items(body)) expect(item.score).toBeCloseTo(score.get(item.item_idx)!, 4);
      });

      it('with boost first, leads with the purchases by their merge score and fills the rest by MMR', async () => {
        // boost 0 would rank purchases by model score alone; first overrides it per request.
        const harness = makeApp({ repurchaseStage: { ...STAGE, boost: 0 } }, dayAfter);
        const first = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&repurchase_boost=first&k=7&diversity_lambda=1`,
          harness,
        );
        // The head: the purchases by model score + 1 × recency weight × the best new score.
        const oracle = rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx));
        const best = innerProduct(USER.vector!, vectorOf(oracle[0]!));
        const asked = Date.parse('2026-01-06T00:00:00.000Z');
        const merged = new Map(
          USER.purchases.map((p) => [
            p.item_idx,
            innerProduct(USER.vector!, vectorOf(p.item_idx)) +
              (7 / (7 + (asked - Date.parse(p.ts)) / 86_400_000)) * best,
          ]),
        );
        const head = [...merged].sort((a, b) => b[1] - a[1]).map(([id]) => id);
        expect(ids(first.body).slice(0, 4)).toEqual(head);
        expect(ids(first.body).slice(4)).toEqual(oracle.slice(0, 3));
        for (const [i, item] of items(first.body).entries()) {
          expect(item.bought_before !== undefined).toBe(i < 4);
          const expected =
            i < 4 ? merged.get(item.item_idx)! : innerProduct(USER.vector!, vectorOf(item.item_idx));
          expect(item.score).toBeCloseTo(expected, 4);
        }
        // With MMR the head stays and the rest is a diversified pick among new items; k holds.
        const mmr = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&repurchase_boost=first&k=7&diversity_lambda=0.3`,
          harness,
        );
        expect(ids(mmr.body).slice(0, 4)).toEqual(head);
        expect(ids(mmr.body)).toHaveLength(7);
        for (const id of ids(mmr.body).slice(4)) expect(PURCHASED.has(id)).toBe(false);
        // k smaller than the head: the first k purchases.
        const short = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&repurchase_boost=first&k=2`,
          harness,
        );
        expect(ids(short.body)).toEqual(head.slice(0, 2));
        // Filters and exclude_ids apply to the head too.
        const group = metadataOf(BOUGHT[0]!).product_group_name;
        const filtered = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&repurchase_boost=first&k=6&product_group=${encodeURIComponent(group)}&exclude_ids=${BOUGHT[1]}`,
          harness,
        );
        const again = head.filter((id) => id !== BOUGHT[1] && metadataOf(id).product_group_name === group);
        expect(ids(filtered.body).slice(0, again.length).sort()).toEqual([...again].sort());
        for (const item of items(filtered.body)) expect(item.metadata.product_group_name).toBe(group);
        expect(ids(filtered.body)).not.toContain(BOUGHT[1]);
        expect(new Set(ids(filtered.body)).size).toBe(ids(filtered.body).length);
      });

      it('honours k, with repurchases taking the first places', async () => {
        const { body } = await ask(`/recommend/${USER.userIdx}?repurchase=auto&k=3`);
        expect(ids(body)).toEqual(BOUGHT.slice(0, 3));
      });

      it('applies filters and exclude_ids to the repurchase candidates as to every other item', async () => {
        const group = metadataOf(BOUGHT[0]!).product_group_name;
        const { body } = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&k=8&diversity_lambda=1&product_group=${encodeURIComponent(group)}&exclude_ids=${BOUGHT[0]}`,
        );
        const again = BOUGHT.filter((id) => id !== BOUGHT[0] && metadataOf(id).product_group_name === group);
        expect(ids(body).slice(0, again.length)).toEqual(again);
        for (const item of items(body)) {
          expect(item.metadata.product_group_name).toBe(group);
          expect(item.item_idx).not.toBe(BOUGHT[0]);
        }
        expect(new Set(ids(body)).size).toBe(ids(body).length);
      });

      it('caps the stage at REPURCHASE_MAX_ITEMS and leaves the other purchases out', async () => {
        const harness = makeApp({ repurchaseStage: { ...STAGE, maxItems: 2 } }, dayAfter);
        const { body } = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&k=6&diversity_lambda=1`,
          harness,
        );
        expect(ids(body).slice(0, 2)).toEqual(BOUGHT.slice(0, 2));
        for (const id of ids(body).slice(2)) expect(PURCHASED.has(id)).toBe(false);
        expect(await metricValue(harness.metrics, 'items_excluded_history_total')).toBe(PURCHASED.size - 2);
      });

      it('counts only purchases within the window: a two-day window keeps the last two', async () => {
        const harness = makeApp({ repurchaseStage: { ...STAGE, windowDays: 2 } }, dayAfter);
        const { body } = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&k=4&diversity_lambda=1`,
          harness,
        );
        expect(ids(body).slice(0, 2)).toEqual(BOUGHT.slice(0, 2));
        for (const id of ids(body).slice(2)) expect(PURCHASED.has(id)).toBe(false);
      });

      it('explains a repurchase by the purchase itself', async () => {
        const { body } = await ask(`/recommend/${USER.userIdx}?repurchase=auto&k=2&explain=true`);
        const first = items(body)[0]!;
        expect(first.explanation![0]).toMatchObject({ item_idx: first.item_idx, similarity: 1 });
      });

      it('with the trending fill, leads with the purchases by merge score, then trending', async () => {
        const harness = makeApp({ repurchaseStage: { ...STAGE, boost: 0.5, fill: 'trending' } }, dayAfter);
        const { body } = await ask(`/recommend/${USER.userIdx}?repurchase=auto&k=7`, harness);
        expect(body.source).toBe('trending');
        expect(body.fallback_reason).toBeUndefined();
        // The head: model score + 0.5 × recency weight × the best new item's score.
        const best = innerProduct(
          USER.vector!,
          vectorOf(rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx))[0]!),
        );
        const asked = Date.parse('2026-01-06T00:00:00.000Z');
        const head = USER.purchases
          .map((p) => ({
            id: p.item_idx,
            score:
              innerProduct(USER.vector!, vectorOf(p.item_idx)) +
              0.5 * (7 / (7 + (asked - Date.parse(p.ts)) / 86_400_000)) * best,
          }))
          .sort((a, b) => b.score - a.score)
          .map((e) => e.id);
        expect(ids(body)).toEqual([
          ...head,
          ...WORLD_TRENDING_GLOBAL.filter((id) => !PURCHASED.has(id)).slice(0, 3),
        ]);
        for (const [i, item] of items(body).entries()) expect(item.bought_before !== undefined).toBe(i < 4);
        // k below the head, a filter, exclude_ids, and a request back to the model's items.
        expect(ids((await ask(`/recommend/${USER.userIdx}?repurchase=auto&k=2`, harness)).body)).toEqual(
          head.slice(0, 2),
        );
        const group = metadataOf(BOUGHT[0]!).product_group_name;
        const filtered = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&k=5&product_group=${encodeURIComponent(group)}&exclude_ids=${BOUGHT[0]}`,
          harness,
        );
        for (const item of items(filtered.body)) {
          expect(item.metadata.product_group_name).toBe(group);
          expect(item.item_idx).not.toBe(BOUGHT[0]);
        }
        const model = await ask(
          `/recommend/${USER.userIdx}?repurchase=auto&repurchase_fill=model&k=7&diversity_lambda=1`,
          harness,
        );
        expect(model.body.source).toBe('personalized');
      });

      it("serves a cold user their segment's trending list when segments are on, topped up from the global one", async () => {
        const on = makeApp({ trendingSegments: 'on' }, dayAfter);
        const { body } = await ask(`/recommend/${COLD_USER.userIdx}?repurchase=exclude&k=6`, on);
        expect(body.source).toBe('trending');
        const bought = new Set(COLD_USER.purchases.map((p) => p.item_idx));
        const segment = WORLD_TRENDING_SEGMENT.filter((id) => !bought.has(id));
        expect(ids(body)).toEqual(
          [
            ...segment,
            ...WORLD_TRENDING_GLOBAL.filter((id) => !bought.has(id) && !segment.includes(id)),
          ].slice(0, 6),
        );
        // Off (the default without figures), per request, and under a product-group filter: global.
        const global = WORLD_TRENDING_GLOBAL.filter((id) => !bought.has(id)).slice(0, 6);
        expect(ids((await ask(`/recommend/${COLD_USER.userIdx}?repurchase=exclude&k=6`)).body)).toEqual(
          global,
        );
        expect(
          ids(
            (await ask(`/recommend/${COLD_USER.userIdx}?repurchase=exclude&k=6&trending_segments=off`, on))
              .body,
          ),
        ).toEqual(global);
        expect(
          ids(
            (await ask(`/recommend/${COLD_USER.userIdx}?repurchase=exclude&k=6&trending_segments=on`)).body,
          ),
        ).toEqual(ids(body));
        // An unknown user has no segment: the global list.
        expect(ids((await ask(`/recommend/${UNKNOWN_USER}?k=3`, on)).body)).toEqual(
          WORLD_TRENDING_GLOBAL.slice(0, 3),
        );
      });

      it('offers a cold user with history their purchase first, then trending', async () => {
        const { body } = await ask(`/recommend/${COLD_USER.userIdx}?repurchase=auto&k=4`);
        expect(body.source).toBe('trending');
        const bought = COLD_USER.purchases[0]!.item_idx;
        expect(ids(body)).toEqual([
          bought,
          ...WORLD_TRENDING_GLOBAL.filter((id) => id !== bought).slice(0, 3),
        ]);
        expect(items(body)[0]!.bought_before?.times).toBe(1);
      });

      it('is the server default when REPURCHASE=auto, and exclude_purchased still works', async () => {
        const harness = makeApp({ repurchase: 'auto', repurchaseStage: STAGE }, dayAfter);
        const auto = await ask(`/recommend/${USER.userIdx}?k=4`, harness);
        expect(ids(auto.body)).toEqual(BOUGHT);
        const excluded = await ask(`/recommend/${USER.userIdx}?k=4&exclude_purchased=true`, harness);
        for (const id of ids(excluded.body)) expect(PURCHASED.has(id)).toBe(false);
        const included = await ask(
          `/recommend/${USER.userIdx}?k=4&diversity_lambda=1&repurchase=include`,
          harness,
        );
        expect(ids(included.body)).toEqual(rankByInnerProduct(USER.vector!, () => true).slice(0, 4));
      });

      it.each([
        ['repurchase=sometimes', /^repurchase: must be one of auto, include, exclude/],
        ['repurchase_window_days=-1', /^repurchase_window_days: /],
        ['repurchase_window_days=abc', /^repurchase_window_days: /],
        ['repurchase_window_days=3651', /^repurchase_window_days: /],
        ['repurchase_boost=last', /^repurchase_boost: must be first or a number/],
        ['repurchase_boost=-1', /^repurchase_boost: must be first or a number/],
        ['repurchase_boost=1001', /^repurchase_boost: must be first or a number/],
        ['repurchase_fill=random', /^repurchase_fill: must be one of model, trending/],
        ['trending_segments=yes', /^trending_segments: must be one of on, off/],
        [
          'repurchase=auto&exclude_purchased=true',
          /^repurchase: give either repurchase or exclude_purchased/,
        ],
      ])('rejects %s with a 400 problem naming the parameter', async (query, detail) => {
        await expectProblem((await ask(`/recommend/${USER.userIdx}?${query}`)).res, 400, detail);
      });
    });

    // --- degradation -------------------------------------------------------------------------

    describe('degradation', () => {
      it('falls back to trending with the reason when the vector index fails, and counts it', async () => {
        const h = makeApp();
        await get(`/recommend/${COLD_USER.userIdx}`, h); // warms the trending cache
        h.faults.vectorIndex.failing.add('search');
        try {
          const { res, body } = await get(`/recommend/${USER.userIdx}?k=3`, h);
          expect(res.status).toBe(200);
          expect(body).toMatchObject({ source: 'trending', fallback_reason: 'vector_index_error' });
          expect(ids(body)).toEqual(WORLD_TRENDING_GLOBAL.filter((id) => !PURCHASED.has(id)).slice(0, 3));
          expect(
            await metricValue(h.metrics, 'recommendation_fallback_total', { reason: 'vector_index_error' }),
          ).toBe(1);
          expect(
            await metricValue(h.metrics, 'recommendation_requests_total', {
              source: 'trending',
              user_type: 'known',
            }),
          ).toBe(1);
        } finally {
          h.faults.vectorIndex.failing.clear();
        }
        expect((await get(`/recommend/${USER.userIdx}?k=3`, h)).body.source).toBe('personalized');
      });

      it('bounds a stalled vector index by the store timeout and says so', async () => {
        const h = makeApp({ storeTimeoutMs: 50 });
        await get(`/recommend/${UNKNOWN_USER}`, h);
        h.faults.vectorIndex.stalled.add('search');
        h.faults.vectorIndex.stalled.add('retrieve');
        const started = performance.now();
        const { body } = await get(`/recommend/${USER.userIdx}?k=3`, h);
        expect(performance.now() - started).toBeLessThan(1000);
        expect(body).toMatchObject({ source: 'trending', fallback_reason: 'vector_index_timeout' });
        expect(body.items).toHaveLength(3);
        expect(
          await metricValue(h.metrics, 'recommendation_fallback_total', { reason: 'vector_index_timeout' }),
        ).toBe(1);
      });

      it('answers 503 when the vector index is down before any trending list was cached', async () => {
        const h = makeApp();
        h.faults.vectorIndex.failing.add('search');
        h.faults.vectorIndex.failing.add('retrieve');
        await expectProblem((await get(`/recommend/${USER.userIdx}`, h)).res, 503, /vector index/);
      });

      it('answers 503 with Retry-After when the feature store is down before any version was read', async () => {
        const h = makeApp();
        h.faults.featureStore.failing.add('activeVersion');
        h.faults.featureStore.failing.add('getUserState');
        const { res } = await get(`/recommend/${USER.userIdx}`, h);
        await expectProblem(res, 503, /feature store/);
        expect(res.headers.get('retry-after')).toBe('1');
      });

      it('serves the last version read from trending, flagged, while the feature store is down', async () => {
        const h = makeApp();
        expect((await get(`/recommend/${USER.userIdx}?k=3`, h)).body.source).toBe('personalized');
        h.faults.featureStore.failing.add('*');
        try {
          for (let i = 0; i < 5; i++) {
            const { res, body } = await get(
              `/recommend/${USER.userIdx}?k=3&exclude_ids=${WORLD_TRENDING_GLOBAL[0]}`,
              h,
            );
            expect(res.status).toBe(200);
            expect(body).toMatchObject({
              source: 'trending',
              fallback_reason: 'feature_store_error',
              model_version: WORLD_VERSION,
            });
            // Nothing is known of the user: the global list, with the request's exclusions.
            expect(ids(body)).toEqual(WORLD_TRENDING_GLOBAL.slice(1, 4));
          }
          expect(
            await metricValue(h.metrics, 'recommendation_fallback_total', { reason: 'feature_store_error' }),
          ).toBe(5);
          // A group filter whose list cannot be read is answered from the global list, filtered.
          const group = WORLD_ITEMS[WORLD_TRENDING_GLOBAL[0]!]!.metadata.product_group_name;
          const grouped = await get(
            `/recommend/${USER.userIdx}?k=2&product_group=${encodeURIComponent(group)}`,
            h,
          );
          expect(grouped.res.status).toBe(200);
          for (const item of grouped.body.items!) expect(item.metadata.product_group_name).toBe(group);
          // Similar items need only the version pointer: served in full from the vector index.
          const similar = await get(`/items/${USER.purchases[0]!.item_idx}/similar?k=3`, h);
          expect(similar.res.status).toBe(200);
          expect(similar.body.items).toHaveLength(3);
          // The profile is the feature store's: 503, in the user's terms.
          const profile = await get(`/users/${USER.userIdx}/profile`, h);
          await expectProblem(profile.res, 503, /^feature store/);
        } finally {
          h.faults.featureStore.failing.clear();
        }
        // The circuit lets a probe through within a fraction of a second of the store's return.
        const back = performance.now();
        let source: unknown;
        while (performance.now() - back < 1000) {
          source = (await get(`/recommend/${USER.userIdx}?k=3`, h)).body.source;
          if (source === 'personalized') break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(source).toBe('personalized');
      });

      it('with the dependency watch, degrades from the first request on (the version read at start)', async () => {
        const h = makeApp();
        const stop = h.app.watchDependencies(1000);
        try {
          await new Promise((resolve) => setTimeout(resolve, 50));
          h.faults.featureStore.failing.add('*');
          const { res, body } = await get(`/recommend/${USER.userIdx}?k=3`, h);
          expect(res.status).toBe(200);
          expect(body).toMatchObject({ source: 'trending', fallback_reason: 'feature_store_error' });
          expect(ids(body)).toEqual(WORLD_TRENDING_GLOBAL.slice(0, 3));
        } finally {
          h.faults.featureStore.failing.clear();
          await stop();
        }
      });

      it('flags a stalled feature store as a timeout, within the store budget', async () => {
        const h = makeApp({ storeTimeoutMs: 50 });
        await get(`/recommend/${USER.userIdx}`, h);
        h.faults.featureStore.stalled.add('*');
        const started = performance.now();
        const { body } = await get(`/recommend/${USER.userIdx}?k=3`, h);
        expect(performance.now() - started).toBeLessThan(1000);
        expect(body).toMatchObject({ source: 'trending', fallback_reason: 'feature_store_timeout' });
        expect(body.items).toHaveLength(3);
      });

      it('turns readiness false while a dependency is down, naming it', async () => {
        const h = makeApp();
        expect((await get('/health/ready', h)).res.status).toBe(200);
        for (const [port, key] of [
          ['featureStore', 'feature_store'],
          ['vectorIndex', 'vector_index'],
          ['eventBus', 'event_bus'],
        ] as const) {
          h.faults[port].stalled.add('ping');
          const { res, body } = await get('/health/ready', h);
          expect(res.status).toBe(503);
          expect(body).toMatchObject({ status: 'not_ready', checks: { [key]: { status: 'down' } } });
          h.faults[port].stalled.clear();
        }
        // A failed ping opened each circuit: they close on their next ping, within a second.
        const back = performance.now();
        while ((await get('/health/ready', h)).res.status !== 200 && performance.now() - back < 1000) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect((await get('/health/ready', h)).body).toMatchObject({
          status: 'ready',
          model_version: WORLD_VERSION,
        });
      });
    });

    // --- /similar ----------------------------------------------------------------------------

    describe('GET /items/{item_idx}/similar', () => {
      it('returns k items ranked by cosine similarity, never the item itself', async () => {
        const { res, body } = await get('/items/3/similar?k=5');
        expect(res.status).toBe(200);
        expect(body).toMatchObject({ item_idx: 3, model_version: WORLD_VERSION });
        expect(body.items).toHaveLength(5);
        expect(ids(body)).not.toContain(3);
        const scores = body.items!.map((i) => i.score);
        expect([...scores].sort((a, b) => b - a)).toEqual(scores);
        for (const item of body.items!) {
          expect(item.score).toBeCloseTo(cosine(vectorOf(3), vectorOf(item.item_idx)), 4);
          expect(item.metadata).toEqual(metadataOf(item.item_idx));
        }
        // The most similar item of all is first (it is among the inner-product candidates here).
        const best = WORLD_ITEMS.filter((i) => i.metadata.item_idx !== 3)
          .map((i) => ({ id: i.metadata.item_idx, sim: cosine(vectorOf(3), i.vector) }))
          .sort((a, b) => b.sim - a.sim)[0]!;
        expect(ids(body)[0]).toBe(best.id);
      });

      it('applies filters and exclusions inside the search', async () => {
        const { body } = await get(
          '/items/3/similar?k=50&product_group=Shoes&exclude_types=Boots&exclude_ids=2',
        );
        const expected = WORLD_ITEMS.map((i) => i.metadata)
          .filter(
            (m) => m.product_group_name === 'Shoes' && m.product_type_name !== 'Boots' && m.item_idx !== 2,
          )
          .map((m) => m.item_idx);
        expect(new Set(ids(body))).toEqual(new Set(expected));
      });

      it('honours product_type and exclude_groups too', async () => {
        const { body } = await get(
          '/items/3/similar?k=50&product_type=Sneakers,Bag,T-shirt&exclude_groups=Accessories',
        );
        const expected = WORLD_ITEMS.map((i) => i.metadata)
          .filter(
            (m) =>
              ['Sneakers', 'Bag', 'T-shirt'].includes(m.product_type_name) &&
              m.product_group_name !== 'Accessories' &&
              m.item_idx !== 3,
          )
          .map((m) => m.item_idx);
        expect(new Set(ids(body))).toEqual(new Set(expected));
      });

      it('looks items up by article id', async () => {
        const byIndex = await get('/items/7/similar?k=3');
        const byArticle = await get(`/items/article/${metadataOf(7).article_id}/similar?k=3`);
        expect(byArticle.body).toEqual(byIndex.body);
        await expectProblem(
          (await get('/items/article/0000000001/similar')).res,
          404,
          /article_id 0000000001/,
        );
        await expectProblem(
          (await get('/items/article/12ab/similar')).res,
          400,
          /^article_id: must be an article id/,
        );
      });

      it('answers 404 for an unknown item and 400 for bad parameters, counting each outcome', async () => {
        const h = makeApp();
        await expectProblem((await get(`/items/${UNKNOWN_ITEM}/similar`, h)).res, 404, /item_idx 999/);
        await expectProblem(
          (await get('/items/3/similar?k=77', h)).res,
          400,
          /^k: must be an integer between 1 and 50/,
        );
        await expectProblem((await get('/items/x/similar', h)).res, 400, /^item_idx: /);
        await get('/items/3/similar', h);
        expect(await metricValue(h.metrics, 'similar_items_requests_total', { status: 'not_found' })).toBe(1);
        expect(await metricValue(h.metrics, 'similar_items_requests_total', { status: 'invalid' })).toBe(2);
        expect(await metricValue(h.metrics, 'similar_items_requests_total', { status: 'ok' })).toBe(1);
      });
    });

    // --- /profile ----------------------------------------------------------------------------

    describe('GET /users/{user_idx}/profile', () => {
      it('returns totals, recent purchases with metadata and top categories with percentages', async () => {
        const { res, body } = await get(`/users/${USER.userIdx}/profile`);
        expect(res.status).toBe(200);
        expect(body).toMatchObject({
          user_idx: USER.userIdx,
          customer_id: USER.customerId,
          total_purchases: 4,
          first_purchase_at: '2026-01-02T10:00:00.000Z',
          last_purchase_at: '2026-01-05T10:00:00.000Z',
        });
        const recent = body['recent_purchases'] as Array<{
          item_idx: number;
          ts: string;
          metadata: ItemMetadata;
        }>;
        expect(recent.map((p) => p.item_idx)).toEqual(USER.purchases.map((p) => p.item_idx));
        expect(recent[0]).toEqual({ item_idx: 5, ts: USER.purchases[0]!.ts, metadata: metadataOf(5) });
        // Purchases 5, 1, 0, 10: groups Upper body ×3 (0, 5, 10), Lower body ×1 (1).
        expect(body['top_product_groups']).toEqual([
          { name: 'Garment Upper body', count: 3, percentage: 75 },
          { name: 'Garment Lower body', count: 1, percentage: 25 },
        ]);
        expect(body['top_product_types']).toEqual([
          { name: 'T-shirt', count: 2, percentage: 50 },
          { name: 'Sweater', count: 1, percentage: 25 },
          { name: 'Trousers', count: 1, percentage: 25 },
        ]);
      });

      it('honours recent_limit and top_categories', async () => {
        const { body } = await get(`/users/${USER.userIdx}/profile?recent_limit=2&top_categories=1`);
        expect((body['recent_purchases'] as unknown[]).length).toBe(2);
        expect((body['top_product_groups'] as unknown[]).length).toBe(1);
        expect((body['top_product_types'] as unknown[]).length).toBe(1);
      });

      it('shows an empty profile for a known user without purchases, 404 for an unknown one', async () => {
        const { body } = await get(`/users/${FRESH_USER.userIdx}/profile`);
        expect(body).toMatchObject({ total_purchases: 0, first_purchase_at: null, recent_purchases: [] });
        await expectProblem((await get(`/users/${UNKNOWN_USER}/profile`)).res, 404, /user_idx 99/);
      });

      it('looks users up by customer id', async () => {
        const byCustomer = await get(`/users/customer/${USER.customerId}/profile`);
        expect(byCustomer.body).toEqual((await get(`/users/${USER.userIdx}/profile`)).body);
        await expectProblem((await get(`/users/customer/${'e'.repeat(64)}/profile`)).res, 404, /customer_id/);
      });

      it.each([
        ['recent_limit=0', /^recent_limit: must be an integer between 1 and 50/],
        ['recent_limit=51', /^recent_limit: must be an integer between 1 and 50/],
        ['top_categories=11', /^top_categories: must be an integer between 1 and 10/],
      ])('rejects %s', async (query, detail) => {
        await expectProblem((await get(`/users/${USER.userIdx}/profile?${query}`)).res, 400, detail);
      });

      it('counts profile requests', async () => {
        const h = makeApp();
        await get(`/users/${USER.userIdx}/profile`, h);
        await get(`/users/${UNKNOWN_USER}/profile`, h);
        expect(await metricValue(h.metrics, 'user_profile_requests_total')).toBe(2);
      });
    });

    // --- events ------------------------------------------------------------------------------

    describe('POST /events/purchase', () => {
      it('publishes a stamped purchase event, acknowledged by the bus before the 202', async () => {
        const h = makeApp();
        const before = Date.now();
        const { res, body } = await post('/events/purchase', { user_idx: USER.userIdx, item_idx: 7 }, h);
        expect(res.status).toBe(202);
        expect(body['event_id']).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(h.published).toHaveLength(1);
        const event = h.published[0]!;
        expect(event).toMatchObject({
          event_id: body['event_id'],
          event_type: 'purchase',
          user_idx: 0,
          item_idx: 7,
          source: 'api',
        });
        expect(Date.parse(event.ts)).toBeGreaterThanOrEqual(before - 1);
        expect(event.ts.endsWith('Z')).toBe(true);
        expect(parseEvent(JSON.stringify(event))).toEqual({ ok: true, event });
        expect(await stores.readBack([event.event_id])).toEqual([event]);
        expect(await metricValue(h.metrics, 'purchase_events_accepted_total')).toBe(1);
      });

      it('accepts original ids', async () => {
        const h = makeApp();
        const { res } = await post(
          '/events/purchase',
          { customer_id: USER.customerId, article_id: metadataOf(12).article_id },
          h,
        );
        expect(res.status).toBe(202);
        expect(h.published[0]).toMatchObject({ user_idx: USER.userIdx, item_idx: 12 });
      });

      it('rejects unknown users and items with 422, publishing nothing, counting by type', async () => {
        // Numbering of never-seen ids off: an unknown original id is an unknown reference too.
        const h = makeApp({ newIds: { perClient: 0, total: 0 } });
        await expectProblem(
          (await post('/events/purchase', { user_idx: UNKNOWN_USER, item_idx: 1 }, h)).res,
          422,
          /user_idx 99/,
        );
        await expectProblem(
          (await post('/events/purchase', { user_idx: 0, item_idx: UNKNOWN_ITEM }, h)).res,
          422,
          /item_idx 999/,
        );
        await expectProblem(
          (await post('/events/purchase', { customer_id: 'b'.repeat(64), article_id: '0999999999' }, h)).res,
          422,
          /customer_id .*; article_id/,
        );
        expect(h.published).toHaveLength(0);
        expect(await metricValue(h.metrics, 'purchase_lookup_errors_total', { type: 'user' })).toBe(2);
        expect(await metricValue(h.metrics, 'purchase_lookup_errors_total', { type: 'item' })).toBe(2);
        expect(await metricValue(h.metrics, 'purchase_events_accepted_total')).toBe(0);
      });

      it('numbers a never-seen customer and article at once, the same number on every later event', async () => {
        const h = makeApp();
        const customer = 'c'.repeat(63) + '1';
        const first = await post('/events/purchase', { customer_id: customer, article_id: '0999999001' }, h);
        expect(first.res.status).toBe(202);
        const { user_idx, item_idx } = first.body as { user_idx: number; item_idx: number };
        expect(await stores.featureStore.userIdxOf(customer)).toBe(user_idx);
        expect(await stores.featureStore.customerIdOf(user_idx)).toBe(customer);
        expect(await stores.featureStore.articleIdOf(item_idx)).toBe('0999999001');
        // The event carries both ids, so the archive and the next batch keep the numbers.
        expect(h.published[0]).toMatchObject({
          user_idx,
          item_idx,
          customer_id: customer,
          article_id: '0999999001',
        });
        const again = await post('/events', { event_type: 'click', customer_id: customer, item_idx: 1 }, h);
        expect(again.res.status).toBe(202);
        expect(h.published[1]).toMatchObject({ user_idx, item_idx: 1, customer_id: customer });
        expect(await metricValue(h.metrics, 'ids_assigned_total', { kind: 'user' })).toBe(1);
        expect(await metricValue(h.metrics, 'ids_assigned_total', { kind: 'item' })).toBe(1);
        // A user_idx or item_idx is still never invented.
        await expectProblem(
          (await post('/events/purchase', { user_idx: UNKNOWN_USER, article_id: '0999999002' }, h)).res,
          422,
          /user_idx 99/,
        );
      });

      it('answers 429 with Retry-After when a client would number more new ids than allowed', async () => {
        const h = makeApp({ newIds: { perClient: 2, total: 100 } });
        const batch = (n: number, from: number) => ({
          events: Array.from({ length: n }, (_, i) => ({
            event_type: 'click',
            customer_id: (from + i).toString(16).padStart(64, 'd'),
            item_idx: 1,
          })),
        });
        expect((await post('/events', batch(2, 0x100), h)).res.status).toBe(202);
        const { res } = await post('/events', batch(1, 0x200), h);
        await expectProblem(res, 429, /NEW_IDS_PER_MINUTE_PER_CLIENT/);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(h.published).toHaveLength(2);
        expect(await stores.featureStore.userIdxOf((0x200).toString(16).padStart(64, 'd'))).toBeNull();
        // Known customers are not limited.
        expect((await post('/events', batch(2, 0x100), h)).res.status).toBe(202);
        expect(await metricValue(h.metrics, 'id_assignments_limited_total', { scope: 'client' })).toBe(1);
      });

      it.each([
        [{ item_idx: 1 }, /user_idx: give exactly one of user_idx and customer_id/],
        [{ user_idx: 0, customer_id: 'a'.repeat(64), item_idx: 1 }, /user_idx: give exactly one/],
        [{ user_idx: -1, item_idx: 1 }, /user_idx: user_idx must be a non-negative integer/],
        [{ user_idx: '0', item_idx: 1 }, /user_idx: user_idx must be a non-negative integer/],
        [{ user_idx: 0, item_idx: 1.5 }, /item_idx: item_idx must be a non-negative integer/],
        [{ user_idx: 0, item_idx: 1, event_type: 'purchase' }, /event_type: is not a known parameter/],
        [{ user_idx: 0, article_id: '12' }, /article_id: must be an article id/],
        [[1, 2], /\(body\)/],
      ])('rejects body %j with a 422 problem', async (payload, detail) => {
        await expectProblem((await post('/events/purchase', payload)).res, 422, detail);
      });

      it('rejects malformed JSON with 400, other media types with 415, large bodies with 413', async () => {
        await expectProblem((await post('/events/purchase', '{"user_idx": 0,')).res, 400, /JSON/i);
        const text = await main.app.request('/events/purchase', {
          method: 'POST',
          body: 'user_idx=0',
          headers: { 'content-type': 'text/plain' },
        });
        await expectProblem(text, 415, /media type/i);
        const small = makeApp({ bodyLimitBytes: 1024 });
        const big = await post(
          '/events',
          { events: Array.from({ length: 100 }, () => ({ event_type: 'click', user_idx: 0, item_idx: 1 })) },
          small,
        );
        await expectProblem(big.res, 413, /exceeds 1024 bytes/);
        expect(small.published).toHaveLength(0);
      });

      it('answers 503 and accepts nothing when the bus does not acknowledge', async () => {
        const h = makeApp({ publishTimeoutMs: 50 });
        h.faults.eventBus.stalled.add('publish');
        const { res } = await post('/events/purchase', { user_idx: 0, item_idx: 1 }, h);
        await expectProblem(res, 503, /event bus: timed out after 50 ms/);
        expect(await metricValue(h.metrics, 'purchase_events_accepted_total')).toBe(0);
      });

      it('keeps the event id a request is sent with again (Idempotency-Key), or the body gives', async () => {
        const h = makeApp();
        const headers = { 'idempotency-key': 'order-17-line-2' };
        const first = await post('/events/purchase', { user_idx: 0, item_idx: 1 }, h, headers);
        const again = await post('/events/purchase', { user_idx: 0, item_idx: 1 }, h, headers);
        expect(first.res.status).toBe(202);
        expect(again.body.event_id).toBe(first.body.event_id);
        expect(h.published.map((e) => e.event_id)).toEqual([first.body.event_id, first.body.event_id]);
        const other = await post('/events/purchase', { user_idx: 0, item_idx: 1 }, h, {
          'idempotency-key': 'k2',
        });
        expect(other.body.event_id).not.toBe(first.body.event_id);
        const given = '0b8f3a52-55f1-4c3e-8a3d-2f4f7f1c9e10';
        const own = await post('/events/purchase', { user_idx: 0, item_idx: 1, event_id: given }, h);
        expect(own.body.event_id).toBe(given);
        // A batch: one id per position, the same on every send.
        const batch = { events: [0, 1].map((user_idx) => ({ event_type: 'click', user_idx, item_idx: 2 })) };
        const b1 = await post('/events', batch, h, { 'idempotency-key': 'batch-9' });
        const b2 = await post('/events', batch, h, { 'idempotency-key': 'batch-9' });
        expect(new Set(b1.body.event_ids as string[]).size).toBe(2);
        expect(b2.body.event_ids).toEqual(b1.body.event_ids);
      });

      it.each([
        [{ event_id: 'not-a-uuid' }, {}, 422, /^event_id: event_id must be a UUID/],
        [
          { event_id: '0b8f3a52-55f1-4c3e-8a3d-2f4f7f1c9e10' },
          { 'idempotency-key': 'k' },
          400,
          /^event_id: give either the Idempotency-Key header or event_id/,
        ],
        [
          {},
          { 'idempotency-key': 'x'.repeat(256) },
          400,
          /^idempotency-key: Idempotency-Key must be 1 to 255/,
        ],
      ])('rejects the event id %j with headers %j: %i', async (extra, headers, status, detail) => {
        const h = makeApp();
        const { res } = await post('/events/purchase', { user_idx: 0, item_idx: 1, ...extra }, h, headers);
        await expectProblem(res, status, detail);
        expect(h.published).toHaveLength(0);
      });

      it('answers 503 with Retry-After at once while the bus is known down, and accepts again on its return', async () => {
        const h = makeApp({ publishTimeoutMs: 5000 });
        h.faults.eventBus.failing.add('ping');
        expect((await get('/health/ready', h)).res.status).toBe(503); // the failed ping opens the circuit
        h.faults.eventBus.stalled.add('publish');
        const started = performance.now();
        const { res } = await post('/events/purchase', { user_idx: 0, item_idx: 1 }, h);
        expect(performance.now() - started).toBeLessThan(1000); // not the 5 s publish budget
        await expectProblem(res, 503, /^event bus: unavailable/);
        expect(res.headers.get('retry-after')).toBe('1');
        expect(h.published).toHaveLength(0);
        h.faults.eventBus.failing.clear();
        h.faults.eventBus.stalled.clear();
        const back = performance.now();
        let status = 0;
        while (performance.now() - back < 1000) {
          status = (await post('/events/purchase', { user_idx: 0, item_idx: 1 }, h)).res.status;
          if (status === 202) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(status).toBe(202);
      });
    });

    describe('POST /events', () => {
      it('accepts one event of any type', async () => {
        const h = makeApp();
        const { res, body } = await post(
          '/events',
          { event_type: 'add_to_cart', user_idx: 1, item_idx: 4 },
          h,
        );
        expect(res.status).toBe(202);
        expect(body).toMatchObject({ accepted: 1 });
        expect(h.published[0]).toMatchObject({
          event_type: 'add_to_cart',
          user_idx: 1,
          item_idx: 4,
          source: 'api',
        });
        expect(await metricValue(h.metrics, 'purchase_events_accepted_total')).toBe(0);
      });

      it('accepts a batch as a whole, in order, with distinct ids', async () => {
        const h = makeApp();
        const events = [
          { event_type: 'click', user_idx: 0, item_idx: 1 },
          { event_type: 'purchase', customer_id: WORLD_USERS[1]!.customerId, item_idx: 2 },
          { event_type: 'purchase', user_idx: 2, article_id: metadataOf(3).article_id },
        ];
        const { res, body } = await post('/events', { events }, h);
        expect(res.status).toBe(202);
        expect(body['accepted']).toBe(3);
        const eventIds = body['event_ids'] as string[];
        expect(new Set(eventIds).size).toBe(3);
        expect(h.published.map((e) => [e.event_type, e.user_idx, e.item_idx])).toEqual([
          ['click', 0, 1],
          ['purchase', 1, 2],
          ['purchase', 2, 3],
        ]);
        expect((await stores.readBack(eventIds)).map((e) => e.event_id).sort()).toEqual([...eventIds].sort());
        expect(await metricValue(h.metrics, 'purchase_events_accepted_total')).toBe(2);
      });

      it('rejects the whole batch when one reference is unknown, naming it', async () => {
        const h = makeApp();
        const events = [
          { event_type: 'click', user_idx: 0, item_idx: 1 },
          { event_type: 'click', user_idx: 0, item_idx: UNKNOWN_ITEM },
        ];
        await expectProblem(
          (await post('/events', { events }, h)).res,
          422,
          /^events\[1\]\.item_idx: no item with item_idx 999$/,
        );
        expect(h.published).toHaveLength(0);
      });

      it.each([
        [{ events: [] }, /events: events must hold at least one event/],
        [
          { events: Array.from({ length: 501 }, () => ({ event_type: 'click', user_idx: 0, item_idx: 1 })) },
          /at most 500/,
        ],
        [
          { events: [{ event_type: 'view', user_idx: 0, item_idx: 1 }] },
          /events\[0\]\.event_type: event_type must be one of click, add_to_cart, purchase/,
        ],
        [{ event_type: 'click', user_idx: 0 }, /item_idx: give exactly one of item_idx and article_id/],
      ])('rejects %j with 422', async (payload, detail) => {
        const body =
          (payload as { events?: unknown }).events === 'BATCH_OF_501'
            ? { events: Array.from({ length: 501 }, () => CLICK) }
            : payload;
        await expectProblem((await post('/events', body)).res, 422, detail);
      });
    });

    describe('API keys', () => {
      it('are required on event endpoints only when configured, by header or bearer token', async () => {
        const h = makeApp({ apiKeys: ['k-one', 'k-two'] });
        const body = { user_idx: 0, item_idx: 1 };
        const missing = await post('/events/purchase', body, h);
        await expectProblem(missing.res, 401, /x-api-key/);
        expect(missing.res.headers.get('www-authenticate')).toContain('ApiKey');
        await expectProblem(
          (await post('/events/purchase', body, h, { 'x-api-key': 'k-three' })).res,
          401,
          /not valid/,
        );
        await expectProblem(
          (await post('/events', { event_type: 'click', ...body }, h)).res,
          401,
          /x-api-key/,
        );
        expect((await post('/events/purchase', body, h, { 'x-api-key': 'k-two' })).res.status).toBe(202);
        expect((await post('/events/purchase', body, h, { authorization: 'Bearer k-one' })).res.status).toBe(
          202,
        );
        expect(h.published).toHaveLength(2);
        expect((await get(`/recommend/${USER.userIdx}?k=1`, h)).res.status).toBe(200);
        expect((await post('/events/purchase', body)).res.status).toBe(202);
      });
    });

    // --- operations --------------------------------------------------------------------------

    describe('operations', () => {
      it('answers liveness', async () => {
        const { res, body } = await get('/health/live');
        expect(res.status).toBe(200);
        expect(body).toEqual({ status: 'ok' });
      });

      it('exposes Prometheus metrics labelled by route pattern, never by raw path', async () => {
        const h = makeApp();
        await get(`/recommend/${USER.userIdx}?k=3&product_group=Shoes&exclude_ids=1,2&explain=true`, h);
        await get(`/recommend/${COLD_USER.userIdx}?k=3`, h);
        await get('/no/such/route', h);
        const res = await h.app.request('/metrics');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain');
        const text = await res.text();
        expect(text).toContain(
          'http_requests_total{route="/recommend/:user_idx",method="GET",status="200"} 2',
        );
        expect(text).toContain('http_requests_total{route="unmatched",method="GET",status="404"} 1');
        expect(text).not.toMatch(/route="\/recommend\/\d/);
        expect(text).toContain('recommendation_requests_total{source="personalized",user_type="known"} 1');
        expect(text).toContain('recommendation_requests_total{source="trending",user_type="cold"} 1');
        expect(text).toContain('filter_applied_total{type="product_group"} 1');
        expect(text).toContain('filter_applied_total{type="exclude_ids"} 1');
        expect(text).toContain(`items_excluded_history_total ${PURCHASED.size + COLD_USER.purchases.length}`);
        expect(text).toContain('items_excluded_explicit_total 2');
        expect(text).toContain('explain_requests_total 1');
        expect(text).toContain('explain_computation_duration_seconds_count 1');
        expect(text).toContain('mmr_rerank_applied_total 1');
        expect(text).toContain('mmr_rerank_duration_seconds_count 1');
        expect(text).toContain('recommendation_diversity_score_count 1');
        expect(text).toContain('qdrant_search_duration_seconds_count 1');
        expect(text).toMatch(/redis_operation_duration_seconds_count\{operation="getUserState"\} 2/);
      });

      it('serves an OpenAPI 3.1 document built from the request schemas, and interactive docs', async () => {
        const { res, body } = await get('/openapi.json');
        expect(res.status).toBe(200);
        expect(body['openapi']).toBe('3.1.0');
        const paths = body['paths'] as Record<
          string,
          Record<string, { parameters?: Array<Record<string, unknown>> }>
        >;
        for (const path of [
          '/recommend/{user_idx}',
          '/items/{item_idx}/similar',
          '/users/{user_idx}/profile',
          '/events/purchase',
          '/events',
          '/health/live',
          '/health/ready',
        ]) {
          expect(paths[path]).toBeDefined();
        }
        const params = paths['/recommend/{user_idx}']!['get']!.parameters!;
        expect(params.find((p) => p['name'] === 'k')).toMatchObject({
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 50, default: 10 },
        });
        expect(params.find((p) => p['name'] === 'diversity_lambda')).toMatchObject({
          schema: { type: 'number', minimum: 0, maximum: 1, default: 0.8 },
        });
        const docs = await main.app.request('/docs');
        expect(docs.status).toBe(200);
        const page = await docs.text();
        expect(page).toContain('/openapi.json');
        // Everything the page loads comes from the API itself (works offline, no CDN).
        expect(page).not.toMatch(/(src|href)="https?:/);
        const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
        expect(assets.length).toBeGreaterThanOrEqual(2);
        for (const asset of assets) {
          const res = await main.app.request(asset);
          expect(res.status, asset).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^text\/(css|javascript)/);
          expect((await res.text()).length).toBeGreaterThan(10_000);
        }
      });

      it('answers unknown routes with a 404 problem', async () => {
        await expectProblem(await main.app.request('/nope'), 404, /no route for GET \/nope/);
      });

      it('sends CORS headers only for configured origins', async () => {
        const open = await main.app.request('/health/live', { headers: { origin: 'https://shop.example' } });
        expect(open.headers.get('access-control-allow-origin')).toBeNull();
        const h = makeApp({ corsOrigins: ['https://shop.example'] });
        const allowed = await h.app.request('/health/live', { headers: { origin: 'https://shop.example' } });
        expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
        const other = await h.app.request('/health/live', { headers: { origin: 'https://evil.example' } });
        expect(other.headers.get('access-control-allow-origin')).toBeNull();
        const preflight = await h.app.request('/events/purchase', {
          method: 'OPTIONS',
          headers: {
            origin: 'https://shop.example',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,x-api-key',
          },
        });
        expect(preflight.status).toBe(204);
        expect(preflight.headers.get('access-control-allow-headers')).toContain('x-api-key');
      });
    });

    describe('model version switches', () => {
      it('pins every index call to the version of the feature store pointer', async () => {
        // A newer version is live in the index only (the state between the two switches of a
        // publish): requests must keep using the version the feature store names.
        const next = 'v20260102-000000';
        await stores.vectorIndex.createVersion(next, 4);
        await stores.vectorIndex.upsert(
          next,
          WORLD_ITEMS.map((i) => ({
            id: i.metadata.item_idx,
            vector: Float32Array.from(i.vector, (x) => -x),
            payload: i.metadata,
          })),
        );
        await stores.vectorIndex.activateVersion(next);
        try {
          const { body } = await get(`/recommend/${USER.userIdx}?k=5&diversity_lambda=1`);
          expect(body.model_version).toBe(WORLD_VERSION);
          expect(ids(body)).toEqual(
            rankByInnerProduct(USER.vector!, (m) => !PURCHASED.has(m.item_idx)).slice(0, 5),
          );
          const similar = await get('/items/3/similar?k=1');
          expect(similar.body.items![0]!.score).toBeGreaterThan(0);
        } finally {
          await stores.vectorIndex.activateVersion(WORLD_VERSION);
          await stores.vectorIndex.dropVersion(next);
        }
      });
    });

    describe('without an active model', () => {
      it('answers 503 no-model on /recommend', async () => {
        // A view of the store that reports no active version.
        const noVersion = new Proxy(stores.featureStore, {
          get(target, property) {
            if (property === 'activeVersion') return async () => null;
            if (property === 'getUserState') return async () => ({ version: null, vector: null, recent: [] });
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const app = createApp({
          featureStore: noVersion,
          vectorIndex: stores.vectorIndex,
          eventBus: stores.eventBus,
          metrics: createMetrics({ defaultMetrics: false }),
        });
        const res = await app.request(`/recommend/${USER.userIdx}`);
        await expectProblem(res, 503, /no model version/);
        expect(res.headers.get('retry-after')).toBe('30');
      });
    });
  });
}

/** Inner product (the personalized score). */
function innerProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
