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
import { DependencyError, describeError, TimeoutError } from '../../lib/errors.ts';
import { type Logger, LogThrottle } from '../../lib/observability/logger.ts';
import type { Metrics } from '../../lib/observability/metrics.ts';
import { tracer, withSpan } from '../../lib/observability/tracing.ts';
import { type FeatureStore, HISTORY_LIMIT } from '../../lib/stores/feature-store.ts';
import type { ItemMetadata, Purchase, TrendingScope } from '../../lib/stores/types.ts';
import type { ItemPoint, SearchHit, VectorIndex } from '../../lib/stores/vector-index.ts';
import { dot } from '../../lib/vectors.ts';
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
import {
  type RepurchaseBoost,
  type RepurchaseCandidate,
  type RepurchaseFill,
  type RepurchaseMode,
  type RepurchaseOptions,
  type RepurchasePlan,
  rankRepurchase,
  repurchaseCandidates,
  TUNING_PROTOCOLS,
  tunedRepurchase,
} from '../pipeline/repurchase.ts';
import { interleave, trendingScore } from '../pipeline/trending.ts';
import { noModel } from '../problem.ts';
import type { FALLBACK_REASONS } from '../schemas.ts';
import { ActiveVersion } from './active-version.ts';
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
  /** The user's purchases: a repurchase stage first (`auto`), ordinary candidates, or left out. */
  repurchase: RepurchaseMode;
  /** The repurchase window of this request; default: the configured or the version's tuned one. */
  repurchaseWindowDays?: number;
  /** Cold start from the user's segment list; default: the configured or the version's tuned choice. */
  trendingSegments?: boolean;
  /** How this request merges repurchases; default: the configured or the version's tuned boost. */
  repurchaseBoost?: RepurchaseBoost;
  /** What fills this request's list; default: the configured or the version's tuned fill. */
  repurchaseFill?: RepurchaseFill;
}

export interface RecommendedItem {
  item_idx: number;
  score: number;
  metadata: ItemMetadata;
  /** Set when the item is offered again because the user bought it (the repurchase stage). */
  bought_before?: { times: number; last_purchased_at: string };
  explanation?: Explanation[];
}

export interface Recommendations {
  user_idx: number | null;
  source: 'personalized' | 'trending';
  model_version: string;
  fallback_reason?: FallbackReason;
  items: RecommendedItem[];
}

/** `TRENDING_SEGMENTS`: cold users get their segment's trending list (`auto`: as evaluated). */
export type TrendingSegmentsSetting = 'auto' | 'on' | 'off';

/**
 * `TRENDING_SEGMENTS=auto`: on when the version's hold-out figures say the segment lists beat the
 * global one (`segments_on` against `segments_off`), off otherwise or without figures.
 */
export function tunedSegments(
  metrics: Readonly<Record<string, number>> | undefined,
  setting: TrendingSegmentsSetting,
): boolean {
  if (setting !== 'auto') return setting === 'on';
  for (const prefix of TUNING_PROTOCOLS) {
    const on = metrics?.[`${prefix}_segments_on_map_at_12`];
    const off = metrics?.[`${prefix}_segments_off_map_at_12`];
    if (typeof on === 'number' && typeof off === 'number') return on > off;
  }
  return false;
}

/** What a plain request gets under a version: the repurchase plan and the cold-start lists. */
interface ServingPlan extends RepurchasePlan {
  segments: boolean;
}

export interface RecommenderDeps {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  trending: TrendingCache;
  metrics: Metrics;
  logger?: Logger;
  oversampling: number;
  explainHistory: number;
  repurchase: RepurchaseOptions;
  /** @default 'off' */
  trendingSegments?: TrendingSegmentsSetting;
  /** The clock the repurchase stage measures purchase ages with. @default Date.now */
  now?: () => number;
}

const NONE: readonly never[] = Object.freeze([]);
const NO_PICKS = Object.freeze([]) as unknown as RepurchasePick[];

/**
 * The recommender over a pair of stores with its trending cache, as the API builds it; the
 * offline evaluation builds its own with this function over the in-process stores.
 */
