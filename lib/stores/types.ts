/**
 * Domain types shared by the store ports and their adapters.
 */

/** Item payload stored beside each item vector (also what API responses show as `metadata`). */
export interface ItemMetadata {
  item_idx: number;
  article_id: string;
  prod_name: string;
  product_type_name: string;
  product_group_name: string;
  colour_group_name: string;
  section_name: string;
  garment_group_name: string;
  index_name: string;
}

/** Payload fields that filters may name. */
export type FilterField = 'product_group_name' | 'product_type_name';

export interface Purchase {
  item_idx: number;
  /** ISO-8601 UTC timestamp (date-only purchases from the batch use midnight UTC). */
  ts: string;
}

export interface ProfileCounters {
  total_purchases: number;
  first_purchase_at: string | null;
  last_purchase_at: string | null;
  /** Purchase counts by product group name. */
  product_groups: Record<string, number>;
  /** Purchase counts by product type name. */
  product_types: Record<string, number>;
}

export interface ModelVersionInfo {
  /** Names every batch output, e.g. `v20261126-051500`; sortable by time. */
  version: string;
  rank: number;
  created_at: string;
  users: number;
  items: number;
  /** Offline evaluation results (holdout_default_map_at_12, ...). */
  metrics?: Record<string, number>;
  /** Last day of the data the model was trained on. */
  trained_through?: string;
  /** For a refit on every day: the version trained before the hold-out that `metrics` measured. */
  evaluated_version?: string;
}

/** Trending lists: `global`, one per product group name, or one per customer segment. */
export type TrendingScope =
  | { kind: 'global' }
  | { kind: 'group'; productGroup: string }
  | { kind: 'segment'; segment: string };
