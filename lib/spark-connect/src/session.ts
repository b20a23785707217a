/**
 * `SparkSession`: the entry point. Connects to a Spark Connect server from an
 * `sc://host:port/;user_id=...;token=...` string (default `SPARK_REMOTE`, then
 * `sc://localhost:15002`) and builds DataFrames from SQL, tables, files, ranges or local data.
 */
import { randomUUID } from 'node:crypto';
import type * as arrow from 'apache-arrow';
import { type ExecuteOptions, type ProgressEvent, SparkConnectClient } from './client.ts';
import { type ColumnOrValue, lit } from './column.ts';
import { DEFAULT_REMOTE, parseConnectionString } from './connection.ts';
import { DataFrame } from './dataframe.ts';
import { SparkConnectArgumentError } from './errors.ts';
import type {
  CommandProto,
  ExecutePlanResponseProto,
  ExpressionProto,
  PlanProto,
  RelationProto,
} from './proto-types.ts';
import { DataFrameReader, DataStreamReader } from './reader.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
import { fromProtoType, type StructType } from './types.ts';
import { DEFAULT_UPLOAD_OPTIONS, localRelation, toBatches, type UploadOptions } from './upload.ts';

export interface SparkSessionOptions {
  /** Connection string. @default process.env.SPARK_REMOTE ?? 'sc://localhost:15002' */
  remote?: string;
  /** User id sent in the user context. @default the connection string's user_id, else $USER */
  userId?: string;
  /** Session id (a UUID). @default the connection string's session_id, else a new UUID */
  sessionId?: string;
  /** Retry policy for UNAVAILABLE and dropped streams. @default 6 attempts, 100 ms → 10 s */
  retryPolicy?: Partial<RetryPolicy>;
  /** Use reattachable executions. @default true */
  reattachable?: boolean;
  /** Largest gRPC message accepted. @default 512 MiB */
  maxMessageBytes?: number;
  /** Interval of keep-alive requests while a streaming query runs. @default 60000 */
  keepAliveIntervalMs?: number;
  /** How `createDataFrame` splits uploads. @default 16 MiB per chunk */
  upload?: Partial<UploadOptions>;
}

export const SESSION_DEFAULTS = {
  keepAliveIntervalMs: 60_000,
  maxMessageBytes: 512 * 2 ** 20,
  reattachable: true,
};

export type ProgressHandler = (event: ProgressEvent) => void;

/** Spark's runtime configuration for this session. */
export class RuntimeConfig {
  private readonly client: SparkConnectClient;
  constructor(client: SparkConnectClient) {
    this.client = client;
  }
  async set(key: string, value: string | number | boolean): Promise<void> {
    await this.client.config({ set: { pairs: [{ key, value: String(value) }] } });
  }
  /** The value, or `defaultValue` when unset; throws SparkConnectError for an unknown key without default. */
  async get(key: string, defaultValue?: string): Promise<string | undefined> {
    const response =
      defaultValue === undefined
        ? await this.client.config({ get: { keys: [key] } })
        : await this.client.config({ getWithDefault: { pairs: [{ key, value: defaultValue }] } });
    return response.pairs?.[0]?.value;
  }
  /** The value, or undefined when unset (never throws for unknown keys). */
  async getOption(key: string): Promise<string | undefined> {
    const response = await this.client.config({ getOption: { keys: [key] } });
    return response.pairs?.[0]?.value;
  }
  async getAll(prefix?: string): Promise<Record<string, string>> {
    const response = await this.client.config({ getAll: prefix ? { prefix } : {} });
    // The server strips the prefix from the keys it returns; give back full keys.
    return Object.fromEntries((response.pairs ?? []).map((p) => [`${prefix ?? ''}${p.key}`, p.value ?? '']));
  }
  async unset(key: string): Promise<void> {
    await this.client.config({ unset: { keys: [key] } });
  }
  async isModifiable(key: string): Promise<boolean> {
    const response = await this.client.config({ isModifiable: { keys: [key] } });
    return response.pairs?.[0]?.value === 'true';
  }
}

/** `SparkSession.builder.remote(...).config(...).getOrCreate()`, as in PySpark. */
export class SparkSessionBuilder {
  private options: SparkSessionOptions = {};
  private readonly confs: Record<string, string> = {};
  remote(url: string): this {
    this.options = { ...this.options, remote: url };
    return this;
  }
  userId(userId: string): this {
    this.options = { ...this.options, userId };
    return this;
  }
  config(key: string, value: string | number | boolean): this {
    this.confs[key] = String(value);
    return this;
  }
  withOptions(options: SparkSessionOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }
  /** Connects and applies the configs. */
  async getOrCreate(): Promise<SparkSession> {
    const session = new SparkSession(this.options);
    for (const [key, value] of Object.entries(this.confs)) await session.conf.set(key, value);
    return session;
  }
  create(): Promise<SparkSession> {
    return this.getOrCreate();
  }
}

