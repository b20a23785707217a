/**
 * `GET /items/{item_idx}/similar` and `GET /items/article/{article_id}/similar`.
 */
import { createRoute } from '@hono/zod-openapi';
import type { App, ServeContext } from '../context.ts';
import { jsonResponse } from '../json.ts';
import { HttpProblem, notFound } from '../problem.ts';
import { articleIdParams, itemIdxParams, similarQuery, similarResponse } from '../schemas.ts';
import { similarItems } from '../services/similar.ts';
import { validationHook } from '../validation.ts';
import { COMMON_PROBLEMS, filtersFrom, problem } from './common.ts';

const responses = {
  200: {
    description: 'the most similar items (cosine similarity), best first',
    content: { 'application/json': { schema: similarResponse } },
  },
  ...COMMON_PROBLEMS,
  404: problem('the item is not in the active model'),
};

const byIndex = createRoute({
  method: 'get',
  path: '/items/{item_idx}/similar',
  tags: ['items'],
  summary: 'Items similar to an item',
  request: { params: itemIdxParams, query: similarQuery },
  responses,
});

const byArticle = createRoute({
  method: 'get',
  path: '/items/article/{article_id}/similar',
  tags: ['items'],
  summary: 'Items similar to an item given by original article id',
  request: { params: articleIdParams, query: similarQuery },
  responses,
});

export function registerSimilarRoutes(app: App, ctx: ServeContext): void {
  const counter = ctx.metrics.similarItemsRequests;
  const hook = validationHook(() => counter.inc({ status: 'invalid' }));
  const answer = async (
    itemIdx: number | null,
    articleId: string | null,
    query: typeof similarQuery._zod.output,
  ) => {
    try {
      if (itemIdx === null) throw notFound('Item', `no item with article_id ${articleId}`);
      const result = await similarItems(
        {
          versions: ctx.recommender.versions,
          vectorIndex: ctx.vectorIndex,
          oversampling: ctx.options.oversampling,
        },
        itemIdx,
        query.k,
        filtersFrom(query),
      );
      counter.inc({ status: 'ok' });
      return result;
    } catch (error) {
      counter.inc({ status: error instanceof HttpProblem && error.status === 404 ? 'not_found' : 'error' });
      throw error;
    }
  };
  app.openapi(
    byIndex,
    async (c) =>
      jsonResponse(c, await answer(c.req.valid('param').item_idx, null, c.req.valid('query')), 200),
    hook as never,
  );
  app.openapi(
    byArticle,
    async (c) => {
      const { article_id } = c.req.valid('param');
      const itemIdx = await ctx.featureStore.itemIdxOf(article_id);
      return jsonResponse(c, await answer(itemIdx, article_id, c.req.valid('query')), 200);
    },
    hook as never,
  );
}
