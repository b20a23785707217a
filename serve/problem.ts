/**
 * Problem responses (RFC 9457, `application/problem+json`): the one place where errors become
 * HTTP answers.
 *
 * Handlers throw; `problemFor` decides the status. `HttpProblem`s carry their own status (bad
 * parameters, unknown ids, missing keys); hono's `HTTPException`s (malformed JSON, body too large)
 * keep theirs; dependency failures and timeouts are 503 with `Retry-After`; everything else is a
 * 500 whose detail hides internals. Bad input can therefore never surface as a 500.
 */
import type { z } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { AppError, DependencyError, TimeoutError } from '../lib/errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem's `type` is a URN naming its kind; docs/api.md lists them. */
export const problemType = (slug: string) => `urn:recsys:problem:${slug}`;

export interface ParameterError {
  parameter: string;
  message: string;
  received?: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: ParameterError[];
  [extension: string]: unknown;
}

/** An error that is meant for the client, with its HTTP status and problem fields. */
export class HttpProblem extends AppError {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(slug.toUpperCase().replaceAll('-', '_'), detail, { cause: options.cause });
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

export function invalidParameters(status: 400 | 422, errors: ParameterError[]): HttpProblem {
  const detail = errors
    .map(
      (e) =>
        `${e.parameter}: ${e.message}${e.received === undefined ? '' : ` (got ${JSON.stringify(e.received)})`}`,
    )
    .join('; ');
  return new HttpProblem(
    status,
    status === 400 ? 'invalid-parameter' : 'invalid-body',
    status === 400 ? 'Invalid request parameter' : 'Invalid request body',
    detail,
    { extensions: { errors } },
  );
}

export function notFound(what: string, detail: string): HttpProblem {
  return new HttpProblem(404, 'not-found', `${what} not found`, detail);
}

export function unknownReferences(errors: ParameterError[]): HttpProblem {
  const detail = errors.map((e) => `${e.parameter}: ${e.message}`).join('; ');
  return new HttpProblem(422, 'unknown-reference', 'Unknown user or item', detail, {
    extensions: { errors },
  });
}

export function tooManyNewIds(
  scope: 'client' | 'total',
  wanted: number,
  limit: number,
  retryAfterSeconds: number,
): HttpProblem {
  const whose = scope === 'client' ? 'this client' : 'the API';
  return new HttpProblem(
    429,
    'too-many-new-ids',
    'Too many new ids',
    `the request names ${wanted} customer or article id(s) never seen before, more than ${whose} may number ` +
      `now (${limit} per minute, ${scope === 'client' ? 'NEW_IDS_PER_MINUTE_PER_CLIENT' : 'NEW_IDS_PER_MINUTE'}); retry after ${retryAfterSeconds} s`,
    { headers: { 'retry-after': String(retryAfterSeconds) }, extensions: { scope, limit } },
  );
}

export function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, 'unauthorized', 'Missing or invalid API key', detail, {
    headers: { 'www-authenticate': 'ApiKey header="x-api-key"' },
  });
}

export function noModel(): HttpProblem {
  return new HttpProblem(
    503,
    'no-model',
    'No model version is active',
    'no model version has been published yet',
    {
      headers: { 'retry-after': '30' },
    },
  );
}

/**
 * Flattens zod issues into parameter errors. `raw` looks up what the client sent for a
 * parameter, so the message can show it.
 */
export function parameterErrors(issues: readonly z.core.$ZodIssue[], raw?: (parameter: string) => unknown) {
  const errors: ParameterError[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the alternative the input came closest to (fewest problems).
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      errors.push(...parameterErrors(closest, raw));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        errors.push({ parameter: formatPath([...issue.path, key]), message: 'is not a known parameter' });
      }
      continue;
    }
    const parameter = formatPath(issue.path);
    const value = raw?.(parameter);
    errors.push({
      parameter: parameter || '(body)',
      message: issue.message,
      ...(value === undefined ? {} : { received: typeof value === 'string' ? value : JSON.stringify(value) }),
    });
  }
  return errors;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

export interface ProblemResponse {
  status: number;
  body: ProblemBody;
  headers: Record<string, string>;
  /** True for failures the operator should look at (5xx other than a known dependency outage). */
  unexpected: boolean;
}

export function problemFor(error: unknown, instance?: string): ProblemResponse {
  if (error instanceof HttpProblem) {
    return {
      status: error.status,
      body: {
        type: problemType(error.slug),
        title: error.title,
        status: error.status,
        detail: error.message,
        ...(instance === undefined ? {} : { instance }),
        ...error.extensions,
      },
      headers: error.headers,
      unexpected: false,
    };
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    const slug =
      status === 413
        ? 'body-too-large'
        : status === 415
          ? 'unsupported-media-type'
          : status === 400
            ? 'bad-request'
            : 'http-error';
    const title =
      status === 413
        ? 'Request body too large'
        : status === 415
          ? 'Unsupported media type'
          : status === 400
            ? 'Bad request'
            : 'HTTP error';
    return {
      status,
      body: {
        type: problemType(slug),
        title,
        status,
        detail: error.message || title,
        ...(instance === undefined ? {} : { instance }),
      },
      headers: {},
      unexpected: status >= 500,
    };
  }
  if (error instanceof DependencyError) {
    return {
      status: 503,
      body: {
        type: problemType(error instanceof TimeoutError ? 'dependency-timeout' : 'dependency-unavailable'),
        title: 'A dependency is unavailable',
        status: 503,
        detail: error.message,
        dependency: error.dependency,
        ...(instance === undefined ? {} : { instance }),
      },
      headers: { 'retry-after': '1' },
      unexpected: false,
    };
  }
  return {
    status: 500,
    body: {
      type: problemType('internal'),
      title: 'Internal server error',
      status: 500,
      detail: 'the request could not be completed; the error was logged',
      ...(instance === undefined ? {} : { instance }),
    },
    headers: {},
    unexpected: true,
  };
}

/** The response for a problem; its JSON is written directly (no content negotiation). */
export function problemResponse(problem: ProblemResponse): Response {
  return new Response(JSON.stringify(problem.body), {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...problem.headers },
  });
}