export class SparkSession {
  readonly client: SparkConnectClient;
  readonly conf: RuntimeConfig;
  readonly remote: string;
  private planIds = 0;
  private readonly progressHandlers = new Set<ProgressHandler>();
  private readonly heldOpenBy = new Set<object>();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private readonly keepAliveIntervalMs: number;
  private readonly uploadOptions: UploadOptions;
  private stopped = false;
  /** Keep-alive requests sent so far (they run while streaming queries are active). */
  keepAlivesSent = 0;

  static get builder(): SparkSessionBuilder {
    return new SparkSessionBuilder();
  }

  constructor(options: SparkSessionOptions = {}) {
    this.remote = options.remote ?? process.env['SPARK_REMOTE'] ?? DEFAULT_REMOTE;
    const settings = parseConnectionString(this.remote);
    this.client = new SparkConnectClient({
      host: settings.host,
      port: settings.port,
      useSsl: settings.useSsl,
      token: settings.token,
      userId: options.userId ?? settings.userId ?? process.env['USER'] ?? 'spark',
      sessionId: options.sessionId ?? settings.sessionId ?? randomUUID(),
      userAgent: settings.userAgent,
      headers: settings.headers,
      retryPolicy: { ...DEFAULT_RETRY_POLICY, ...options.retryPolicy },
      reattachable: options.reattachable ?? SESSION_DEFAULTS.reattachable,
      maxMessageBytes: options.maxMessageBytes ?? SESSION_DEFAULTS.maxMessageBytes,
    });
    this.conf = new RuntimeConfig(this.client);
    this.keepAliveIntervalMs = options.keepAliveIntervalMs ?? SESSION_DEFAULTS.keepAliveIntervalMs;
    this.uploadOptions = { ...DEFAULT_UPLOAD_OPTIONS, ...options.upload };
  }

  get sessionId(): string {
    return this.client.sessionId;
  }
  get userId(): string {
    return this.client.userId;
  }
  get clientType(): string {
    return this.client.clientType;
  }
  get isStopped(): boolean {
    return this.stopped;
  }

  /** @internal a fresh plan id for a new relation. */
  nextPlanId(): number {
    return this.planIds++;
  }

  /** The Spark version of the server, e.g. `4.0.0`. */
  async version(): Promise<string> {
    const response = await this.client.analyze<{ sparkVersion?: { version?: string } }>({ sparkVersion: {} });
    return response.sparkVersion?.version ?? '';
  }

  // ------------------------------------------------------------------ DataFrame sources

  get read(): DataFrameReader {
    return new DataFrameReader(this);
  }
  get readStream(): DataStreamReader {
    return new DataStreamReader(this);
  }

  table(name: string): DataFrame {
    return this.read.table(name);
  }

  /** `range(end)` or `range(start, end, step?, numPartitions?)`: one `id` bigint column. */
  range(
    startOrEnd: number | bigint,
    end?: number | bigint,
    step: number | bigint = 1,
    numPartitions?: number,
  ): DataFrame {
    const [start, stop] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
    return new DataFrame(this, {
      range: {
        start: String(start),
        end: String(stop),
        step: String(step),
        ...(numPartitions === undefined ? {} : { numPartitions }),
      },
    });
  }

  /**
   * Runs SQL now (DDL, DML such as MERGE INTO, and queries alike) and returns its DataFrame.
   * Parameters: `{ name: value }` for `:name` markers, or an array for `?` markers.
   */
  async sql(query: string, args?: Record<string, ColumnOrValue> | ColumnOrValue[]): Promise<DataFrame> {
    const sql: NonNullable<RelationProto['sql']> = { query };
    if (Array.isArray(args)) sql.posArguments = args.map((a) => lit(a).expr);
    else if (args) {
      sql.namedArguments = Object.fromEntries(
        Object.entries(args).map(([k, v]) => [k, lit(v).expr]),
      ) as Record<string, ExpressionProto>;
    }
    const responses = await this.executeCommand({
      sqlCommand: { input: { common: { planId: this.nextPlanId() }, sql } },
    });
    const relation = responses.find((r) => r.sqlCommandResult)?.sqlCommandResult?.relation;
    if (!relation) throw new SparkConnectArgumentError('the server returned no relation for the SQL command');
    return new DataFrame(
      this,
      relation.common?.planId === undefined ? relation : { ...relation, common: {} },
    );
  }

