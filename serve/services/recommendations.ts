/**
 * The recommendation pipeline over the ports: candidates → filter → MMR → explain.
 *
 * Personalized path: the user's vector searches the vector index with every filter and exclusion
 * pushed into the search (so `k` results come back whenever `k` eligible items exist), the
 * candidates (`k` × oversampling when MMR runs) are re-ranked with MMR, and explanations compare
 * each item with the user's recent purchases. Cold start (no user vector) and vector index
 * failures answer from the trending lists with the same filters and exclusions. Every index call
 * is pinned to the version read from the feature store pointer, so a request never mixes a user
 * vector of one model version with item vectors of another while a new version is switched in. The pure steps
 * live in `../pipeline/`; this module only orchestrates, measures and degrades.
 *
 * Inside a recording span each stage gets its own span (`recommend.user_vector`,
 * `recommend.candidates`, `recommend.mmr`, `recommend.explain`), with the store spans under the
 * first two. Whether to trace is decided once per request; untraced requests take the same calls
 * without spans or the closures that opening them needs.
 */
import { trace } from '@opentelemetry/api';
import { describeError, TimeoutError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/observability/logger.ts';
import type { Metrics } from '../../lib/observability/metrics.ts';
import { tracer, withSpan } from '../../lib/observability/tracing.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata, Purchase, TrendingScope } from '../../lib/stores/types.ts';
import type { SearchHit, VectorIndex } from '../../lib/stores/vector-index.ts';
import type { ServeOptions } from '../deps.ts';
import { intraListDiversity } from '../pipeline/diversity.ts';
import { type Explanation, explainItems, type PurchasedItem } from '../pipeline/explain.ts';
import {
  appliedFilterTypes,
  filterPredicate,
  type ItemFilterParams,
  toSearchFilter,
} from '../pipeline/filters.ts';
import { mmrSelect } from '../pipeline/mmr.ts';
import { interleave, trendingScore } from '../pipeline/trending.ts';
import { noModel } from '../problem.ts';
import type { FALLBACK_REASONS } from '../schemas.ts';
import { GLOBAL_SCOPE, TrendingCache } from './trending-cache.ts';

export type FallbackReason = (typeof FALLBACK_REASONS)[number];

export interface RecommendRequest {
  /** Null when the caller named a customer id that has no index (a new customer). */
  userIdx: number | null;
  k: number;
  filters: ItemFilterParams;
  explain: boolean;
  explainTopK: number;
  diversityLambda: number;
  excludePurchased: boolean;
}

export interface RecommendedItem {
  item_idx: number;
  score: number;
  metadata: ItemMetadata;
  explanation?: Explanation[];
}

export interface Recommendations {
  user_idx: number | null;
  source: 'personalized' | 'trending';
  model_version: string;
  fallback_reason?: FallbackReason;
  items: RecommendedItem[];
}

export interface RecommenderDeps {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  trending: TrendingCache;
  metrics: Metrics;
  logger?: Logger;
  oversampling: number;
  explainHistory: number;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * The recommender over a pair of stores with its trending cache, as the API builds it; the
 * offline evaluation builds its own with this function over the in-process stores.
 */
export function createRecommender(options: {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  metrics: Metrics;
  logger?: Logger;
  serve: Pick<ServeOptions, 'oversampling' | 'explainHistory' | 'trendingTtlMs'>;
}): Recommender {
  const { featureStore, vectorIndex, metrics, logger, serve } = options;
  return new Recommender({
    featureStore,
    vectorIndex,
    trending: new TrendingCache({ featureStore, vectorIndex, ttlMs: serve.trendingTtlMs, logger }),
    metrics,
    logger,
    oversampling: serve.oversampling,
    explainHistory: serve.explainHistory,
  });
}

export class Recommender {
  constructor(private readonly deps: RecommenderDeps) {}

  async recommend(request: RecommendRequest): Promise<Recommendations> {
    const { metrics } = this.deps;
    const traced = trace.getActiveSpan()?.isRecording() === true;
    const { version, purchased, recent, vector } = await (traced
      ? withSpan('recommend.user_vector', () => this.loadUser(request))
      : this.loadUser(request));

    for (const type of appliedFilterTypes(request.filters)) metrics.filterApplied.inc({ type });
    if (purchased.length > 0) metrics.itemsExcludedHistory.inc(purchased.length);
    if (request.filters.excludeIds.length > 0)
      metrics.itemsExcludedExplicit.inc(request.filters.excludeIds.length);
    if (request.explain) metrics.explainRequests.inc();

    if (vector === null) {
      metrics.recommendationRequests.inc({ source: 'trending', user_type: 'cold' });
      metrics.recommendationFallback.inc({ reason: 'cold_start' });
      return this.trendingStage(traced, version, request, purchased);
    }
    const useMmr = request.diversityLambda < 1;
    let hits: SearchHit[];
    let history: readonly PurchasedItem[];
    try {
      [hits, history] = await (traced
        ? withSpan(
            'recommend.candidates',
            () => this.candidates(version, vector, request, purchased, recent),
            {
              attributes: { 'recsys.candidate_source': 'vector_index' },
            },
          )
        : this.candidates(version, vector, request, purchased, recent));
    } catch (error) {
      // Any failure of the index (down, slow, mid-switch) degrades to trending rather than failing.
      const reason: FallbackReason =
        error instanceof TimeoutError ? 'vector_index_timeout' : 'vector_index_error';
      this.deps.logger?.warn(
        { err: describeError(error), reason },
        'vector index failed; answering from trending',
      );
      metrics.recommendationFallback.inc({ reason });
      metrics.recommendationRequests.inc({ source: 'trending', user_type: 'known' });
      const fallback = await this.trendingStage(traced, version, request, purchased);
      fallback.fallback_reason = reason;
      return fallback;
    }
    metrics.recommendationRequests.inc({ source: 'personalized', user_type: 'known' });
    return this.rerankAndExplain(version, request, hits, history, useMmr, traced);
  }

  /** The active version, the user's vector in it, and the purchases the request needs. */
  private async loadUser(request: RecommendRequest) {
    const { featureStore } = this.deps;
    const userIdx = request.userIdx;
    const [version, purchased, recent] = await Promise.all([
      featureStore.activeVersion(),
      userIdx !== null && request.excludePurchased ? featureStore.getPurchasedItems(userIdx) : NONE,
      userIdx !== null && request.explain
        ? featureStore.getRecentPurchases(userIdx, this.deps.explainHistory)
        : NONE,
    ]);
    if (version === null) throw noModel();
    const vector = userIdx === null ? null : await featureStore.getUserVector(version, userIdx);
    return { version, purchased, recent, vector };
  }

  /** The nearest eligible items (with vectors, for MMR and explanations) and the explained history. */
  private candidates(
    version: string,
    vector: Float32Array,
    request: RecommendRequest,
    purchased: readonly number[],
    recent: readonly Purchase[],
  ): Promise<[SearchHit[], readonly PurchasedItem[]]> {
    const useMmr = request.diversityLambda < 1;
    return Promise.all([
      this.deps.vectorIndex.search({
        vector,
        k: useMmr ? request.k * this.deps.oversampling : request.k,
        filter: toSearchFilter(request.filters, purchased),
        withVectors: true,
        version,
      }),
      request.explain && recent.length > 0 ? this.purchasedItems(version, recent) : NONE,
    ]);
  }

  private trendingStage(
    traced: boolean,
    version: string,
    request: RecommendRequest,
    purchased: readonly number[],
  ): Promise<Recommendations> {
    return traced
      ? withSpan('recommend.candidates', () => this.fromTrending(version, request, purchased), {
          attributes: { 'recsys.candidate_source': 'trending' },
        })
      : this.fromTrending(version, request, purchased);
  }

  private rerankAndExplain(
    version: string,
    request: RecommendRequest,
    hits: SearchHit[],
    history: readonly PurchasedItem[],
    useMmr: boolean,
    traced: boolean,
  ): Recommendations {
    const { metrics } = this.deps;
    let chosen: SearchHit[];
    if (useMmr && hits.length > 1) {
      const span = traced
        ? tracer().startSpan('recommend.mmr', { attributes: { 'recsys.candidates': hits.length } })
        : undefined;
      const started = performance.now();
      const order = mmrSelect(
        hits as Array<SearchHit & { vector: Float32Array }>,
        request.k,
        request.diversityLambda,
      );
      chosen = order.map((i) => hits[i]!);
      metrics.mmrDuration.observe((performance.now() - started) / 1000);
      metrics.mmrApplied.inc();
      span?.end();
    } else {
      chosen = hits.length > request.k ? hits.slice(0, request.k) : hits;
    }

    const diversity = intraListDiversity(chosen.map((h) => h.vector!));
    if (diversity !== undefined) metrics.recommendationDiversity.observe(diversity);

    const items: RecommendedItem[] = chosen.map((hit) => ({
      item_idx: hit.id,
      score: hit.score,
      metadata: hit.payload,
    }));
    if (request.explain) {
      const span = traced
        ? tracer().startSpan('recommend.explain', { attributes: { 'recsys.history': history.length } })
        : undefined;
      const started = performance.now();
      const explanations = explainItems(
        chosen.map((hit) => hit.vector!),
        history,
        request.explainTopK,
      );
      for (let i = 0; i < items.length; i++) items[i]!.explanation = explanations[i]!;
      metrics.explainDuration.observe((performance.now() - started) / 1000);
      span?.end();
    }
    return { user_idx: request.userIdx, source: 'personalized', model_version: version, items };
  }

  /** The user's recent purchases with their vectors and names (items not in the model are skipped). */
  private async purchasedItems(version: string, recent: readonly Purchase[]): Promise<PurchasedItem[]> {
    const ids = [...new Set(recent.map((p) => p.item_idx))];
    const points = await this.deps.vectorIndex.retrieve(ids, { withVectors: true, version });
    return points.map((p) => ({ item_idx: p.id, item_name: p.payload.prod_name, vector: p.vector }));
  }

  /**
   * Trending items passing the request's filters and exclusions: the lists of the requested
   * product groups (interleaved) when a group filter is given, topped up from the global list.
   */
  private async fromTrending(
    version: string,
    request: RecommendRequest,
    purchased: readonly number[],
  ): Promise<Recommendations> {
    const { trending } = this.deps;
    const eligible = filterPredicate(toSearchFilter(request.filters, purchased));
    const groups = request.filters.productGroups;
    const scopes: TrendingScope[] =
      groups.length > 0 ? groups.map((productGroup) => ({ kind: 'group', productGroup })) : [GLOBAL_SCOPE];
    const lists = await Promise.all(scopes.map((scope) => trending.get(version, scope)));
    const items: RecommendedItem[] = [];
    const taken = new Set<number>();
    const take = (list: readonly ItemMetadata[]) => {
      for (const item of list) {
        if (items.length >= request.k) return;
        if (taken.has(item.item_idx)) continue;
        taken.add(item.item_idx);
        items.push({ item_idx: item.item_idx, score: trendingScore(items.length), metadata: item });
      }
    };
    // Filter each list before interleaving, so every group gets its share of eligible items.
    const eligibleLists = lists.map((list) => list.filter(eligible));
    take(eligibleLists.length === 1 ? eligibleLists[0]! : interleaveItems(eligibleLists));
    if (items.length < request.k && groups.length > 0) {
      take((await trending.get(version, GLOBAL_SCOPE)).filter(eligible));
    }
    return { user_idx: request.userIdx, source: 'trending', model_version: version, items };
  }
}

function interleaveItems(lists: ReadonlyArray<readonly ItemMetadata[]>): ItemMetadata[] {
  const byId = new Map<number, ItemMetadata>();
  for (const list of lists) for (const item of list) byId.set(item.item_idx, item);
  return interleave(lists.map((list) => list.map((item) => item.item_idx))).map((id) => byId.get(id)!);
}
