/**
 * The evaluated lists are the served lists: the same bundle published into the in-process
 * stores, asked once through the evaluation and once through `GET /recommend` of an app over the
 * same stores, must give the same items in the same order for every policy.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/observability/logger.ts';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { MemoryEventBus } from '../../lib/stores/memory/event-bus.ts';
import { createApp } from '../../serve/app.ts';
import { SERVE_DEFAULTS } from '../../serve/deps.ts';
import { averagePrecision } from '../metrics.ts';
import { K, parsePolicy, policySet } from './policies.ts';
import { type EvaluationUser, scorePolicies, servedLists } from './served.ts';
import { type EvaluationStores, openEvaluationStores } from './stores.ts';

const logger = createLogger({ level: 'silent' });
const USERS = 60;
/** A user index with no vector and no id: the API answers it from trending. */
const COLD_USER = 5000;
const ASKED_AT = new Date('2020-09-23T00:00:00.000Z');

describe('served-pipeline evaluation', () => {
  let dir: string;
  let stores: EvaluationStores;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eval-served-'));
    const bundle = await syntheticBundle({ items: 3000, users: USERS, rank: 16, seed: 7, outDir: dir });
    // Asked the day after the synthetic histories end, so the repurchase stage has candidates.
    stores = await openEvaluationStores({
      bundleDir: bundle.dir,
      serve: SERVE_DEFAULTS,
      logger,
      now: () => ASKED_AT.getTime(),
    });
    app = createApp({
      featureStore: stores.featureStore,
      vectorIndex: stores.vectorIndex,
      eventBus: new MemoryEventBus({ topics: { events: 'e', deadLetter: 'd' } }),
      metrics: stores.metrics,
      now: () => ASKED_AT,
    });
  });

  afterAll(async () => {
    await stores?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const policies = policySet([
    parsePolicy('lambda05=diversity_lambda=0.5'),
    parsePolicy('no_bags=exclude_types=Bag'),
  ]);
  const users: EvaluationUser[] = [
    ...Array.from({ length: USERS }, (_, u) => ({ userIdx: u, actual: [1], segments: ['warm'] })),
    { userIdx: COLD_USER, actual: [1], segments: ['cold'] },
  ];

  for (const policy of policies) {
    it(`policy ${policy.name}: every evaluated list equals GET /recommend for that user`, async () => {
      const { lists, trending } = await servedLists(stores.recommender, policy, users, SERVE_DEFAULTS);
      if (policy.repurchasesOnly) expect(lists.some((l) => l.length > 0)).toBe(true);
      for (const [i, user] of users.entries()) {
        const query = new URLSearchParams(policy.query);
        if (!query.has('k')) query.set('k', String(K));
        const path = policy.anonymous
          ? `/recommend/customer/${'f'.repeat(64)}?${query}`
          : `/recommend/${user.userIdx}?${query}`;
        const response = await app.request(path);
        expect(response.status, path).toBe(200);
        const body = (await response.json()) as {
          source: string;
          items: Array<{ item_idx: number; bought_before?: unknown }>;
        };
        const served = policy.repurchasesOnly ? body.items.filter((x) => x.bought_before) : body.items;
        expect(lists[i], `${policy.name}, user ${user.userIdx}`).toEqual(served.map((x) => x.item_idx));
        expect(trending[i]).toBe(body.source === 'trending');
      }
    });
  }

  it('scores every policy over all users and each segment with the metric functions', async () => {
    // Truth: user u bought the third item of its default list (AP = 1/3) — except the cold user.
    const { lists } = await servedLists(stores.recommender, policies[0]!, users, SERVE_DEFAULTS);
    const judged = users.map((u, i) => ({ ...u, actual: [lists[i]![2]!] }));
    const rows = await scorePolicies({
      recommender: stores.recommender,
      policies: policies.slice(0, 1),
      users: judged,
      serve: SERVE_DEFAULTS,
      catalogueSize: 3000,
      segments: ['warm', 'cold'],
    });
    expect(rows.map((r) => r.segment)).toEqual(['all', 'warm', 'cold']);
    const [all, warm, cold] = rows;
    expect(warm!.users).toBe(USERS);
    expect(warm!.map).toBeCloseTo(1 / 3, 12);
    expect(cold!.users).toBe(1);
    expect(cold!.map).toBeCloseTo(averagePrecision(lists[USERS]!, new Set([lists[USERS]![2]!]), K), 12);
    expect(cold!.trendingShare).toBe(1);
    expect(all!.users).toBe(USERS + 1);
    expect(all!.map).toBeCloseTo((USERS * warm!.map + cold!.map) / (USERS + 1), 12);
    expect(all!.coverage).toBeGreaterThan(0);
  });
});