  /**
   * A DataFrame from local data: rows (objects keyed by column, or arrays in column order)
   * with a schema (DDL string such as `'id BIGINT, v ARRAY<FLOAT>'` or a StructType), or an
   * Arrow table (schema optional; columns are re-typed to match it).
   */
  async createDataFrame(
    data: readonly unknown[] | arrow.Table,
    schema?: StructType | string,
  ): Promise<DataFrame> {
    const struct = typeof schema === 'string' ? await this.parseSchema(schema) : schema;
    if (!struct && Array.isArray(data)) {
      throw new SparkConnectArgumentError(
        'createDataFrame(rows) needs a schema: a DDL string or a StructType',
      );
    }
    const { schema: finalSchema, batches } = toBatches(data, struct, this.uploadOptions.chunkBytes);
    const relation = await localRelation(this.client, finalSchema, batches, this.uploadOptions, () =>
      this.nextPlanId(),
    );
    return new DataFrame(this, relation);
  }

  /** Parses a DDL column list (`'a INT, b STRING'`) on the server. */
  async parseSchema(ddl: string): Promise<StructType> {
    const response = await this.client.analyze<{ ddlParse?: { parsed?: never } }>({
      ddlParse: { ddlString: ddl },
    });
    const type = fromProtoType(response.ddlParse?.parsed);
    if (type.kind !== 'struct') throw new SparkConnectArgumentError(`not a column list: ${ddl}`);
    return type;
  }

  // ------------------------------------------------------------------ execution

  /** Registers a handler for Spark's execution progress of every operation of this session. */
  registerProgressHandler(handler: ProgressHandler): void {
    this.progressHandlers.add(handler);
  }
  removeProgressHandler(handler: ProgressHandler): void {
    this.progressHandlers.delete(handler);
  }
  clearProgressHandlers(): void {
    this.progressHandlers.clear();
  }

  /** @internal runs a plan, feeding progress to the per-call and session handlers. */
  execute(plan: PlanProto, options: ExecuteOptions = {}): AsyncGenerator<ExecutePlanResponseProto> {
    const own = options.onProgress;
    const onProgress =
      own || this.progressHandlers.size > 0
        ? (event: ProgressEvent) => {
            own?.(event);
            for (const handler of this.progressHandlers) handler(event);
          }
        : undefined;
    return this.client.execute(plan, { ...options, ...(onProgress ? { onProgress } : {}) });
  }

  /** @internal runs a command plan to completion and returns its responses. */
  async executeCommand(
    command: CommandProto,
    options: ExecuteOptions = {},
  ): Promise<ExecutePlanResponseProto[]> {
    const out: ExecutePlanResponseProto[] = [];
    for await (const response of this.execute({ command }, options)) out.push(response);
    return out;
  }

  /** Interrupts every running operation of this session; returns their ids. */
  async interruptAll(): Promise<string[]> {
    return (await this.client.interrupt({ interruptType: 'INTERRUPT_TYPE_ALL' })).interruptedIds ?? [];
  }
  async interruptTag(tag: string): Promise<string[]> {
    return (
      (await this.client.interrupt({ interruptType: 'INTERRUPT_TYPE_TAG', operationTag: tag }))
        .interruptedIds ?? []
    );
  }
  async interruptOperation(operationId: string): Promise<string[]> {
    return (
      (await this.client.interrupt({ interruptType: 'INTERRUPT_TYPE_OPERATION_ID', operationId }))
        .interruptedIds ?? []
    );
  }

  // ------------------------------------------------------------------ lifecycle

  /** @internal keeps the server session alive while `owner` (a running stream) needs it. */
  holdOpen(owner: object): void {
    this.heldOpenBy.add(owner);
    if (this.keepAliveTimer || this.stopped) return;
    this.keepAliveTimer = setInterval(() => {
      this.keepAlivesSent++;
      this.client.config({ getOption: { keys: ['spark.sql.session.timeZone'] } }).catch(() => {});
    }, this.keepAliveIntervalMs);
    this.keepAliveTimer.unref();
  }
  /** @internal */
  letGo(owner: object): void {
    this.heldOpenBy.delete(owner);
    if (this.heldOpenBy.size === 0 && this.keepAliveTimer) {
      clearInterval(this.keepAliveTimer);
      this.keepAliveTimer = undefined;
    }
  }

  /** Releases the server-side session (stopping its streaming queries) and closes the channel; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    this.heldOpenBy.clear();
    await this.client.close();
  }
}
