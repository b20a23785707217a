/**
 * Serving policies: named ways of asking the API for a list, compared side by side by the
 * evaluation. A policy is a query string of `GET /recommend/{user_idx}` (parsed by the API's own
 * schema and turned into a pipeline request by the route's own function), so every row of the
 * evaluation table can be reproduced with `curl`, and a policy that scores well is one
 * parameter away from being served.
 */
import { ValidationError } from '../../lib/errors.ts';
import type { ServeOptions } from '../../serve/deps.ts';
import { recommendRequest } from '../../serve/routes/recommend.ts';
import { recommendQuery } from '../../serve/schemas.ts';
import type { RecommendRequest } from '../../serve/services/recommendations.ts';

/** The cut-off of every metric (12 in the H&M competition), sent as `k` unless a policy sets it. */
export const K = 12;

export interface ServingPolicy {
  /** Short name in the table and in `gold/metrics` (letters, digits, `_`). */
  name: string;
  /** Query parameters of `GET /recommend/{user_idx}`, e.g. `diversity_lambda=1`. */
  query: string;
  /**
   * Ask as a caller without a known user (`/recommend/customer/{id}` for an unknown id): the
   * cold-start answer, whoever the user is.
   */
  anonymous?: boolean;
  /**
   * Score only the served items offered as repurchases (`bought_before` set): the repurchase
   * stage alone, as the API ranks it. The list may be shorter than k.
   */
  repurchasesOnly?: boolean;
  description: string;
}

/** The policies every evaluation reports; `default` is what the API serves when asked plainly. */
export const STANDARD_POLICIES: readonly ServingPolicy[] = [
  { name: 'default', query: '', description: 'the API defaults' },
  { name: 'als_only', query: 'repurchase=exclude', description: 'the model alone, purchases excluded' },
  { name: 'no_exclusion', query: 'repurchase=include', description: 'the model alone, purchases kept' },
  {
    name: 'repurchase_only',
    query: 'repurchase=auto',
    repurchasesOnly: true,
    description: 'the repurchase stage alone',
  },
  { name: 'relevance', query: 'diversity_lambda=1', description: 'pure relevance, no MMR' },
  { name: 'trending', query: '', anonymous: true, description: 'trending only (the cold-start list)' },
];

const NAME = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * A policy from the command line: `name=query`, e.g. `lambda05=diversity_lambda=0.5`, or
 * `name=@anonymous` for the cold-start answer. The query is checked against the API's schema
 * at once, so a typo fails before any work is done.
 */
export function parsePolicy(spec: string): ServingPolicy {
  const at = spec.indexOf('=');
  const name = at < 0 ? spec : spec.slice(0, at);
  const rest = at < 0 ? '' : spec.slice(at + 1);
  if (!NAME.test(name)) {
    throw new ValidationError(
      `--policy "${spec}": the name must be lower-case letters, digits and _ (e.g. lambda05=diversity_lambda=0.5)`,
    );
  }
  const anonymous = rest === '@anonymous';
  const policy: ServingPolicy = {
    name,
    query: anonymous ? '' : rest,
    description: anonymous ? 'cold-start answer' : rest || 'the API defaults',
    ...(anonymous ? { anonymous } : {}),
  };
  policyRequest(policy, { repurchase: 'auto' }, 0); // validates the query
  return policy;
}

/** The pipeline request `policy` makes for `userIdx`, exactly as the route would build it. */
export function policyRequest(
  policy: ServingPolicy,
  options: Pick<ServeOptions, 'repurchase'>,
  userIdx: number,
): RecommendRequest {
  const params = Object.fromEntries(new URLSearchParams(policy.query));
  params['k'] ??= String(K);
  const parsed = recommendQuery.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(
      `policy ${policy.name} ("${policy.query}"): ${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return recommendRequest(options, policy.anonymous ? null : userIdx, parsed.data);
}

/** Policies by name: duplicates are an error (the later one would silently win in the table). */
export function policySet(extra: readonly ServingPolicy[]): ServingPolicy[] {
  const all = [...STANDARD_POLICIES, ...extra];
  const seen = new Set<string>();
  for (const p of all) {
    if (seen.has(p.name)) throw new ValidationError(`policy ${p.name} is given twice`);
    seen.add(p.name);
  }
  return all;
}
