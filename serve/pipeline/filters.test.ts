import { describe, expect, it } from 'vitest';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import { appliedFilterTypes, filterPredicate, NO_FILTERS, toSearchFilter } from './filters.ts';

function item(item_idx: number, group: string, type: string): ItemMetadata {
  return {
    item_idx,
    article_id: String(item_idx).padStart(10, '0'),
    prod_name: `item ${item_idx}`,
    product_type_name: type,
    product_group_name: group,
    colour_group_name: 'Black',
    section_name: 'Womens',
    garment_group_name: 'Jersey',
    index_name: 'Ladieswear',
  };
}

const items = [
  item(1, 'Garment Upper body', 'T-shirt'),
  item(2, 'Garment Upper body', 'Sweater'),
  item(3, 'Garment Lower body', 'Trousers'),
  item(4, 'Shoes', 'Sneakers'),
  item(5, 'Accessories', 'Bag'),
];

describe('toSearchFilter', () => {
  it('is empty when nothing is asked', () => {
    expect(toSearchFilter(NO_FILTERS)).toEqual({});
    expect(appliedFilterTypes(NO_FILTERS)).toEqual([]);
  });

  it('maps includes, excludes and merged, de-duplicated id exclusions', () => {
    const params = {
      productGroups: ['Shoes'],
      productTypes: ['Sneakers', 'Boots'],
      excludeGroups: ['Accessories'],
      excludeTypes: ['Bag'],
      excludeIds: [4, 9],
    };
    expect(toSearchFilter(params, [9, 12])).toEqual({
      include: { product_group_name: ['Shoes'], product_type_name: ['Sneakers', 'Boots'] },
      exclude: { product_group_name: ['Accessories'], product_type_name: ['Bag'] },
      excludeIds: [4, 9, 12],
    });
    expect(appliedFilterTypes(params)).toEqual([
      'product_group',
      'product_type',
      'exclude_groups',
      'exclude_types',
      'exclude_ids',
    ]);
  });

  it('excludes history ids even without explicit exclusions', () => {
    expect(toSearchFilter(NO_FILTERS, [3, 3, 1])).toEqual({ excludeIds: [3, 1] });
  });
});

describe('filterPredicate', () => {
  const pick = (filter: Parameters<typeof filterPredicate>[0]) =>
    items.filter(filterPredicate(filter)).map((i) => i.item_idx);

  it('passes everything without a filter', () => {
    expect(pick({})).toEqual([1, 2, 3, 4, 5]);
  });

  it('ORs values within a field and ANDs across fields', () => {
    expect(pick({ include: { product_group_name: ['Garment Upper body', 'Shoes'] } })).toEqual([1, 2, 4]);
    expect(
      pick({
        include: {
          product_group_name: ['Garment Upper body', 'Shoes'],
          product_type_name: ['Sweater', 'Sneakers'],
        },
      }),
    ).toEqual([2, 4]);
  });

  it('lets exclusions win over inclusions', () => {
    expect(
      pick({
        include: { product_group_name: ['Garment Upper body'] },
        exclude: { product_type_name: ['T-shirt'] },
      }),
    ).toEqual([2]);
    expect(pick({ exclude: { product_group_name: ['Garment Upper body'] }, excludeIds: [4] })).toEqual([
      3, 5,
    ]);
  });

  it('agrees with toSearchFilter', () => {
    const filter = toSearchFilter({ ...NO_FILTERS, excludeGroups: ['Shoes'], excludeIds: [1] }, [5]);
    expect(pick(filter)).toEqual([2, 3]);
  });
});
