/**
 * Writers: `df.write` (batch: save by path, saveAsTable, insertInto) and `df.writeStream`
 * (Structured Streaming: start → StreamingQuery).
 */

import type { DataFrame } from './dataframe.ts';
import { SparkConnectArgumentError } from './errors.ts';
import type { CommandProto } from './proto-types.ts';
import { StreamingQuery } from './streaming.ts';

export type SaveMode = 'append' | 'overwrite' | 'error' | 'errorifexists' | 'ignore';

const SAVE_MODES: Record<SaveMode, string> = {
  append: 'SAVE_MODE_APPEND',
  overwrite: 'SAVE_MODE_OVERWRITE',
  error: 'SAVE_MODE_ERROR_IF_EXISTS',
  errorifexists: 'SAVE_MODE_ERROR_IF_EXISTS',
  ignore: 'SAVE_MODE_IGNORE',
};

type OptionValue = string | number | boolean;
const optionsToStrings = (options: Record<string, OptionValue>): Record<string, string> =>
  Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)]));

/** Builder for a batch write; each call returns a new writer. */
export class DataFrameWriter {
  private readonly df: DataFrame;
  private readonly spec: {
    source?: string;
    mode: string;
    options: Record<string, string>;
    partitionBy: string[];
    sortBy: string[];
    clusterBy: string[];
    bucketBy?: { bucketColumnNames: string[]; numBuckets: number };
  };

  constructor(df: DataFrame, spec?: DataFrameWriter['spec']) {
    this.df = df;
    this.spec = spec ?? {
      mode: 'SAVE_MODE_ERROR_IF_EXISTS',
      options: {},
      partitionBy: [],
      sortBy: [],
      clusterBy: [],
    };
  }

  private with(change: Partial<DataFrameWriter['spec']>): DataFrameWriter {
    return new DataFrameWriter(this.df, { ...this.spec, ...change });
  }

  format(source: string): DataFrameWriter {
    return this.with({ source });
  }
  mode(mode: SaveMode): DataFrameWriter {
    const m = SAVE_MODES[mode.toLowerCase() as SaveMode];
    if (!m)
      throw new SparkConnectArgumentError(
        `unknown save mode ${mode}; use one of ${Object.keys(SAVE_MODES).join(', ')}`,
      );
    return this.with({ mode: m });
  }
  option(key: string, value: OptionValue): DataFrameWriter {
    return this.with({ options: { ...this.spec.options, [key]: String(value) } });
  }
  options(options: Record<string, OptionValue>): DataFrameWriter {
    return this.with({ options: { ...this.spec.options, ...optionsToStrings(options) } });
  }
  partitionBy(...cols: string[]): DataFrameWriter {
    return this.with({ partitionBy: cols.flat() });
  }
  bucketBy(numBuckets: number, ...cols: string[]): DataFrameWriter {
    return this.with({ bucketBy: { numBuckets, bucketColumnNames: cols } });
  }
  sortBy(...cols: string[]): DataFrameWriter {
    return this.with({ sortBy: cols });
  }
  clusterBy(...cols: string[]): DataFrameWriter {
    return this.with({ clusterBy: cols });
  }

  private command(target: {
    path?: string;
    table?: { tableName: string; saveMethod: string };
  }): CommandProto {
    return {
      writeOperation: {
        input: this.df.relation,
        ...(this.spec.source ? { source: this.spec.source } : {}),
        ...target,
        mode: this.spec.mode,
        options: this.spec.options,
        partitioningColumns: this.spec.partitionBy,
        sortColumnNames: this.spec.sortBy,
        clusteringColumns: this.spec.clusterBy,
        ...(this.spec.bucketBy ? { bucketBy: this.spec.bucketBy } : {}),
      },
    };
  }

