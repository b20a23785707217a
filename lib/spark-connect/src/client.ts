/**
 * The gRPC transport: one channel to a Spark Connect server and one session on it.
 *
 * Owns the session id, user context and client type sent with every request; retries unary
 * calls on UNAVAILABLE with backoff; runs plans as reattachable executions (a dropped or
 * server-closed stream continues with ReattachExecute from the last response id, and the
 * operation is released with ReleaseExecute); turns gRPC failures into `SparkConnectError`
 * with Spark's error class and SQL state.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { SparkConnectError, SparkSessionClosedError } from './errors.ts';
import type { ExecutePlanResponseProto, PlanProto } from './proto-types.ts';
import { loadProtocol, type Protocol } from './protos.ts';
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy, sleep, withRetry } from './retry.ts';

const SERVICE = '/spark.connect.SparkConnectService/';
export const CLIENT_VERSION = '0.1.0';
const FLOW_CONTROL_WINDOW = 32 * 2 ** 20;
/** Responses between ReleaseExecute(until) calls that let the server drop what we already have. */
const RELEASE_EVERY = 64;
const CLIENT_TYPE = `spark-connect-ts/${CLIENT_VERSION} node/${process.versions.node}`;

export interface ClientOptions {
  host: string;
  port: number;
  useSsl: boolean;
  token: string | undefined;
  userId: string;
  sessionId: string;
  userAgent: string | undefined;
  headers: Record<string, string>;
  retryPolicy: RetryPolicy;
  /** Reattachable execution (ReattachExecute after a dropped stream). @default true */
  reattachable: boolean;
  /** Largest gRPC message accepted, in bytes. @default 512 MiB */
  maxMessageBytes: number;
}

/** Spark's per-stage progress of one running operation. */
export interface ProgressEvent {
  operationId: string;
  stages: {
    stageId: number;
    numTasks: number;
    completedTasks: number;
    inputBytesRead: number;
    done: boolean;
  }[];
  totalTasks: number;
  completedTasks: number;
  inflightTasks: number;
}

export interface ExecuteOptions {
  onProgress?: (event: ProgressEvent) => void;
  /** Operation tags (usable with `session.interruptTag`). */
  tags?: string[];
  signal?: AbortSignal;
}

/** Testing hook: drop the response stream after this many responses, as if the network failed. */
export interface FaultInjection {
  dropStreamEvery?: number;
}

/** google.protobuf.Any as protobufjs returns it (its built-in definition keeps snake_case). */
interface GrpcStatusDetail {
  type_url?: string;
  typeUrl?: string;
  value: Uint8Array;
}

const num = (v: string | number | undefined): number => (v === undefined ? 0 : Number(v));

function isTransient(error: unknown): boolean {
  if (error instanceof SparkConnectError) return error.retriable;
  const code = (error as { code?: number }).code;
  return code === grpc.status.UNAVAILABLE;
}

export class SparkConnectClient {
  readonly sessionId: string;
  readonly userId: string;
  readonly clientType: string;
  /** Set by tests to simulate dropped streams. */
  faultInjection: FaultInjection = {};
  /** Counters for observability: reattached streams and retried failures. */
  readonly stats = { executions: 0, reattaches: 0, retries: 0 };
  private readonly options: ClientOptions;
  private readonly grpc: grpc.Client;
  private readonly proto: Protocol;
  private readonly metadata: grpc.Metadata;
  private serverSideSessionId: string | undefined;
  private closed = false;
  private readonly inflight = new Set<grpc.ClientReadableStream<unknown>>();

