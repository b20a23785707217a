/**
 * Readers: `spark.read` (batch) and `spark.readStream` (Structured Streaming). Each call
 * returns a new reader; `load()` gives the DataFrame.
 */
import { DataFrame } from './dataframe.ts';
import type { RelationProto } from './proto-types.ts';
import type { SparkSession } from './session.ts';
import { type StructType, toJsonType } from './types.ts';

type OptionValue = string | number | boolean;

interface ReaderSpec {
  format?: string;
  schema?: string;
  options: Record<string, string>;
}

abstract class BaseReader<Self> {
  protected readonly session: SparkSession;
  protected readonly spec: ReaderSpec;
  protected abstract readonly streaming: boolean;

  constructor(session: SparkSession, spec: ReaderSpec = { options: {} }) {
    this.session = session;
    this.spec = spec;
  }
  protected abstract copy(spec: ReaderSpec): Self;

  format(source: string): Self {
    return this.copy({ ...this.spec, format: source });
  }
  /** The schema, as DDL (`'id BIGINT, name STRING'`) or a StructType. */
  schema(schema: string | StructType): Self {
    return this.copy({
      ...this.spec,
      schema: typeof schema === 'string' ? schema : JSON.stringify(toJsonType(schema)),
    });
  }
  option(key: string, value: OptionValue): Self {
    return this.copy({ ...this.spec, options: { ...this.spec.options, [key]: String(value) } });
  }
  options(options: Record<string, OptionValue>): Self {
    const strings = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)]));
    return this.copy({ ...this.spec, options: { ...this.spec.options, ...strings } });
  }

  /** Loads from one path, several paths, or (no path) what the options point at. */
  load(path?: string | string[]): DataFrame {
    const paths = path === undefined ? [] : Array.isArray(path) ? path : [path];
    const relation: RelationProto = {
      read: {
        dataSource: {
          ...(this.spec.format ? { format: this.spec.format } : {}),
          ...(this.spec.schema ? { schema: this.spec.schema } : {}),
          options: this.spec.options,
          paths,
        },
        isStreaming: this.streaming,
      },
    };
    return new DataFrame(this.session, relation);
  }

  /** A catalog table (or view) by name. */
  table(name: string): DataFrame {
    return new DataFrame(this.session, {
      read: {
        namedTable: { unparsedIdentifier: name, options: this.spec.options },
        isStreaming: this.streaming,
      },
    });
  }
}

export class DataFrameReader extends BaseReader<DataFrameReader> {
  protected readonly streaming = false;
  protected copy(spec: ReaderSpec): DataFrameReader {
    return new DataFrameReader(this.session, spec);
  }

  csv(path: string | string[], options: Record<string, OptionValue> = {}): DataFrame {
    return this.format('csv').options(options).load(path);
  }
  parquet(...paths: string[]): DataFrame {
    return this.format('parquet').load(paths);
  }
  json(path: string | string[], options: Record<string, OptionValue> = {}): DataFrame {
    return this.format('json').options(options).load(path);
  }
  orc(path: string | string[]): DataFrame {
    return this.format('orc').load(path);
  }
  text(path: string | string[]): DataFrame {
    return this.format('text').load(path);
  }
  /** A Delta table by path (`versionAsOf` / `timestampAsOf` through `option()`). */
  delta(path: string): DataFrame {
    return this.format('delta').load(path);
  }
}

export class DataStreamReader extends BaseReader<DataStreamReader> {
  protected readonly streaming = true;
  protected copy(spec: ReaderSpec): DataStreamReader {
    return new DataStreamReader(this.session, spec);
  }
  delta(path: string): DataFrame {
    return this.format('delta').load(path);
  }
}
