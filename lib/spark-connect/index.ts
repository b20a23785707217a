/**
 * A TypeScript client for Spark Connect (Spark 4.x): sessions, DataFrames, SQL, Arrow results,
 * uploads, writes, ML (ALS) and Structured Streaming. See README.md.
 */
export { decimalToString, int64Value, type Row } from './src/arrow.ts';
export {
  CLIENT_VERSION,
  type ExecuteOptions,
  type FaultInjection,
  type ProgressEvent,
  SparkConnectClient,
} from './src/client.ts';
export {
  Column,
  type ColumnOrName,
  type ColumnOrValue,
  col,
  column,
  expr,
  lit,
  typedLit,
} from './src/column.ts';
export { type ConnectionSettings, DEFAULT_REMOTE, parseConnectionString } from './src/connection.ts';
export {
  DataFrame,
  type ExplainMode,
  GroupedData,
  type JoinType,
  type StorageLevel,
  StorageLevels,
} from './src/dataframe.ts';
export {
  isSparkConnectError,
  SparkConnectArgumentError,
  SparkConnectError,
  type SparkConnectErrorOptions,
  SparkConnectProtocolError,
  SparkSessionClosedError,
} from './src/errors.ts';
export * as functions from './src/functions.ts';
export { ALS, ALSModel, type ALSParams } from './src/ml/als.ts';
export {
  extractProtos,
  findSparkConnectJar,
  GENERATED_PROTO_DIR,
  loadProtocol,
  resolveProtoDir,
} from './src/protos.ts';
export { DataFrameReader, DataStreamReader } from './src/reader.ts';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './src/retry.ts';
export {
  type ProgressHandler,
  RuntimeConfig,
  SESSION_DEFAULTS,
  SparkSession,
  SparkSessionBuilder,
  type SparkSessionOptions,
} from './src/session.ts';
export {
  StreamingQuery,
  type StreamingQueryException,
  type StreamingQueryProgress,
  type StreamingQueryStatus,
} from './src/streaming.ts';
export {
  type ArrayType,
  type AtomicType,
  arrayType,
  BinaryType,
  BooleanType,
  ByteType,
  type DataType,
  DateType,
  type DecimalType,
  DoubleType,
  decimalType,
  FloatType,
  fromArrowType,
  fromProtoType,
  IntegerType,
  LongType,
  type MapType,
  mapType,
  NullType,
  ShortType,
  StringType,
  type StructField,
  type StructType,
  structField,
  structType,
  TimestampNTZType,
  TimestampType,
  toArrowType,
  toDDL,
  toDDLColumns,
} from './src/types.ts';
export { Window, WindowSpec } from './src/window.ts';
export {
  DataFrameWriter,
  DataStreamWriter,
  type OutputMode,
  type SaveMode,
  type Trigger,
} from './src/writer.ts';
