/**
 * A user's profile: purchase totals, recent purchases with item metadata, and the product groups
 * and types they buy most, with shares.
 */
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata } from '../../lib/stores/types.ts';
import type { VectorIndex } from '../../lib/stores/vector-index.ts';
import { type CategoryShare, topCategories } from '../pipeline/profile.ts';
import { notFound } from '../problem.ts';

export interface UserProfile {
  user_idx: number;
  customer_id: string | null;
  total_purchases: number;
  first_purchase_at: string | null;
  last_purchase_at: string | null;
  recent_purchases: Array<{ item_idx: number; ts: string; metadata: ItemMetadata | null }>;
  top_product_groups: CategoryShare[];
  top_product_types: CategoryShare[];
}

export interface ProfileDeps {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
}

/** Throws a 404 problem for a user the feature store knows nothing about. */
export async function userProfile(
  deps: ProfileDeps,
  userIdx: number,
  recentLimit: number,
  topN: number,
): Promise<UserProfile> {
  const { featureStore, vectorIndex } = deps;
  const [counters, recent, customerId] = await Promise.all([
    featureStore.getProfileCounters(userIdx),
    featureStore.getRecentPurchases(userIdx, recentLimit),
    featureStore.customerIdOf(userIdx),
  ]);
  if (counters === null && customerId === null && recent.length === 0) {
    throw notFound('User', `user_idx ${userIdx} is not known`);
  }
  const ids = [...new Set(recent.map((p) => p.item_idx))];
  const points = ids.length === 0 ? [] : await vectorIndex.retrieve(ids);
  const metadata = new Map(points.map((p) => [p.id, p.payload]));
  return {
    user_idx: userIdx,
    customer_id: customerId,
    total_purchases: counters?.total_purchases ?? 0,
    first_purchase_at: counters?.first_purchase_at ?? null,
    last_purchase_at: counters?.last_purchase_at ?? null,
    recent_purchases: recent.map((p) => ({
      item_idx: p.item_idx,
      ts: p.ts,
      metadata: metadata.get(p.item_idx) ?? null,
    })),
    top_product_groups: topCategories(counters?.product_groups ?? {}, topN),
    top_product_types: topCategories(counters?.product_types ?? {}, topN),
  };
}
