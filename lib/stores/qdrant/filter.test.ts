import { describe, expect, it } from 'vitest';
import { toQdrantFilter } from './filter.ts';

describe('toQdrantFilter', () => {
  it('maps include lists to must/match.any and exclusions to must_not', () => {
    expect(
      toQdrantFilter({
        include: { product_group_name: ['Shoes', 'Accessories'], product_type_name: ['Boots'] },
        exclude: { product_type_name: ['Bag'] },
        excludeIds: [3, 5],
      }),
    ).toEqual({
      must: [
        { key: 'product_group_name', match: { any: ['Shoes', 'Accessories'] } },
        { key: 'product_type_name', match: { any: ['Boots'] } },
      ],
      must_not: [{ key: 'product_type_name', match: { any: ['Bag'] } }, { has_id: [3, 5] }],
    });
  });

  it('drops empty lists and returns no filter when nothing is left', () => {
    expect(toQdrantFilter(undefined)).toBeUndefined();
    expect(toQdrantFilter({ include: { product_group_name: [] }, excludeIds: [] })).toBeUndefined();
    expect(toQdrantFilter({ exclude: { product_group_name: ['Shoes'] } })).toEqual({
      must_not: [{ key: 'product_group_name', match: { any: ['Shoes'] } }],
    });
  });
});