  /** Writes to `path` (or to the `path` option) with the chosen format. */
  async save(path?: string): Promise<void> {
    await this.df.session.executeCommand(this.command(path === undefined ? {} : { path }));
  }
  async saveAsTable(name: string): Promise<void> {
    await this.df.session.executeCommand(
      this.command({ table: { tableName: name, saveMethod: 'TABLE_SAVE_METHOD_SAVE_AS_TABLE' } }),
    );
  }
  async insertInto(name: string, overwrite = false): Promise<void> {
    const writer = overwrite ? this.mode('overwrite') : this;
    await this.df.session.executeCommand(
      writer.command({ table: { tableName: name, saveMethod: 'TABLE_SAVE_METHOD_INSERT_INTO' } }),
    );
  }
  delta(path: string): Promise<void> {
    return this.format('delta').save(path);
  }
  parquet(path: string): Promise<void> {
    return this.format('parquet').save(path);
  }
  csv(path: string, options: Record<string, OptionValue> = {}): Promise<void> {
    return this.format('csv').options(options).save(path);
  }
  json(path: string): Promise<void> {
    return this.format('json').save(path);
  }
}

export type OutputMode = 'append' | 'complete' | 'update';

/** A trigger: `{ processingTime: '10 seconds' }`, `{ availableNow: true }` or `{ once: true }`. */
export type Trigger = { processingTime: string } | { availableNow: true } | { once: true };

/** Builder for a streaming write; `start()` returns a running StreamingQuery. */
export class DataStreamWriter {
  private readonly df: DataFrame;
  private readonly spec: {
    format?: string;
    options: Record<string, string>;
    outputMode?: string;
    trigger?: Trigger;
    queryName?: string;
    partitionBy: string[];
  };

  constructor(df: DataFrame, spec?: DataStreamWriter['spec']) {
    this.df = df;
    this.spec = spec ?? { options: {}, partitionBy: [] };
  }
  private with(change: Partial<DataStreamWriter['spec']>): DataStreamWriter {
    return new DataStreamWriter(this.df, { ...this.spec, ...change });
  }

  format(source: string): DataStreamWriter {
    return this.with({ format: source });
  }
  option(key: string, value: OptionValue): DataStreamWriter {
    return this.with({ options: { ...this.spec.options, [key]: String(value) } });
  }
  options(options: Record<string, OptionValue>): DataStreamWriter {
    return this.with({ options: { ...this.spec.options, ...optionsToStrings(options) } });
  }
  outputMode(mode: OutputMode): DataStreamWriter {
    return this.with({ outputMode: mode });
  }
  trigger(trigger: Trigger): DataStreamWriter {
    return this.with({ trigger });
  }
  queryName(name: string): DataStreamWriter {
    return this.with({ queryName: name });
  }
  partitionBy(...cols: string[]): DataStreamWriter {
    return this.with({ partitionBy: cols });
  }
  checkpointLocation(path: string): DataStreamWriter {
    return this.option('checkpointLocation', path);
  }

  private command(sink: { path?: string; tableName?: string }): CommandProto {
    const t = this.spec.trigger;
    return {
      writeStreamOperationStart: {
        input: this.df.relation,
        ...(this.spec.format ? { format: this.spec.format } : {}),
        options: this.spec.options,
        partitioningColumnNames: this.spec.partitionBy,
        ...(t && 'processingTime' in t ? { processingTimeInterval: t.processingTime } : {}),
        ...(t && 'availableNow' in t ? { availableNow: true } : {}),
        ...(t && 'once' in t ? { once: true } : {}),
        ...(this.spec.outputMode ? { outputMode: this.spec.outputMode } : {}),
        ...(this.spec.queryName ? { queryName: this.spec.queryName } : {}),
        ...sink,
      },
    };
  }

  /** Starts the query, writing to `path` when given. */
  async start(path?: string): Promise<StreamingQuery> {
    return this.launch(path === undefined ? {} : { path });
  }
  async toTable(tableName: string): Promise<StreamingQuery> {
    return this.launch({ tableName });
  }
  private async launch(sink: { path?: string; tableName?: string }): Promise<StreamingQuery> {
    const responses = await this.df.session.executeCommand(this.command(sink));
    const result = responses.find((r) => r.writeStreamOperationStartResult)?.writeStreamOperationStartResult;
    if (!result?.queryId)
      throw new SparkConnectArgumentError('the server did not return a streaming query id');
    return new StreamingQuery(this.df.session, result.queryId, result.name || undefined);
  }
}
