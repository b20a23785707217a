/**
 * `GET /recommend/{user_idx}` and `GET /recommend/customer/{customer_id}`: personalized
 * recommendations, trending for cold-start users.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import type { App, ServeContext } from '../context.ts';
import type { ServeOptions } from '../deps.ts';
import { jsonResponse } from '../json.ts';
import { customerIdParams, recommendQuery, recommendResponse, userIdxParams } from '../schemas.ts';
import type { RecommendRequest } from '../services/recommendations.ts';
import { validationHook } from '../validation.ts';
import { COMMON_PROBLEMS, filtersFrom } from './common.ts';

const responses = {
  200: {
    description: 'recommended items, best first',
    content: { 'application/json': { schema: recommendResponse } },
  },
  ...COMMON_PROBLEMS,
};

const byIndex = createRoute({
  method: 'get',
  path: '/recommend/{user_idx}',
  tags: ['recommendations'],
  summary: 'Personalized recommendations for a user',
  description:
    'Items scored by the user vector with filters and exclusions applied inside the search, re-ranked with MMR ' +
    '(`diversity_lambda` < 1) and optionally explained. Users without a vector get trending items ' +
    '(`source: "trending"`), as do all users while the vector index is failing (`fallback_reason`).',
  request: { params: userIdxParams, query: recommendQuery },
  responses,
});

const byCustomer = createRoute({
  method: 'get',
  path: '/recommend/customer/{customer_id}',
  tags: ['recommendations'],
  summary: 'Recommendations for a user given by original customer id',
  description:
    'Same as `/recommend/{user_idx}`; an unknown customer is a cold-start user (`user_idx: null`).',
  request: { params: customerIdParams, query: recommendQuery },
  responses,
});

/**
 * The pipeline request for validated query parameters: what `GET /recommend` asks the
 * recommender. The offline evaluation builds its requests with this function too, so what it
 * scores is what the API serves.
 */
export function recommendRequest(
  options: Pick<ServeOptions, 'repurchase'>,
  userIdx: number | null,
  query: z.output<typeof recommendQuery>,
): RecommendRequest {
  return {
    userIdx,
    k: query.k,
    filters: filtersFrom(query),
    explain: query.explain,
    explainTopK: query.explain_top_k,
    diversityLambda: query.diversity_lambda,
    repurchase:
      query.repurchase ??
      (query.exclude_purchased === undefined
        ? options.repurchase
        : query.exclude_purchased
          ? 'exclude'
          : 'include'),
    ...(query.repurchase_window_days !== undefined
      ? { repurchaseWindowDays: query.repurchase_window_days }
      : {}),
    ...(query.repurchase_boost !== undefined ? { repurchaseBoost: query.repurchase_boost } : {}),
    ...(query.repurchase_fill !== undefined ? { repurchaseFill: query.repurchase_fill } : {}),
    ...(query.trending_segments !== undefined ? { trendingSegments: query.trending_segments === 'on' } : {}),
  };
}

export function registerRecommendRoutes(app: App, ctx: ServeContext): void {
  const hook = validationHook();
  app.openapi(
    byIndex,
    async (c) => {
      const { user_idx } = c.req.valid('param');
      const result = await ctx.recommender.recommend(
        recommendRequest(ctx.options, user_idx, c.req.valid('query')),
      );
      return jsonResponse(c, result, 200);
    },
    hook as never,
  );
  app.openapi(
    byCustomer,
    async (c) => {
      const { customer_id } = c.req.valid('param');
      const userIdx = await ctx.featureStore.userIdxOf(customer_id);
      const result = await ctx.recommender.recommend(
        recommendRequest(ctx.options, userIdx, c.req.valid('query')),
      );
      return jsonResponse(c, result, 200);
    },
    hook as never,
  );
}
