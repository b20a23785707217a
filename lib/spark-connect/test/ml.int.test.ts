import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALS,
  ALSModel,
  col,
  type DataFrame,
  functions as F,
  SparkConnectError,
  type SparkSession,
} from '../index.ts';
import { openSession, scratchDir } from './helpers.ts';

/** Deterministic pseudo-random numbers, so the dataset is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe('ALS over Spark Connect ML', () => {
  let spark: SparkSession;
  let interactions: DataFrame;
  const positives = new Map<number, Set<number>>();
  const USERS = 60;
  const ITEMS = 40;

  beforeAll(async () => {
    spark = openSession();
    await spark.conf.set('spark.sql.shuffle.partitions', 2);
    // Two taste groups: users < 30 buy items < 20, the others items >= 20.
    const random = rng(7);
    const rows: { user: number; item: number; rating: number }[] = [];
    for (let user = 0; user < USERS; user++) {
      const base = user < USERS / 2 ? 0 : ITEMS / 2;
      const bought = new Set<number>();
      while (bought.size < 8) bought.add(base + Math.floor(random() * (ITEMS / 2)));
      positives.set(user, bought);
      for (const item of bought) rows.push({ user, item, rating: 1 + Math.floor(random() * 3) });
    }
    interactions = await spark.createDataFrame(rows, 'user INT, item INT, rating FLOAT');
  });
  afterAll(async () => {
    await spark.stop();
  });

  it('fits an implicit model whose factors rank held-in positives above random items', async () => {
    const als = new ALS({
      rank: 8,
      maxIter: 8,
      regParam: 0.05,
      alpha: 20,
      implicitPrefs: true,
      nonnegative: false,
      coldStartStrategy: 'drop',
      seed: 42,
      userCol: 'user',
      itemCol: 'item',
      ratingCol: 'rating',
      numUserBlocks: 2,
      numItemBlocks: 2,
    });
    const model = await als.fit(interactions);
    try {
      expect(await model.rank()).toBe(8);
      const users = new Map(
        (await model.userFactors.collect()).map((r) => [r['id'] as number, r['features'] as number[]]),
      );
      const items = new Map(
        (await model.itemFactors.collect()).map((r) => [r['id'] as number, r['features'] as number[]]),
      );
      expect(users.size).toBe(USERS);
      expect(items.size).toBe(ITEMS);
      expect(users.get(0)).toHaveLength(8);

      // AUC over users: P(score(positive) > score(random non-positive)).
      const random = rng(99);
      let wins = 0;
      let trials = 0;
      for (const [user, bought] of positives) {
        const u = users.get(user)!;
        for (const item of bought) {
          let other = Math.floor(random() * ITEMS);
          while (bought.has(other)) other = Math.floor(random() * ITEMS);
          wins += dot(u, items.get(item)!) > dot(u, items.get(other)!) ? 1 : 0;
          trials++;
        }
      }
      expect(wins / trials).toBeGreaterThan(0.85);

      // Recommendations for a subset, and predictions through transform().
      const subset = await spark.createDataFrame([{ user: 0 }, { user: 45 }], 'user INT');
      const recs = await model.recommendForUserSubset(subset, 5).orderBy('user').collect();
      expect(recs).toHaveLength(2);
      const top0 = (recs[0]!['recommendations'] as { item: number; rating: number }[]).map((r) => r.item);
      const top45 = (recs[1]!['recommendations'] as { item: number; rating: number }[]).map((r) => r.item);
      expect(top0.filter((i) => i < ITEMS / 2).length).toBeGreaterThanOrEqual(4);
      expect(top45.filter((i) => i >= ITEMS / 2).length).toBeGreaterThanOrEqual(4);
      const predicted = await model.transform(interactions.limit(5)).collect();
      expect(predicted).toHaveLength(5);
      expect(typeof predicted[0]!['prediction']).toBe('number');
      expect(await model.recommendForAllUsers(3).count()).toBe(USERS);
    } finally {
      await model.dispose();
    }
  });

  it('saves and loads a model, and dispose() frees the server object', async () => {
    const dir = scratchDir('als');
    try {
      const model = await new ALS({
        rank: 3,
        maxIter: 2,
        implicitPrefs: true,
        seed: 1,
        userCol: 'user',
        itemCol: 'item',
      }).fit(interactions);
      await model.save(`${dir.path}/model`);
      await model.save(`${dir.path}/model`, true);
      await expect(model.save(`${dir.path}/model`)).rejects.toBeInstanceOf(SparkConnectError);
      const loaded = await ALSModel.load(spark, `${dir.path}/model`);
      expect(await loaded.rank()).toBe(3);
      const a = await model.itemFactors.orderBy('id').collect();
      const b = await loaded.itemFactors.orderBy('id').collect();
      expect(b).toEqual(a);

      await model.dispose();
      await model.dispose();
      await expect(model.rank()).rejects.toThrow(/disposed/);
      // The server no longer knows the object.
      const stale = new ALSModel(spark, model.ref, model.uid);
      const error = (await stale.rank().catch((e: unknown) => e)) as SparkConnectError;
      expect(error).toBeInstanceOf(SparkConnectError);
      expect(error.errorClass).toMatch(/CONNECT_ML/);
      // The loaded copy is independent and still works.
      expect(await loaded.userFactors.filter(col('id').lt(5)).count()).toBe(5);
      await loaded.dispose();
    } finally {
      dir.remove();
    }
  });

  it('passes explicit-feedback parameters through', async () => {
    const model = await new ALS({
      rank: 2,
      maxIter: 3,
      regParam: 1,
      nonnegative: true,
      seed: 3,
      userCol: 'user',
      itemCol: 'item',
    }).fit(interactions);
    try {
      const factors = await model.userFactors.select(F.fn('array_min', col('features')).alias('m')).collect();
      expect(factors.every((r) => (r['m'] as number) >= 0)).toBe(true);
    } finally {
      await model.dispose();
    }
  });
});