export function createRecommender(options: {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  metrics: Metrics;
  logger?: Logger;
  serve: Pick<
    ServeOptions,
    'oversampling' | 'explainHistory' | 'trendingTtlMs' | 'repurchaseStage' | 'trendingSegments'
  >;
  /** @default Date.now */
  now?: () => number;
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
    repurchase: serve.repurchaseStage,
    trendingSegments: serve.trendingSegments,
    ...(options.now ? { now: options.now } : {}),
  });
}

export class Recommender {
  /** The `auto` parts of the serving plan, as chosen for each version (read once per version). */
  private readonly tunedPlans = new Map<string, ServingPlan | Promise<ServingPlan>>();
  /**
   * The active version as last read. Each new version's global trending list is loaded at once,
   * so it is at hand when the feature store goes down later.
   */
  readonly versions: ActiveVersion;
  /** An index outage fails every request: one warning per 10 s says so (the metric counts each). */
  private readonly indexFailureLog = new LogThrottle(10_000);

  constructor(private readonly deps: RecommenderDeps) {
    this.versions = new ActiveVersion(deps.featureStore, (version) => {
      deps.trending.get(version, GLOBAL_SCOPE).catch(() => undefined);
    });
  }

  /** Forgets the chosen plans, so the next request reads the versions' figures again. */
  forgetPlans(): void {
    this.tunedPlans.clear();
  }

  /**
   * The repurchase window, boost and fill and the cold-start lists a plain request gets under
   * `version`: a value once the version's figures were read (no await on the hot path), a promise
   * until then.
   */
  private plan(version: string): ServingPlan | Promise<ServingPlan> {
    const { windowDays, boost, fill } = this.deps.repurchase;
    const segments = this.deps.trendingSegments ?? 'off';
    if (windowDays !== 'auto' && boost !== 'auto' && fill !== 'auto' && segments !== 'auto')
      return { windowDays, boost, fill, segments: segments === 'on' };
    const known = this.tunedPlans.get(version);
    if (known !== undefined) return known;
    const tuned = this.deps.featureStore.getVersionInfo(version).then(
      (info): ServingPlan => ({
        ...tunedRepurchase(info?.metrics, { windowDays, boost, fill }),
        segments: tunedSegments(info?.metrics, segments),
      }),
    );
    if (this.tunedPlans.size > 8) this.tunedPlans.clear();
    this.tunedPlans.set(version, tuned);
    tuned.then(
      (plan) => {
        if (this.tunedPlans.get(version) === tuned) this.tunedPlans.set(version, plan);
      },
      // A failed read is not remembered: the next request asks again.
      () => {
        if (this.tunedPlans.get(version) === tuned) this.tunedPlans.delete(version);
      },
    );
    return tuned;
  }

  async recommend(request: RecommendRequest): Promise<Recommendations> {
    const { metrics } = this.deps;
    const traced = trace.getActiveSpan()?.isRecording() === true;
    let user: LoadedUser;
    try {
      user = await (traced
        ? withSpan('recommend.user_vector', () => this.loadUser(request))
        : this.loadUser(request));
    } catch (error) {
      return this.withoutFeatureStore(traced, request, error);
    }
    const { vector } = user;

    for (const type of appliedFilterTypes(request.filters)) metrics.filterApplied.inc({ type });
    if (request.filters.excludeIds.length > 0)
      metrics.itemsExcludedExplicit.inc(request.filters.excludeIds.length);
    if (request.explain) metrics.explainRequests.inc();

    if (vector === null) {
      metrics.recommendationRequests.inc({ source: 'trending', user_type: 'cold' });
      metrics.recommendationFallback.inc({ reason: 'cold_start' });
      return this.trendingStage(traced, request, user);
    }
    const useMmr = request.diversityLambda < 1;
    let found: Candidates;
    try {
      found = await (traced
        ? withSpan('recommend.candidates', () => this.candidates(request, user, vector), {
            attributes: { 'recsys.candidate_source': 'vector_index' },
          })
        : this.candidates(request, user, vector));
    } catch (error) {
      // Any failure of the index (down, slow, mid-switch) degrades to trending rather than failing.
      const reason: FallbackReason =
        error instanceof TimeoutError ? 'vector_index_timeout' : 'vector_index_error';
      this.indexFailureLog.pass((heldBack) =>
        this.deps.logger?.warn(
          { err: describeError(error), reason, heldBack },
          'vector index failed; answering from trending',
        ),
      );
      // The index just failed: no second call to it for repurchase candidates.
      return this.fallback(traced, request, { ...user, again: [] }, reason, 'known');
    }
    if (user.fill === 'trending') {
      // The repurchases, ordered with the model's scores, lead; trending fills the rest.
      metrics.recommendationRequests.inc({ source: 'trending', user_type: 'known' });
      const { head } = mergeCandidates(found.hits, found.again, {
        boost: user.boost,
        maxItems: this.deps.repurchase.maxItems,
        lead: true,
      });
      return this.fromTrending(
        request,
        user,
        head.map((entry) => entry.pick),
      );
    }
    metrics.recommendationRequests.inc({ source: 'personalized', user_type: 'known' });
    return this.rerankAndExplain(request, user, found, useMmr, traced);
  }

