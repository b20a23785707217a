/**
 * The metric names the project promises (dashboards and alerts use them). A
 * test fixture on purpose: the registry must match this list, not define it.
 */
export const PROMISED_METRICS = [
  'recommendation_requests_total',
  'recommendation_fallback_total',
  'recommendation_diversity_score',
  'similar_items_requests_total',
  'user_profile_requests_total',
  'filter_applied_total',
  'items_excluded_history_total',
  'items_excluded_explicit_total',
  'explain_requests_total',
  'explain_computation_duration_seconds',
  'mmr_rerank_applied_total',
  'mmr_rerank_duration_seconds',
  'purchase_events_accepted_total',
  'purchase_lookup_errors_total',
  'events_processed_total',
  'event_processing_duration_seconds',
  'redis_operation_duration_seconds',
  'qdrant_search_duration_seconds',
  'qdrant_retrieve_duration_seconds',
  'http_requests_total',
  'http_request_duration_seconds',
  'updater_debounce_hits_total',
  'events_dead_lettered_total',
  'consumer_lag',
] as const;
