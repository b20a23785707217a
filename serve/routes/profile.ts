/**
 * `GET /users/{user_idx}/profile` and `GET /users/customer/{customer_id}/profile`.
 */
import { createRoute } from '@hono/zod-openapi';
import type { App, ServeContext } from '../context.ts';
import { notFound } from '../problem.ts';
import { customerIdParams, profileQuery, profileResponse, userIdxParams } from '../schemas.ts';
import { userProfile } from '../services/profile.ts';
import { validationHook } from '../validation.ts';
import { COMMON_PROBLEMS, problem } from './common.ts';

const responses = {
  200: {
    description: 'purchase history and category preferences',
    content: { 'application/json': { schema: profileResponse } },
  },
  ...COMMON_PROBLEMS,
  404: problem('the user is not known'),
};

const byIndex = createRoute({
  method: 'get',
  path: '/users/{user_idx}/profile',
  tags: ['users'],
  summary: "A user's purchase history and category preferences",
  request: { params: userIdxParams, query: profileQuery },
  responses,
});

const byCustomer = createRoute({
  method: 'get',
  path: '/users/customer/{customer_id}/profile',
  tags: ['users'],
  summary: 'Profile of a user given by original customer id',
  request: { params: customerIdParams, query: profileQuery },
  responses,
});

export function registerProfileRoutes(app: App, ctx: ServeContext): void {
  const hook = validationHook();
  app.openapi(
    byIndex,
    async (c) => {
      ctx.metrics.userProfileRequests.inc();
      const query = c.req.valid('query');
      const profile = await userProfile(
        ctx,
        c.req.valid('param').user_idx,
        query.recent_limit,
        query.top_categories,
      );
      return c.json(profile, 200);
    },
    hook as never,
  );
  app.openapi(
    byCustomer,
    async (c) => {
      ctx.metrics.userProfileRequests.inc();
      const { customer_id } = c.req.valid('param');
      const query = c.req.valid('query');
      const userIdx = await ctx.featureStore.userIdxOf(customer_id);
      if (userIdx === null) throw notFound('User', `no user with customer_id ${customer_id}`);
      return c.json(await userProfile(ctx, userIdx, query.recent_limit, query.top_categories), 200);
    },
    hook as never,
  );
}