  /**
   * The answer while the feature store fails (down, slow, circuit open): the trending lists of the
   * last version read, from the cache, with the request's filters and exclusions, flagged
   * `feature_store_error` or `feature_store_timeout`. Nothing is known of the user then: no
   * repurchases, no segment list. Before any version was read there is nothing to serve: the
   * error goes on (503).
   */
  private async withoutFeatureStore(
    traced: boolean,
    request: RecommendRequest,
    error: unknown,
  ): Promise<Recommendations> {
    const version = this.versions.known;
    if (!(error instanceof DependencyError) || version === null) throw error;
    const reason: FallbackReason =
      error instanceof TimeoutError ? 'feature_store_timeout' : 'feature_store_error';
    // One line per request would flood the log during an outage: the circuit logs its changes.
    this.deps.logger?.debug(
      { err: describeError(error), reason },
      'feature store failed; answering from trending',
    );
    const unknown: LoadedUser = {
      version,
      vector: null,
      purchased: NONE,
      recent: NONE,
      again: [],
      boost: 0,
      fill: 'model',
      segments: false,
    };
    return this.fallback(traced, request, unknown, reason, 'unknown');
  }

  /** A dependency failed: the trending answer for `user`, flagged with `reason` and counted. */
  private async fallback(
    traced: boolean,
    request: RecommendRequest,
    user: LoadedUser,
    reason: FallbackReason,
    userType: 'known' | 'unknown',
  ): Promise<Recommendations> {
    const { metrics } = this.deps;
    metrics.recommendationFallback.inc({ reason });
    metrics.recommendationRequests.inc({ source: 'trending', user_type: userType });
    const answer = await this.trendingStage(traced, request, user);
    answer.fallback_reason = reason;
    return answer;
  }

  /**
   * The active version, the user's vector in it, and the purchases the request needs: the ids to
   * exclude (`repurchase=exclude`), or the recent history the repurchase stage ranks
   * (`repurchase=auto`, whose ids are then excluded from the search), and the purchases that
   * explain the list.
   */
  private async loadUser(request: RecommendRequest): Promise<LoadedUser> {
    const userIdx = request.userIdx;
    const mode = request.repurchase;
    // The whole history when purchases are ranked (auto) or left out (exclude); else what explains.
    const historyLength = mode !== 'include' ? HISTORY_LIMIT : request.explain ? this.deps.explainHistory : 0;
    // One read (one round trip on Redis): version, the user's vector in it, the history.
    const { version, vector, recent } = await this.deps.featureStore.getUserState(userIdx, historyLength);
    if (version === null) throw noModel();
    this.versions.seen(version);
    const purchased = mode === 'include' ? NONE : [...new Set(recent.map((p) => p.item_idx))];
    const pending = this.plan(version);
    const plan = pending instanceof Promise ? await pending : pending;
    let again: RepurchaseCandidate[] = [];
    let boost: RepurchaseBoost = 0;
    let fill: RepurchaseFill = 'model';
    if (mode === 'auto') {
      boost = request.repurchaseBoost ?? plan.boost;
      fill = request.repurchaseFill ?? plan.fill;
      if (recent.length > 0) {
        again = repurchaseCandidates(
          recent,
          {
            windowDays: request.repurchaseWindowDays ?? plan.windowDays,
            halfLifeDays: this.deps.repurchase.halfLifeDays,
          },
          (this.deps.now ?? Date.now)(),
        );
      }
    }
    const segments = request.trendingSegments ?? plan.segments;
    return { version, vector, purchased, recent, again, boost, fill, segments };
  }