  constructor(options: ClientOptions) {
    this.options = options;
    this.proto = loadProtocol();
    this.sessionId = options.sessionId;
    this.userId = options.userId;
    this.clientType = options.userAgent ? `${options.userAgent} ${CLIENT_TYPE}` : CLIENT_TYPE;
    const credentials = options.useSsl ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    this.grpc = new grpc.Client(`${options.host}:${options.port}`, credentials, {
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      // No client keep-alive pings: Spark's gRPC server only permits one every 5 minutes and
      // answers more frequent ones with GOAWAY ENHANCE_YOUR_CALM, killing long result streams.
      'grpc.primary_user_agent': this.clientType,
      // Results arrive as multi-MiB Arrow batches: a large HTTP/2 window keeps the server
      // sending instead of waiting for WINDOW_UPDATEs from a 64 KiB default.
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
    });
    this.metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(options.headers)) this.metadata.set(key, value);
    if (options.token) this.metadata.set('authorization', `Bearer ${options.token}`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Fields every request carries. */
  private base(): Record<string, unknown> {
    return {
      sessionId: this.sessionId,
      userContext: { userId: this.userId, userName: this.userId },
      clientType: this.clientType,
      ...(this.serverSideSessionId ? { clientObservedServerSideSessionId: this.serverSideSessionId } : {}),
    };
  }

  private serializer(typeName: string): (value: object) => Buffer {
    const type = this.proto.type(typeName);
    return (value) => {
      const message = type.fromObject(value);
      return Buffer.from(type.encode(message).finish());
    };
  }

  private deserializer<T>(typeName: string): (bytes: Buffer) => T {
    const type = this.proto.type(typeName);
    return (bytes) => {
      const message = type.decode(bytes);
      const object = type.toObject(message, { longs: String, enums: String, oneofs: true }) as T & {
        serverSideSessionId?: string;
      };
      if (object.serverSideSessionId) this.serverSideSessionId = object.serverSideSessionId;
      return object;
    };
  }

  private ensureOpen(): void {
    if (this.closed) throw new SparkSessionClosedError();
  }

  /** One unary call, retried on UNAVAILABLE. */
  async unary<T>(method: string, requestType: string, responseType: string, body: object): Promise<T> {
    this.ensureOpen();
    return withRetry(this.options.retryPolicy, isTransient, () =>
      this.unaryOnce<T>(method, requestType, responseType, body),
    );
  }

  private unaryOnce<T>(method: string, requestType: string, responseType: string, body: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.grpc.makeUnaryRequest(
        SERVICE + method,
        this.serializer(requestType),
        this.deserializer<T>(responseType),
        { ...this.base(), ...body },
        this.metadata,
        {},
        (error, response) => {
          if (error) this.toError(error).then(reject, reject);
          else resolve(response as T);
        },
      );
    });
  }

  analyze<T = Record<string, unknown>>(body: object): Promise<T> {
    return this.unary<T>(
      'AnalyzePlan',
      'spark.connect.AnalyzePlanRequest',
      'spark.connect.AnalyzePlanResponse',
      body,
    );
  }

  config(operation: object): Promise<{ pairs?: { key: string; value?: string }[]; warnings?: string[] }> {
    return this.unary('Config', 'spark.connect.ConfigRequest', 'spark.connect.ConfigResponse', { operation });
  }

  interrupt(body: object): Promise<{ interruptedIds?: string[] }> {
    return this.unary('Interrupt', 'spark.connect.InterruptRequest', 'spark.connect.InterruptResponse', body);
  }

  /** Uploads artifacts (e.g. `cache/<sha256>` blobs) through the client-streaming AddArtifacts call. */
  addArtifacts(requests: object[]): Promise<{ artifacts?: { name: string; isCrcSuccessful?: boolean }[] }> {
    this.ensureOpen();
    return withRetry(
      this.options.retryPolicy,
      isTransient,
      () =>
        new Promise((resolve, reject) => {
          const call = this.grpc.makeClientStreamRequest(
            `${SERVICE}AddArtifacts`,
            this.serializer('spark.connect.AddArtifactsRequest'),
            this.deserializer<{ artifacts?: { name: string; isCrcSuccessful?: boolean }[] }>(
              'spark.connect.AddArtifactsResponse',
            ),
            this.metadata,
            {},
            (error, response) => {
              if (error) this.toError(error).then(reject, reject);
              else resolve(response!);
            },
          );
          for (const request of requests) call.write({ ...this.base(), ...request });
          call.end();
        }),
    );
  }

  artifactStatus(names: string[]): Promise<{ statuses?: Record<string, { exists?: boolean }> }> {
    return this.unary(
      'ArtifactStatus',
      'spark.connect.ArtifactStatusesRequest',
      'spark.connect.ArtifactStatusesResponse',
      { names },
    );
  }

  private openStream(method: 'ExecutePlan' | 'ReattachExecute', body: object) {
    const call = this.grpc.makeServerStreamRequest(
      SERVICE + method,
      this.serializer(
        method === 'ExecutePlan'
          ? 'spark.connect.ExecutePlanRequest'
          : 'spark.connect.ReattachExecuteRequest',
      ),
      this.deserializer<ExecutePlanResponseProto>('spark.connect.ExecutePlanResponse'),
      { ...this.base(), ...body },
      this.metadata,
      {},
    );
    this.inflight.add(call);
    call.on('close', () => this.inflight.delete(call));
    return call;
  }

  /**
   * Runs a plan and yields every response. With reattachable execution a stream that drops or
   * that the server closes early is resumed from the last response id; breaking out of the
   * loop cancels and releases the operation.
   */
  async *execute(plan: PlanProto, options: ExecuteOptions = {}): AsyncGenerator<ExecutePlanResponseProto> {
    this.ensureOpen();
    const reattachable = this.options.reattachable;
    const operationId = randomUUID();
    const request = {
      operationId,
      plan,
      requestOptions: reattachable ? [{ reattachOptions: { reattachable: true } }] : [],
      tags: options.tags ?? [],
    };
    let lastResponseId: string | undefined;
    let complete = false;
    let failures = 0;
    let received = 0;
    let call = this.openStream('ExecutePlan', request);
    this.stats.executions++;
    try {
      while (!complete) {
        try {
          for await (const response of call as AsyncIterable<ExecutePlanResponseProto>) {
            options.signal?.throwIfAborted();
            failures = 0;
            received++;
            if (response.responseId) lastResponseId = response.responseId;
            if (response.resultComplete) complete = true;
            if (response.executionProgress && options.onProgress) {
              options.onProgress(progressEvent(operationId, response.executionProgress));
            }
            yield response;
            if (reattachable && lastResponseId && received % RELEASE_EVERY === 0) {
              this.release(operationId, { releaseUntil: { responseId: lastResponseId } });
            }
            const every = this.faultInjection.dropStreamEvery;
            if (every && received % every === 0 && !complete) {
              call.cancel();
              throw new SparkConnectError('SPARK_CONNECT_TRANSPORT', 'stream dropped (fault injection)', {
                retriable: true,
                grpcCode: grpc.status.UNAVAILABLE,
              });
            }
          }
          if (complete || !reattachable) break;
          // The server closed the stream before the result was complete: continue it.
          this.stats.reattaches++;
          call = this.openStream('ReattachExecute', {
            operationId,
            ...(lastResponseId ? { lastResponseId } : {}),
          });
        } catch (raw) {
          const error = raw instanceof SparkConnectError ? raw : await this.toError(raw as grpc.ServiceError);
          const notFound = error.errorClass === 'INVALID_HANDLE.OPERATION_NOT_FOUND';
          if (!reattachable || !(error.retriable || (notFound && lastResponseId === undefined))) throw error;
          if (++failures >= this.options.retryPolicy.attempts) throw error;
          await sleep(backoffDelay(this.options.retryPolicy, failures - 1));
          this.ensureOpen();
          this.stats.retries++;
          if (!notFound || lastResponseId !== undefined) this.stats.reattaches++;
          call =
            notFound && lastResponseId === undefined
              ? this.openStream('ExecutePlan', request)
              : this.openStream('ReattachExecute', {
                  operationId,
                  ...(lastResponseId ? { lastResponseId } : {}),
                });
        }
      }
    } finally {
      call.cancel();
      if (reattachable && !this.closed) this.release(operationId, { releaseAll: {} });
    }
  }

  /** Runs a command plan and returns all its responses (commands return few, small responses). */
  async executeAll(plan: PlanProto, options: ExecuteOptions = {}): Promise<ExecutePlanResponseProto[]> {
    const out: ExecutePlanResponseProto[] = [];
    for await (const response of this.execute(plan, options)) out.push(response);
    return out;
  }

  /** Fire-and-forget ReleaseExecute: the server frees buffered responses; failures do not matter. */
  private release(operationId: string, release: object): void {
    this.grpc.makeUnaryRequest(
      `${SERVICE}ReleaseExecute`,
      this.serializer('spark.connect.ReleaseExecuteRequest'),
      (b: Buffer) => b,
      { ...this.base(), operationId, ...release },
      this.metadata,
      {},
      () => {},
    );
  }

  /** Turns a gRPC failure into a `SparkConnectError`, with the details Spark attached. */
  async toError(error: grpc.ServiceError | Error): Promise<SparkConnectError> {
    if (error instanceof SparkConnectError) return error;
    const serviceError = error as grpc.ServiceError;
    const grpcCode = serviceError.code;
    let message = (serviceError.details || error.message).trim();
    let errorClass: string | undefined;
    let sqlState: string | undefined;
    let messageParameters: Record<string, string> | undefined;
    let exceptionClasses: string[] | undefined;
    let serverStackTrace: string | undefined;
    const detailsBin = serviceError.metadata?.get('grpc-status-details-bin')[0];
    if (detailsBin instanceof Buffer) {
      try {
        const status = this.proto.type('google.rpc.Status');
        const decoded = status.toObject(status.decode(detailsBin)) as {
          message?: string;
          details?: GrpcStatusDetail[];
        };
        for (const detail of decoded.details ?? []) {
          if (!(detail.type_url ?? detail.typeUrl ?? '').endsWith('google.rpc.ErrorInfo')) continue;
          const infoType = this.proto.type('google.rpc.ErrorInfo');
          const info = infoType.toObject(infoType.decode(detail.value)) as {
            reason?: string;
            metadata?: Record<string, string>;
          };
          const meta = info.metadata ?? {};
          errorClass = meta['errorClass'];
          sqlState = meta['sqlState'];
          if (meta['messageParameters']) messageParameters = JSON.parse(meta['messageParameters']);
          if (meta['classes']) exceptionClasses = JSON.parse(meta['classes']);
          else if (info.reason) exceptionClasses = [info.reason];
          if (meta['stackTrace']) serverStackTrace = meta['stackTrace'];
          if (meta['errorId'] && !this.closed) {
            const full = await this.fetchErrorDetails(meta['errorId']).catch(() => undefined);
            if (full) {
              message = full.message?.trim() || message;
              errorClass = full.errorClass ?? errorClass;
              sqlState = full.sqlState ?? sqlState;
              messageParameters = full.messageParameters ?? messageParameters;
              serverStackTrace = full.stackTrace ?? serverStackTrace;
            }
          }
        }
      } catch {
        // Details are a bonus; the gRPC status message is still there.
      }
    }
    const retriable =
      grpcCode === grpc.status.UNAVAILABLE ||
      (grpcCode === grpc.status.INTERNAL && /INVALID_CURSOR\.DISCONNECTED/.test(message));
    return new SparkConnectError(errorClass ? 'SPARK_SERVER_ERROR' : 'SPARK_CONNECT_TRANSPORT', message, {
      cause: error,
      retriable,
      grpcCode,
      ...(errorClass ? { errorClass } : {}),
      ...(sqlState ? { sqlState } : {}),
      ...(messageParameters ? { messageParameters } : {}),
      ...(exceptionClasses ? { exceptionClasses } : {}),
      ...(serverStackTrace ? { serverStackTrace } : {}),
    });
  }

  private async fetchErrorDetails(errorId: string) {
    const response = await this.unaryOnce<{
      rootErrorIdx?: number;
      errors?: {
        message?: string;
        errorTypeHierarchy?: string[];
        stackTrace?: { declaringClass: string; methodName: string; fileName?: string; lineNumber: number }[];
        sparkThrowable?: {
          errorClass?: string;
          sqlState?: string;
          messageParameters?: Record<string, string>;
        };
      }[];
    }>(
      'FetchErrorDetails',
      'spark.connect.FetchErrorDetailsRequest',
      'spark.connect.FetchErrorDetailsResponse',
      {
        errorId,
      },
    );
    const root = response.errors?.[response.rootErrorIdx ?? 0];
    if (!root) return undefined;
    return {
      message: root.message,
      errorClass: root.sparkThrowable?.errorClass,
      sqlState: root.sparkThrowable?.sqlState,
      messageParameters: root.sparkThrowable?.messageParameters,
      stackTrace: root.stackTrace
        ?.map((s) => `at ${s.declaringClass}.${s.methodName}(${s.fileName ?? 'unknown'}:${s.lineNumber})`)
        .join('\n'),
    };
  }

  /** Releases the server-side session and closes the channel; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const call of this.inflight) call.cancel();
    try {
      await this.unaryOnce(
        'ReleaseSession',
        'spark.connect.ReleaseSessionRequest',
        'spark.connect.ReleaseSessionResponse',
        {
          allowReconnect: false,
        },
      );
    } catch {
      // The server may already be gone; closing must still succeed.
    } finally {
      this.closed = true;
      this.grpc.close();
    }
  }

  /** The protobuf type by full name, for callers that encode messages themselves. */
  type(name: string): protobuf.Type {
    return this.proto.type(name);
  }
}

function progressEvent(
  operationId: string,
  progress: NonNullable<ExecutePlanResponseProto['executionProgress']>,
): ProgressEvent {
  const stages = (progress.stages ?? []).map((s) => ({
    stageId: num(s.stageId),
    numTasks: num(s.numTasks),
    completedTasks: num(s.numCompletedTasks),
    inputBytesRead: num(s.inputBytesRead),
    done: s.done ?? false,
  }));
  return {
    operationId,
    stages,
    totalTasks: stages.reduce((sum, s) => sum + s.numTasks, 0),
    completedTasks: stages.reduce((sum, s) => sum + s.completedTasks, 0),
    inflightTasks: num(progress.numInflightTasks),
  };
}

export { DEFAULT_RETRY_POLICY };
