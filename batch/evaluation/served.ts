/**
 * Scores what the API serves: every evaluated user is asked through the same `Recommender` the
 * API uses, once per serving policy, and the lists it returns are scored with the metrics of
 * `../metrics.ts` — over all users and per segment (warm: the user had a vector when asked, cold:
 * not; a caller may add segments). Nothing here ranks items itself.
 */
import type { ServeOptions } from '../../serve/deps.ts';
import type { Recommender } from '../../serve/services/recommendations.ts';
import { type RankingMetrics, rankingMetrics } from '../metrics.ts';
import { K, policyRequest, type ServingPolicy } from './policies.ts';

export interface EvaluationUser {
  userIdx: number;
  /** Distinct items the user bought in the test days. */
  actual: readonly number[];
  /** Segments besides `all`, e.g. `warm` or `cold`. */
  segments: readonly string[];
}

export interface PolicyMetrics extends RankingMetrics {
  policy: string;
  segment: string;
  /** Users whose list came from the trending fallback. */
  trendingShare: number;
}

/** Requests in flight at once: enough for the embedded index to batch a turn's searches. */
const IN_FLIGHT = 64;

/** The served list (item ids, best first) of each user under `policy`. */
export async function servedLists(
  recommender: Recommender,
  policy: ServingPolicy,
  users: readonly EvaluationUser[],
  options: Pick<ServeOptions, 'repurchase'>,
  signal?: AbortSignal,
): Promise<{ lists: number[][]; trending: boolean[] }> {
  const lists: number[][] = new Array(users.length);
  const trending: boolean[] = new Array(users.length);
  for (let start = 0; start < users.length; start += IN_FLIGHT) {
    signal?.throwIfAborted();
    const end = Math.min(users.length, start + IN_FLIGHT);
    const answers = await Promise.all(
      users.slice(start, end).map((u) => recommender.recommend(policyRequest(policy, options, u.userIdx))),
    );
    for (let i = 0; i < answers.length; i++) {
      const items = policy.repurchasesOnly
        ? answers[i]!.items.filter((item) => item.bought_before !== undefined)
        : answers[i]!.items;
      lists[start + i] = items.map((item) => item.item_idx);
      trending[start + i] = answers[i]!.source === 'trending';
    }
  }
  return { lists, trending };
}

/** Metrics of every policy over all users and each segment, in policy order. */
export async function scorePolicies(options: {
  recommender: Recommender;
  policies: readonly ServingPolicy[];
  users: readonly EvaluationUser[];
  serve: Pick<ServeOptions, 'repurchase'>;
  catalogueSize: number;
  /** Segments to report, in order, after `all` (users outside every one still count in `all`). */
  segments: readonly string[];
  onPolicy?: (policy: ServingPolicy, done: number) => void;
  signal?: AbortSignal;
}): Promise<PolicyMetrics[]> {
  const { users } = options;
  const rows: PolicyMetrics[] = [];
  for (const [n, policy] of options.policies.entries()) {
    const { lists, trending } = await servedLists(
      options.recommender,
      policy,
      users,
      options.serve,
      options.signal,
    );
    for (const segment of ['all', ...options.segments]) {
      const members: number[] = [];
      users.forEach((u, i) => {
        if (segment === 'all' || u.segments.includes(segment)) members.push(i);
      });
      const metrics = rankingMetrics(
        members.map((i) => ({ recommended: lists[i]!, actual: users[i]!.actual })),
        K,
        options.catalogueSize,
      );
      const fallback = members.filter((i) => trending[i]).length;
      rows.push({
        policy: policy.name,
        segment,
        ...metrics,
        users: members.length,
        trendingShare: members.length === 0 ? 0 : fallback / members.length,
      });
    }
    options.onPolicy?.(policy, n + 1);
  }
  return rows;
}
