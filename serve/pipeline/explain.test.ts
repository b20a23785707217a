import { describe, expect, it } from 'vitest';
import { gaussianVector, seededRandom } from '../../lib/stores/random.ts';
import { cosine } from '../../lib/vectors.ts';
import { explainItem, explainItems, type PurchasedItem, sharesSummingTo100 } from './explain.ts';

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('sharesSummingTo100', () => {
  it('splits in proportion with one decimal and always sums to 100', () => {
    expect(sharesSummingTo100([1, 1, 1])).toEqual([33.4, 33.3, 33.3]);
    expect(sharesSummingTo100([3, 1])).toEqual([75, 25]);
    expect(sharesSummingTo100([0.7])).toEqual([100]);
    for (const weights of [
      [0.9, 0.8, 0.1],
      [0.123, 0.456, 0.789, 0.001],
      [1e-9, 1],
    ]) {
      const shares = sharesSummingTo100(weights);
      expect(Math.round(sum(shares) * 10)).toBe(1000);
      for (const s of shares) expect(Math.round(s * 10)).toBe(s * 10);
    }
  });

  it('shares equally when no weight is positive, and returns nothing for no weights', () => {
    expect(sharesSummingTo100([0, 0])).toEqual([50, 50]);
    expect(sharesSummingTo100([])).toEqual([]);
  });
});

describe('explainItem', () => {
  const purchases: PurchasedItem[] = [
    { item_idx: 10, item_name: 'same', vector: [1, 0, 0] },
    { item_idx: 11, item_name: 'close', vector: [1, 1, 0] },
    { item_idx: 12, item_name: 'orthogonal', vector: [0, 0, 1] },
    { item_idx: 13, item_name: 'opposite', vector: [-1, 0, 0] },
    { item_idx: 14, item_name: 'far', vector: [1, 3, 0] },
  ];

  it('lists the most similar purchases first with contributions summing to 100', () => {
    const explanation = explainItem([2, 0, 0], purchases, 3);
    expect(explanation.map((e) => e.item_idx)).toEqual([10, 11, 14]);
    expect(explanation[0]).toMatchObject({ item_name: 'same', similarity: 1 });
    expect(explanation[1]!.similarity).toBeCloseTo(Math.SQRT1_2, 4);
    expect(Math.round(sum(explanation.map((e) => e.contribution_pct)) * 10)).toBe(1000);
    // Shares of 1 : 0.7071 : 0.3162 are 49.42, 34.95, 15.63; the missing tenth goes to the largest remainder.
    expect(explanation.map((e) => e.contribution_pct)).toEqual([49.4, 35, 15.6]);
  });

  it('leaves out purchases that are not similar at all', () => {
    const explanation = explainItem([0, 0, 1], purchases, 3);
    expect(explanation).toEqual([
      { item_idx: 12, item_name: 'orthogonal', similarity: 1, contribution_pct: 100 },
    ]);
    expect(explainItem([0, -1, 0], purchases.slice(0, 1), 3)).toEqual([]);
  });

  it('counts an item bought twice once and honours topK', () => {
    const twice = [...purchases.slice(0, 2), purchases[0]!];
    expect(explainItem([1, 0, 0], twice, 5).map((e) => e.item_idx)).toEqual([10, 11]);
    expect(explainItem([1, 0, 0], purchases, 1)).toHaveLength(1);
    expect(explainItem([1, 0, 0], [], 3)).toEqual([]);
  });
});

describe('explainItems', () => {
  it('explains a whole list like explainItem does item by item, with cosine similarities', () => {
    const random = seededRandom(12);
    const purchases: PurchasedItem[] = Array.from({ length: 30 }, (_, i) => ({
      item_idx: 100 + (i % 25), // five bought twice
      item_name: `p${i}`,
      vector: gaussianVector(random, 64, 1),
    }));
    const items = Array.from({ length: 10 }, () => gaussianVector(random, 64, 2));
    const all = explainItems(items, purchases, 3);
    expect(all).toHaveLength(10);
    items.forEach((item, i) => {
      expect(all[i]).toEqual(explainItem(item, purchases, 3));
      for (const e of all[i]!) {
        const purchase = purchases.find((p) => p.item_idx === e.item_idx)!;
        expect(e.similarity).toBeCloseTo(cosine(item, purchase.vector), 4);
      }
      if (all[i]!.length > 0) expect(Math.round(sum(all[i]!.map((e) => e.contribution_pct)) * 10)).toBe(1000);
    });
  });
});