  /**
   * Candidates from the vector index: the nearest eligible items (purchases excluded unless
   * `repurchase=include`), the repurchase candidates with their vectors and payloads, and the
   * explained history — in one round of index calls.
   */
  private async candidates(
    request: RecommendRequest,
    user: LoadedUser,
    vector: Float32Array,
  ): Promise<Candidates> {
    const useMmr = request.diversityLambda < 1;
    const { version } = user;
    const [hits, history, again] = await Promise.all([
      this.deps.vectorIndex.search({
        vector,
        // Under the trending fill the search only gives the scale of the user's scores.
        k: user.fill === 'trending' ? 1 : useMmr ? request.k * this.deps.oversampling : request.k,
        filter: toSearchFilter(request.filters, user.purchased),
        withVectors: true,
        version,
      }),
      // Under the trending fill nothing is explained (the list comes from the trending path).
      request.explain && user.fill === 'model' && user.recent.length > 0
        ? this.purchasedItems(version, user.recent)
        : NONE,
      user.again.length > 0 ? this.repurchasePicks(request, user, vector) : NO_PICKS,
    ]);
    return { hits, history, again };
  }

  /**
   * The repurchase candidates that pass the request's filters and have a vector in the version,
   * ranked by recency weight, then model score, with the model score of each.
   */
  private async repurchasePicks(
    request: RecommendRequest,
    user: LoadedUser,
    vector: Float32Array | null,
  ): Promise<RepurchasePick[]> {
    if (user.again.length === 0) return [];
    const points = await this.deps.vectorIndex.retrieve(
      user.again.map((c) => c.item_idx),
      { withVectors: true, version: user.version },
    );
    const eligible = filterPredicate(toSearchFilter(request.filters));
    const byId = new Map<number, ItemPoint>();
    for (const p of points) if (eligible(p.payload)) byId.set(p.id, p);
    const scores = new Map<number, number>();
    if (vector !== null) for (const [id, p] of byId) scores.set(id, dot(vector, p.vector));
    const ranked = rankRepurchase(
      user.again.filter((c) => byId.has(c.item_idx)),
      (id) => scores.get(id),
    );
    return ranked.map((candidate) => ({
      candidate,
      point: byId.get(candidate.item_idx)!,
      score: scores.get(candidate.item_idx) ?? 0,
    }));
  }

  private trendingStage(
    traced: boolean,
    request: RecommendRequest,
    user: LoadedUser,
  ): Promise<Recommendations> {
    return traced
      ? withSpan('recommend.candidates', () => this.fromTrending(request, user), {
          attributes: { 'recsys.candidate_source': 'trending' },
        })
      : this.fromTrending(request, user);
  }

  private rerankAndExplain(
    request: RecommendRequest,
    user: LoadedUser,
    found: Candidates,
    useMmr: boolean,
    traced: boolean,
  ): Recommendations {
    const { metrics } = this.deps;
    const { history } = found;
    const merged = mergeCandidates(found.hits, found.again, {
      boost: user.boost,
      maxItems: this.deps.repurchase.maxItems,
    });
    const { pool } = merged;
    // `first`: the repurchases lead as ranked; MMR (or the top) fills the rest from the model.
    const head = merged.head.length > request.k ? merged.head.slice(0, request.k) : merged.head;
    const k = request.k - head.length;
    let chosen: PoolEntry[];
    if (k <= 0) {
      chosen = [];
    } else if (useMmr && pool.length > 1 && k > 1) {
      const span = traced
        ? tracer().startSpan('recommend.mmr', { attributes: { 'recsys.candidates': pool.length } })
        : undefined;
      const started = performance.now();
      // Hits carry their vectors (the search asked withVectors).
      const order = mmrSelect(
        pool as Array<{ score: number; vector: ArrayLike<number> }>,
        k,
        request.diversityLambda,
      );
      chosen = order.map((i) => pool[i]!);
      metrics.mmrDuration.observe((performance.now() - started) / 1000);
      metrics.mmrApplied.inc();
      span?.end();
    } else {
      chosen = pool.length > k ? pool.slice(0, k) : pool;
    }
    if (head.length > 0) chosen = [...head, ...chosen];
    const vectors: Array<ArrayLike<number>> = new Array(chosen.length);
    const items: RecommendedItem[] = new Array(chosen.length);
    let reoffered = 0;
    for (let i = 0; i < chosen.length; i++) {
      const entry = chosen[i]!;
      vectors[i] = entry.vector!;
      if ('pick' in entry) {
        reoffered++;
        items[i] = repurchaseItem(entry.pick, entry.score);
      } else {
        items[i] = { item_idx: entry.id, score: entry.score, metadata: entry.payload };
      }
    }
    this.countExcluded(user, reoffered);
    const diversity = intraListDiversity(vectors);
    if (diversity !== undefined) metrics.recommendationDiversity.observe(diversity);

    if (request.explain) {
      const span = traced
        ? tracer().startSpan('recommend.explain', { attributes: { 'recsys.history': history.length } })
        : undefined;
      const started = performance.now();
      const explanations = explainItems(vectors, history, request.explainTopK);
      for (let i = 0; i < items.length; i++) items[i]!.explanation = explanations[i]!;
      metrics.explainDuration.observe((performance.now() - started) / 1000);
      span?.end();
    }
    return { user_idx: request.userIdx, source: 'personalized', model_version: user.version, items };
  }

