/**
 * API key middleware for the event endpoints.
 *
 * With no keys configured every request passes. Otherwise the request must carry one of the keys
 * in `x-api-key` (or as `Authorization: Bearer <key>`); keys are compared by SHA-256 digest in
 * constant time, so neither the content nor the length of a key leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { unauthorized } from '../problem.ts';

export const API_KEY_HEADER = 'x-api-key';

const digest = (key: string) => createHash('sha256').update(key).digest();

export function apiKeyAuth(keys: readonly string[]): MiddlewareHandler {
  const digests = keys.map(digest);
  return async function requireApiKey(c, next) {
    if (digests.length === 0) return next();
    const bearer = c.req.header('authorization');
    const presented =
      c.req.header(API_KEY_HEADER) ?? (bearer?.startsWith('Bearer ') ? bearer.slice(7).trim() : undefined);
    if (presented === undefined || presented === '') {
      throw unauthorized(`send an API key in the ${API_KEY_HEADER} header`);
    }
    const candidate = digest(presented);
    let match = false;
    for (const known of digests) match = timingSafeEqual(candidate, known) || match;
    if (!match) throw unauthorized('the API key is not valid');
    return next();
  };
}
