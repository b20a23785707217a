/**
 * Small pure helpers shared by the feature store adapters, so both store the same canonical
 * forms (timestamps, trending scope names, counters).
 */
import { ValidationError } from '../errors.ts';
import type { ProfileCounters, TrendingScope } from './types.ts';

export function trendingScopeKey(scope: TrendingScope): string {
  if (scope.kind === 'global') return 'global';
  return scope.kind === 'group' ? `group:${scope.productGroup}` : `segment:${scope.segment}`;
}

/** Already canonical (what `toISOString` writes), with plausible field ranges. */
const CANONICAL = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Canonical ISO-8601 UTC form of a timestamp; both adapters store this form. */
export function canonicalTimestamp(ts: string): string {
  // Fast path for bulk loads, whose timestamps are canonical already.
  if (CANONICAL.test(ts)) return ts;
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) throw new ValidationError(`not a valid timestamp: ${JSON.stringify(ts)}`);
  return new Date(ms).toISOString();
}

export function emptyCounters(): ProfileCounters {
  return {
    total_purchases: 0,
    first_purchase_at: null,
    last_purchase_at: null,
    product_groups: {},
    product_types: {},
  };
}

export function addPurchaseToCounters(
  counters: ProfileCounters,
  purchase: { ts: string; product_group_name: string; product_type_name: string },
): void {
  counters.total_purchases += 1;
  if (counters.first_purchase_at === null || purchase.ts < counters.first_purchase_at) {
    counters.first_purchase_at = purchase.ts;
  }
  if (counters.last_purchase_at === null || purchase.ts > counters.last_purchase_at) {
    counters.last_purchase_at = purchase.ts;
  }
  const groups = counters.product_groups;
  groups[purchase.product_group_name] = (groups[purchase.product_group_name] ?? 0) + 1;
  const types = counters.product_types;
  types[purchase.product_type_name] = (types[purchase.product_type_name] ?? 0) + 1;
}