  /** `items_excluded_history_total`: purchased items kept out of the list (re-offered ones are not). */
  private countExcluded(user: LoadedUser, reoffered: number): void {
    const excluded = user.purchased.length - reoffered;
    if (excluded > 0) this.deps.metrics.itemsExcludedHistory.inc(excluded);
  }

  /** The user's recent purchases with their vectors and names (items not in the model are skipped). */
  private async purchasedItems(version: string, recent: readonly Purchase[]): Promise<PurchasedItem[]> {
    const explained =
      recent.length > this.deps.explainHistory ? recent.slice(0, this.deps.explainHistory) : recent;
    const ids = [...new Set(explained.map((p) => p.item_idx))];
    const points = await this.deps.vectorIndex.retrieve(ids, { withVectors: true, version });
    return points.map((p) => ({ item_idx: p.id, item_name: p.payload.prod_name, vector: p.vector }));
  }

  /**
   * Trending items passing the request's filters and exclusions: the lists of the requested
   * product groups (interleaved) when a group filter is given, topped up from the global list.
   * With `repurchase=auto` the user's repurchase candidates come first (when the index can give
   * their payloads).
   */
  private async fromTrending(
    request: RecommendRequest,
    user: LoadedUser,
    ranked?: readonly RepurchasePick[],
  ): Promise<Recommendations> {
    const { trending } = this.deps;
    const { version } = user;
    const again = (
      ranked ?? (await this.repurchasePicks(request, user, null).catch(() => [] as RepurchasePick[]))
    ).slice(0, Math.min(request.k, this.deps.repurchase.maxItems));
    this.countExcluded(user, again.length);
    const eligible = filterPredicate(toSearchFilter(request.filters, user.purchased));
    const groups = request.filters.productGroups;
    // A product-group filter asks for the groups' lists; else the user's segment list (when the
    // plan serves them and the user has a segment), topped up from the global one.
    const segment =
      groups.length === 0 && user.segments && request.userIdx !== null
        ? await this.deps.featureStore.getUserSegment(request.userIdx).catch(() => null)
        : null;
    const scopes: TrendingScope[] =
      groups.length > 0
        ? groups.map((productGroup) => ({ kind: 'group', productGroup }))
        : segment !== null
          ? [{ kind: 'segment', segment }]
          : [GLOBAL_SCOPE];
    // A group or segment list that cannot be read leaves its place to the global list below
    // (filtered the same way); only a global list that cannot be read fails the request.
    const lists = await Promise.all(
      scopes.map((scope) =>
        scope.kind === 'global'
          ? trending.get(version, scope)
          : trending.get(version, scope).catch(() => NONE),
      ),
    );
    const items: RecommendedItem[] = [];
    const taken = new Set<number>();
    for (const pick of again) {
      taken.add(pick.point.id);
      items.push(repurchaseItem(pick, trendingScore(items.length)));
    }
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
    if (items.length < request.k && (groups.length > 0 || segment !== null)) {
      take((await trending.get(version, GLOBAL_SCOPE)).filter(eligible));
    }
    return { user_idx: request.userIdx, source: 'trending', model_version: version, items };
  }
}

