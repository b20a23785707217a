/**
 * Errors raised by the Spark Connect client.
 *
 * `SparkConnectError` is the root: it carries a stable `code`, a `retriable` flag and the
 * `cause`. Server-side failures become `SparkConnectError` with Spark's `errorClass`
 * (e.g. `PARSE_SYNTAX_ERROR`), `sqlState` and the JVM exception classes; transport failures
 * (server down, stream dropped) keep the gRPC status code.
 */

export interface SparkConnectErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** gRPC status code of the failed call, when there was one. */
  grpcCode?: number;
  /** Spark's error class, e.g. `TABLE_OR_VIEW_NOT_FOUND`. */
  errorClass?: string;
  /** The SQLSTATE Spark attached to the error, e.g. `42P01`. */
  sqlState?: string;
  /** Spark's message parameters for the error class. */
  messageParameters?: Record<string, string>;
  /** JVM exception classes, most specific first. */
  exceptionClasses?: string[];
  /** Server-side stack trace or extra detail, when the server sent it. */
  serverStackTrace?: string;
}

export class SparkConnectError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly grpcCode: number | undefined;
  readonly errorClass: string | undefined;
  readonly sqlState: string | undefined;
  readonly messageParameters: Record<string, string>;
  readonly exceptionClasses: string[];
  readonly serverStackTrace: string | undefined;

  constructor(code: string, message: string, options: SparkConnectErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.grpcCode = options.grpcCode;
    this.errorClass = options.errorClass;
    this.sqlState = options.sqlState;
    this.messageParameters = options.messageParameters ?? {};
    this.exceptionClasses = options.exceptionClasses ?? [];
    this.serverStackTrace = options.serverStackTrace;
  }
}

/** The `.proto` files are missing and could not be extracted; the message says what to run. */
export class SparkConnectProtocolError extends SparkConnectError {
  constructor(message: string, options: SparkConnectErrorOptions = {}) {
    super('SPARK_CONNECT_PROTOCOL', message, options);
  }
}

/** A bad argument or connection string, caught before anything is sent. */
export class SparkConnectArgumentError extends SparkConnectError {
  constructor(message: string) {
    super('SPARK_CONNECT_ARGUMENT', message);
  }
}

/** The session was stopped; create a new one. */
export class SparkSessionClosedError extends SparkConnectError {
  constructor() {
    super('SPARK_SESSION_CLOSED', 'the Spark session is stopped; create a new SparkSession');
  }
}

export function isSparkConnectError(error: unknown): error is SparkConnectError {
  return error instanceof SparkConnectError;
}
