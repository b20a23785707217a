/**
 * The validation hook shared by all routes: a failed zod check becomes a problem response naming
 * each bad parameter, the rule it broke and the value received (400 for path and query, 422 for
 * a well-formed JSON body whose content is wrong). A query parameter given more than once is
 * named as such.
 */
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { invalidParameters, parameterErrors } from './problem.ts';

// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes with different schemas.
export type AnyHook = Hook<any, Env, any, any>;

export function validationHook(onInvalid?: () => void): AnyHook {
  return (result, c) => {
    if (result.success) return;
    onInvalid?.();
    const target = (result as { target?: string }).target;
    const raw =
      target === 'query'
        ? (name: string) => c.req.query(name)
        : target === 'param'
          ? (name: string) => c.req.param(name)
          : undefined;
    let errors = parameterErrors(result.error.issues, raw);
    if (target === 'query') {
      // A parameter given twice (`?k=1&k=50`) arrives as a list: say that, not "expected string".
      errors = errors.map((e) => {
        const values = c.req.queries(e.parameter);
        return values !== undefined && values.length > 1
          ? {
              parameter: e.parameter,
              message: `given ${values.length} times; give it once`,
              received: values.join(','),
            }
          : e;
      });
    }
    throw invalidParameters(target === 'json' ? 422 : 400, errors);
  };
}
