/**
 * The archiver's Structured Streaming query: Kafka `user-events` → the Delta table
 * `${LAKE_ROOT}/bronze/events`, partitioned by `event_date`, checkpointed under `CHECKPOINT_DIR`.
 *
 * Every Kafka message becomes one row, valid or not. The JSON value is parsed with `from_json`
 * and checked in SQL against the same rules as the v1 zod schema (lib/events.ts); a row that
 * fails keeps its Kafka coordinates, `is_valid = false`, the reason and the raw text, with the
 * event columns left NULL so nothing downstream can mistake it for an event (preprocess joins on
 * the ids, which a NULL never matches). Keeping them, rather than dropping them, makes the table
 * a complete, countable copy of the topic: one row per offset. Unknown ids are kept as valid
 * rows: the archive records what happened, and preprocess resolves ids against the id maps.
 *
 * Kafka source + Delta sink with a checkpoint give exactly-once output: a restarted query resumes
 * at the checkpointed offsets, and a micro-batch replayed after a crash is not written twice.
 */
import type { DataFrame, SparkSession, StreamingQuery } from '../../lib/spark-connect/index.ts';

/** `from_json` schema of the v1 event (ids as BIGINT so out-of-range values can be detected). */
export const EVENT_JSON_SCHEMA =
  'event_id STRING, event_type STRING, user_idx BIGINT, item_idx BIGINT, ts STRING, source STRING, ' +
  'customer_id STRING, article_id STRING';

/** Columns of `bronze/events`, in order. */
export const ARCHIVE_COLUMNS = [
  'event_id',
  'event_type',
  'user_idx',
  'item_idx',
  'ts',
  'source',
  'event_date',
  'kafka_partition',
  'kafka_offset',
  'kafka_timestamp',
  'is_valid',
  'invalid_reason',
  'raw_value',
  // Added later (Delta appends new columns at the end): the original ids, when the event
  // carried them — how the next batch adopts the numbers the live system gave.
  'customer_id',
  'article_id',
] as const;

// The zod rules, in SQL. Character classes instead of backslash escapes: SQL string literals
// would swallow the backslashes.
const HEX = '[0-9a-fA-F]';
const UUID_PATTERN =
  `^(${HEX}{8}-${HEX}{4}-[1-8]${HEX}{3}-[89abAB]${HEX}{3}-${HEX}{12}` +
  '|00000000-0000-0000-0000-000000000000|[fF]{8}-[fF]{4}-[fF]{4}-[fF]{4}-[fF]{12})$';
const TS_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?Z$';
const FIELDS =
  "array('event_id', 'event_type', 'user_idx', 'item_idx', 'ts', 'source', 'customer_id', 'article_id')";
const MAX_INT = 2147483647;

/** NULL for a valid event, else why not (the first rule it breaks). */
export const INVALID_REASON_SQL = `CASE
  WHEN e IS NULL OR json_object_keys(raw) IS NULL
    OR (e.event_id IS NULL AND e.event_type IS NULL AND e.user_idx IS NULL AND e.item_idx IS NULL AND e.ts IS NULL)
    THEN 'malformed'
  WHEN size(array_except(json_object_keys(raw), ${FIELDS})) > 0 THEN 'invalid: unknown field'
  WHEN e.event_id IS NULL OR NOT e.event_id RLIKE '${UUID_PATTERN}' THEN 'invalid: event_id'
  WHEN e.event_type IS NULL OR e.event_type NOT IN ('click', 'add_to_cart', 'purchase') THEN 'invalid: event_type'
  WHEN e.user_idx IS NULL OR e.user_idx < 0 OR e.user_idx > ${MAX_INT} THEN 'invalid: user_idx'
  WHEN e.item_idx IS NULL OR e.item_idx < 0 OR e.item_idx > ${MAX_INT} THEN 'invalid: item_idx'
  WHEN e.ts IS NULL OR NOT e.ts RLIKE '${TS_PATTERN}' OR try_to_timestamp(e.ts) IS NULL THEN 'invalid: ts'
  WHEN e.source IS NOT NULL AND char_length(e.source) > 64 THEN 'invalid: source'
  WHEN e.customer_id IS NOT NULL AND (char_length(e.customer_id) = 0 OR char_length(e.customer_id) > 64) THEN 'invalid: customer_id'
  WHEN e.article_id IS NOT NULL AND (char_length(e.article_id) = 0 OR char_length(e.article_id) > 64) THEN 'invalid: article_id'
  ELSE NULL
END`;

