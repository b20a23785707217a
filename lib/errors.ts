/**
 * One error hierarchy for the whole project.
 *
 * Every error the project raises on purpose is an `AppError` with a stable `code`, an optional
 * `cause`, and a `retriable` flag that tells callers (retry helper, Kafka consumer, HTTP edge)
 * whether trying again can help. Edges translate these: HTTP problem responses, dead letters,
 * exit codes.
 */

export interface AppErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** Extra machine-readable facts (a variable name, a file path, a row number). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/** Configuration that cannot be used; the message names the environment variable. */
export class ConfigError extends AppError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`, { details: { variable } });
    this.variable = variable;
  }
}

/** Input from a user or a file that breaks a contract (bad parameter, malformed row or event). */
export class ValidationError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('VALIDATION_FAILED', message, options);
  }
}

/** A thing asked for by id that does not exist. */
export class NotFoundError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

/** A dependency (store, broker, Spark) that did not answer in time or refused; usually retriable. */
export class DependencyError extends AppError {
  readonly dependency: string;
  constructor(dependency: string, message: string, options: AppErrorOptions = {}) {
    super('DEPENDENCY_FAILED', `${dependency}: ${message}`, {
      retriable: true,
      ...options,
      details: { dependency, ...options.details },
    });
    this.dependency = dependency;
  }
}

/** A call that took longer than its budget. */
export class TimeoutError extends DependencyError {
  constructor(dependency: string, timeoutMs: number, options: AppErrorOptions = {}) {
    super(dependency, `timed out after ${timeoutMs} ms`, { ...options, details: { timeoutMs } });
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof AppError && error.retriable;
}

/** A readable one-line message for any thrown value, including its cause chain. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- ');
}