interface LoadedUser {
  version: string;
  vector: Float32Array | null;
  /** Ids kept out of the vector search and the trending lists. */
  purchased: readonly number[];
  /** Newest first: what the repurchase stage ranks and explanations compare with. */
  recent: readonly Purchase[];
  /** Repurchase candidates (`repurchase=auto`), not yet filtered or ranked. */
  again: RepurchaseCandidate[];
  /** How the candidates merge with the model's items (see `mergeCandidates`). */
  boost: RepurchaseBoost;
  /** What fills the list besides them: the model's items, or trending (`repurchase=auto`). */
  fill: RepurchaseFill;
  /** Whether the trending lists are the user's segment's (when the user has one). */
  segments: boolean;
}

interface RepurchasePick {
  candidate: RepurchaseCandidate;
  point: ItemPoint;
  /** The model's user–item score (0 without a user vector). */
  score: number;
}

interface Candidates {
  hits: SearchHit[];
  history: readonly PurchasedItem[];
  again: RepurchasePick[];
}

/** A repurchase candidate in the merged pool (the model's items are their search hits). */
interface BoostedPick {
  score: number;
  vector: ArrayLike<number>;
  pick: RepurchasePick;
}

type PoolEntry = SearchHit | BoostedPick;

/** The boost that orders the repurchases among themselves under `first`. */
const FIRST_ORDER_BOOST = 1;

/**
 * The merge rule. Each repurchase candidate gets `model score + boost × recency weight × |best
 * new item's score|` — the boost is a share of the user's own score scale, so one setting fits
 * every user — and at most `maxItems` of them (the best by that score) are kept. With a numeric
 * boost they compete with the model's new items on that score, in one pool that MMR re-ranks (or
 * the top k are taken from). With `first` they are the head of the list, ordered by that score
 * with boost 1, ahead of the model's items, which fill the rest: the list is then never worse for
 * its repurchases than the repurchases alone (they keep their order and places), and a user
 * without a vector (model score 0) gets the same order by recency on the cold path.
 */
function mergeCandidates(
  hits: readonly SearchHit[],
  again: readonly RepurchasePick[],
  options: { boost: RepurchaseBoost; maxItems: number; lead?: boolean },
): { head: BoostedPick[]; pool: PoolEntry[] } {
  // Without repurchase candidates the pool is the hits themselves (no copies on the hot path).
  if (again.length === 0 || options.maxItems === 0) return { head: [], pool: hits as PoolEntry[] };
  const scale = Math.abs(hits[0]?.score ?? 0) || 1;
  const first = options.boost === 'first' || options.lead === true;
  const boost = options.boost === 'first' ? FIRST_ORDER_BOOST : options.boost;
  const boosted: BoostedPick[] = again
    .map((pick) => ({
      score: pick.score + boost * pick.candidate.weight * scale,
      vector: pick.point.vector,
      pick,
    }))
    .sort((a, b) => b.score - a.score || a.pick.point.id - b.pick.point.id)
    .slice(0, options.maxItems);
  if (first) return { head: boosted, pool: hits as PoolEntry[] };
  const pool: readonly PoolEntry[] = hits;
  // Merge of two lists sorted by score; a repurchase goes first on an equal score.
  const out: PoolEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < boosted.length || j < pool.length) {
    if (j >= pool.length || (i < boosted.length && boosted[i]!.score >= pool[j]!.score))
      out.push(boosted[i++]!);
    else out.push(pool[j++]!);
  }
  return { head: [], pool: out };
}

function repurchaseItem(pick: RepurchasePick, score: number): RecommendedItem {
  return {
    item_idx: pick.point.id,
    score,
    metadata: pick.point.payload,
    bought_before: { times: pick.candidate.times, last_purchased_at: pick.candidate.last_purchased_at },
  };
}

function interleaveItems(lists: ReadonlyArray<readonly ItemMetadata[]>): ItemMetadata[] {
  const byId = new Map<number, ItemMetadata>();
  for (const list of lists) for (const item of list) byId.set(item.item_idx, item);
  return interleave(lists.map((list) => list.map((item) => item.item_idx))).map((id) => byId.get(id)!);
}
