/**
 * `StreamingQuery`: a handle on a Structured Streaming query running on the server. While a
 * query is active its session sends periodic keep-alive requests, so an idle client does not
 * let the server expire the session (which would stop the query).
 */
import type { ExecutePlanResponseProto } from './proto-types.ts';
import type { SparkSession } from './session.ts';

export interface StreamingQueryStatus {
  message: string;
  isDataAvailable: boolean;
  isTriggerActive: boolean;
  isActive: boolean;
}

/** Spark's progress report (StreamingQueryProgress as JSON); the fields used most are typed. */
export interface StreamingQueryProgress {
  id: string;
  runId: string;
  name: string | null;
  timestamp: string;
  batchId: number;
  numInputRows: number;
  inputRowsPerSecond?: number;
  processedRowsPerSecond?: number;
  sources: { description: string; startOffset: unknown; endOffset: unknown; numInputRows: number }[];
  sink: { description: string; numOutputRows?: number };
  [key: string]: unknown;
}

export interface StreamingQueryException {
  message: string;
  errorClass: string | undefined;
  stackTrace: string | undefined;
}

/** Parses a progress report; `numInputRows` is filled from the sources when the JSON omits it. */
export function parseProgress(json: string): StreamingQueryProgress {
  const progress = JSON.parse(json) as StreamingQueryProgress;
  if (typeof progress.numInputRows !== 'number') {
    progress.numInputRows = (progress.sources ?? []).reduce(
      (sum, s) => sum + (Number(s.numInputRows) || 0),
      0,
    );
  }
  return progress;
}

type QueryResult = NonNullable<ExecutePlanResponseProto['streamingQueryCommandResult']>;

export class StreamingQuery {
  readonly id: string;
  readonly runId: string;
  readonly name: string | undefined;
  private readonly session: SparkSession;
  private released = false;

  constructor(session: SparkSession, queryId: { id: string; runId: string }, name?: string) {
    this.session = session;
    this.id = queryId.id;
    this.runId = queryId.runId;
    this.name = name;
    session.holdOpen(this);
  }

  private async command(command: Record<string, unknown>): Promise<QueryResult> {
    const responses = await this.session.executeCommand({
      streamingQueryCommand: { queryId: { id: this.id, runId: this.runId }, ...command },
    });
    return responses.find((r) => r.streamingQueryCommandResult)?.streamingQueryCommandResult ?? {};
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.session.letGo(this);
  }

  async status(): Promise<StreamingQueryStatus> {
    const s = (await this.command({ status: true })).status ?? {};
    const status = {
      message: s.statusMessage ?? '',
      isDataAvailable: s.isDataAvailable ?? false,
      isTriggerActive: s.isTriggerActive ?? false,
      isActive: s.isActive ?? false,
    };
    if (!status.isActive) this.release();
    return status;
  }

  async isActive(): Promise<boolean> {
    return (await this.status()).isActive;
  }

  /** The latest progress report, or null before the first batch. */
  async lastProgress(): Promise<StreamingQueryProgress | null> {
    const json = (await this.command({ lastProgress: true })).recentProgress?.recentProgressJson ?? [];
    const last = json[json.length - 1];
    return last ? parseProgress(last) : null;
  }

  async recentProgress(): Promise<StreamingQueryProgress[]> {
    const json = (await this.command({ recentProgress: true })).recentProgress?.recentProgressJson ?? [];
    return json.map(parseProgress);
  }

  /**
   * Waits until the query ends, or at most `timeoutMs`. Returns whether it ended; throws the
   * query's failure as a SparkConnectError if it failed.
   */
  async awaitTermination(timeoutMs?: number): Promise<boolean> {
    const result = await this.command({ awaitTermination: timeoutMs === undefined ? {} : { timeoutMs } });
    const terminated = result.awaitTermination?.terminated ?? false;
    if (terminated) this.release();
    return terminated;
  }

  /** Blocks until every input available now is processed (for tests). */
  async processAllAvailable(): Promise<void> {
    await this.command({ processAllAvailable: true });
  }

  /** Stops the query; safe to call twice. */
  async stop(): Promise<void> {
    try {
      await this.command({ stop: true });
    } finally {
      this.release();
    }
  }

  /** The failure that ended the query, or null. */
  async exception(): Promise<StreamingQueryException | null> {
    const e = (await this.command({ exception: true })).exception;
    if (!e?.exceptionMessage) return null;
    return { message: e.exceptionMessage, errorClass: e.errorClass, stackTrace: e.stackTrace };
  }

  async explain(extended = false): Promise<string> {
    return (await this.command({ explain: { extended } })).explain?.result ?? '';
  }
}
