/**
 * Pieces shared by the route definitions: problem responses for the OpenAPI document and the
 * mapping from validated filter parameters to the pipeline's filter type.
 */
import type { ItemFilterParams } from '../pipeline/filters.ts';
import { PROBLEM_CONTENT_TYPE } from '../problem.ts';
import { problemSchema } from '../schemas.ts';

export const problem = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
});

export const COMMON_PROBLEMS = {
  400: problem('a parameter is invalid; the problem names it and the allowed range'),
  503: problem('a dependency is unavailable or no model version is active'),
} as const;

export function filtersFrom(query: {
  product_group: string[];
  product_type: string[];
  exclude_ids: number[];
  exclude_groups: string[];
  exclude_types: string[];
}): ItemFilterParams {
  return {
    productGroups: query.product_group,
    productTypes: query.product_type,
    excludeIds: query.exclude_ids,
    excludeGroups: query.exclude_groups,
    excludeTypes: query.exclude_types,
  };
}
