import { describe, expect, it } from 'vitest';
import { topCategories } from './profile.ts';

describe('topCategories', () => {
  it('ranks by count, breaks ties by name, and gives shares of all purchases', () => {
    const counts = { Shoes: 2, 'Garment Upper body': 5, Accessories: 2, Underwear: 1 };
    expect(topCategories(counts, 3)).toEqual([
      { name: 'Garment Upper body', count: 5, percentage: 50 },
      { name: 'Accessories', count: 2, percentage: 20 },
      { name: 'Shoes', count: 2, percentage: 20 },
    ]);
  });

  it('rounds to one decimal and skips empty categories', () => {
    expect(topCategories({ a: 1, b: 2, c: 0 }, 5)).toEqual([
      { name: 'b', count: 2, percentage: 66.7 },
      { name: 'a', count: 1, percentage: 33.3 },
    ]);
    expect(topCategories({}, 5)).toEqual([]);
    expect(topCategories({ a: 0 }, 5)).toEqual([]);
  });
});