/** Parses and checks the Kafka source rows (`value`, `partition`, `offset`, `timestamp`). */
export function toArchiveRows(kafkaRows: DataFrame): DataFrame {
  const valid = 'invalid_reason IS NULL';
  return kafkaRows
    .selectExpr(
      'CAST(value AS STRING) AS raw',
      `from_json(CAST(value AS STRING), '${EVENT_JSON_SCHEMA}') AS e`,
      'CAST(partition AS INT) AS kafka_partition',
      'CAST(offset AS BIGINT) AS kafka_offset',
      'timestamp AS kafka_timestamp',
    )
    .selectExpr('*', `${INVALID_REASON_SQL} AS invalid_reason`)
    .selectExpr(
      `IF(${valid}, e.event_id, NULL) AS event_id`,
      `IF(${valid}, e.event_type, NULL) AS event_type`,
      `IF(${valid}, CAST(e.user_idx AS INT), NULL) AS user_idx`,
      `IF(${valid}, CAST(e.item_idx AS INT), NULL) AS item_idx`,
      `IF(${valid}, try_to_timestamp(e.ts), NULL) AS ts`,
      `IF(${valid}, e.source, NULL) AS source`,
      // Event time for valid rows; for the others the broker's time, so they still have a day.
      `IF(${valid}, to_date(try_to_timestamp(e.ts)), to_date(kafka_timestamp)) AS event_date`,
      'kafka_partition',
      'kafka_offset',
      'kafka_timestamp',
      `${valid} AS is_valid`,
      'invalid_reason',
      `IF(${valid}, NULL, raw) AS raw_value`,
      `IF(${valid}, e.customer_id, NULL) AS customer_id`,
      `IF(${valid}, e.article_id, NULL) AS article_id`,
    );
}

export interface ArchiverQueryOptions {
  /** Kafka bootstrap servers as the Spark server reaches them (SPARK_KAFKA_BOOTSTRAP). */
  bootstrapServers: string;
  topic: string;
  /** Absolute location of the Delta table. */
  tablePath: string;
  /** Absolute location of the checkpoint. */
  checkpointPath: string;
  /** Archive what is in the topic now, then stop; otherwise a micro-batch every `triggerSeconds`. */
  availableNow?: boolean;
  /** @default 10 */
  triggerSeconds?: number;
  /** @default 'events-archiver' */
  queryName?: string;
  /** Cap on offsets per micro-batch (backfills in bounded steps). */
  maxOffsetsPerTrigger?: number;
}

/** Starts the query; the session must use UTC so `event_date` is the UTC day. */
export async function startArchiverQuery(
  spark: SparkSession,
  options: ArchiverQueryOptions,
): Promise<StreamingQuery> {
  await spark.conf.set('spark.sql.session.timeZone', 'UTC');
  const source: Record<string, string> = {
    'kafka.bootstrap.servers': options.bootstrapServers,
    subscribe: options.topic,
    startingOffsets: 'earliest',
    // Offsets removed by retention before they were archived are reported in the progress,
    // not a reason to stop archiving the rest.
    failOnDataLoss: 'false',
  };
  if (options.maxOffsetsPerTrigger) source['maxOffsetsPerTrigger'] = String(options.maxOffsetsPerTrigger);
  const rows = toArchiveRows(spark.readStream.format('kafka').options(source).load());
  return (
    rows.writeStream
      .format('delta')
      .outputMode('append')
      .partitionBy('event_date')
      .option('checkpointLocation', options.checkpointPath)
      // A table written before the id columns existed gains them.
      .option('mergeSchema', 'true')
      .trigger(
        options.availableNow
          ? { availableNow: true }
          : { processingTime: `${options.triggerSeconds ?? 10} seconds` },
      )
      .queryName(options.queryName ?? 'events-archiver')
      .start(options.tablePath)
  );
}
