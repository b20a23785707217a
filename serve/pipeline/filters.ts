/**
 * Request filters and exclusions, turned into the vector index's `SearchFilter` (so they are
 * applied inside the search, and `k` results come back whenever `k` eligible items exist) and
 * into an equivalent predicate for lists that do not come from a search (trending).
 */

import type { ItemMetadata } from '../../lib/stores/types.ts';
import type { SearchFilter } from '../../lib/stores/vector-index.ts';

/** What a request asks to include or leave out; empty lists mean "no filter". */
export interface ItemFilterParams {
  productGroups: readonly string[];
  productTypes: readonly string[];
  excludeGroups: readonly string[];
  excludeTypes: readonly string[];
  excludeIds: readonly number[];
}

/** Filter types as counted by `filter_applied_total{type}`; a bounded set. */
export type FilterType =
  | 'product_group'
  | 'product_type'
  | 'exclude_groups'
  | 'exclude_types'
  | 'exclude_ids';

export const NO_FILTERS: ItemFilterParams = {
  productGroups: [],
  productTypes: [],
  excludeGroups: [],
  excludeTypes: [],
  excludeIds: [],
};

export function appliedFilterTypes(params: ItemFilterParams): FilterType[] {
  const types: FilterType[] = [];
  if (params.productGroups.length > 0) types.push('product_group');
  if (params.productTypes.length > 0) types.push('product_type');
  if (params.excludeGroups.length > 0) types.push('exclude_groups');
  if (params.excludeTypes.length > 0) types.push('exclude_types');
  if (params.excludeIds.length > 0) types.push('exclude_ids');
  return types;
}

/**
 * The search filter for a request. `alsoExclude` holds ids left out for other reasons (the
 * user's purchases, the query item itself); ids are de-duplicated.
 */
export function toSearchFilter(params: ItemFilterParams, alsoExclude: readonly number[] = []): SearchFilter {
  const filter: SearchFilter = {};
  if (params.productGroups.length > 0 || params.productTypes.length > 0) {
    filter.include = {};
    if (params.productGroups.length > 0) filter.include.product_group_name = [...params.productGroups];
    if (params.productTypes.length > 0) filter.include.product_type_name = [...params.productTypes];
  }
  if (params.excludeGroups.length > 0 || params.excludeTypes.length > 0) {
    filter.exclude = {};
    if (params.excludeGroups.length > 0) filter.exclude.product_group_name = [...params.excludeGroups];
    if (params.excludeTypes.length > 0) filter.exclude.product_type_name = [...params.excludeTypes];
  }
  if (params.excludeIds.length > 0 || alsoExclude.length > 0) {
    filter.excludeIds = [...new Set([...params.excludeIds, ...alsoExclude])];
  }
  return filter;
}

/**
 * A predicate equivalent to `filter` as the vector index applies it: include lists are OR within
 * a field and AND across fields, exclusions win over inclusions.
 */
export function filterPredicate(filter: SearchFilter): (item: ItemMetadata) => boolean {
  const includeGroups = setOf(filter.include?.product_group_name);
  const includeTypes = setOf(filter.include?.product_type_name);
  const excludeGroups = setOf(filter.exclude?.product_group_name);
  const excludeTypes = setOf(filter.exclude?.product_type_name);
  const excludeIds = new Set(filter.excludeIds ?? []);
  return (item) =>
    !excludeIds.has(item.item_idx) &&
    (includeGroups === undefined || includeGroups.has(item.product_group_name)) &&
    (includeTypes === undefined || includeTypes.has(item.product_type_name)) &&
    !excludeGroups?.has(item.product_group_name) &&
    !excludeTypes?.has(item.product_type_name);
}

function setOf(values: readonly string[] | undefined): Set<string> | undefined {
  return values && values.length > 0 ? new Set(values) : undefined;
}
