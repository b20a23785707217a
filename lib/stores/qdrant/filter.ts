/**
 * Translation of the port's SearchFilter into a Qdrant filter: include lists become `must`
 * conditions with `match.any` (OR within a field, AND across fields), excluded values and ids
 * become `must_not` conditions. Empty lists impose nothing, as in the embedded index.
 */
import type { Schemas } from '@qdrant/js-client-rest';
import { FILTER_FIELDS } from '../embedded/item-table.ts';
import type { SearchFilter } from '../vector-index.ts';

export type QdrantFilter = Schemas['Filter'];

export function toQdrantFilter(filter: SearchFilter | undefined): QdrantFilter | undefined {
  if (!filter) return undefined;
  const must: Schemas['Condition'][] = [];
  const mustNot: Schemas['Condition'][] = [];
  for (const field of FILTER_FIELDS) {
    const include = filter.include?.[field];
    if (include && include.length > 0) must.push({ key: field, match: { any: [...include] } });
    const exclude = filter.exclude?.[field];
    if (exclude && exclude.length > 0) mustNot.push({ key: field, match: { any: [...exclude] } });
  }
  if (filter.excludeIds && filter.excludeIds.length > 0) mustNot.push({ has_id: [...filter.excludeIds] });
  if (must.length === 0 && mustNot.length === 0) return undefined;
  const out: QdrantFilter = {};
  if (must.length > 0) out.must = must;
  if (mustNot.length > 0) out.must_not = mustNot;
  return out;
}
