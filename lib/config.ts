/**
 * Typed configuration, read once from environment variables.
 *
 * Every variable has a documented default (see docs/configuration.md) so `npm start` runs with
 * none set. `loadConfig()` validates everything up front and throws a `ConfigError` whose message
 * names the variable and what was wrong with it, so a bad deployment fails at start-up, not at
 * the first request.
 */
import { z } from 'zod';
import { ConfigError } from './errors.ts';

type Env = Record<string, string | undefined>;

// ---------------------------------------------------------------------------------------------
// Field parsers. Each takes the raw string (undefined when unset) and returns the typed value.
// ---------------------------------------------------------------------------------------------

const nonEmpty = z.string().trim().min(1, 'must not be empty');

function str(defaultValue: string) {
  return nonEmpty.default(defaultValue);
}

function optionalStr() {
  return z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v));
}

function int(defaultValue: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? defaultValue);
}

function num(defaultValue: number, min = -Infinity, max = Infinity) {
  return z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().min(min).max(max))
    .optional()
    .transform((v) => v ?? defaultValue);
}

function bool(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .optional()
    .transform((v) => v ?? defaultValue);
}

/** A boolean that may be left unset (undefined), e.g. a legacy switch another variable replaced. */
function optionalBool() {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .optional();
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z
    .enum(values, { message: `must be one of ${values.join(', ')}` })
    .optional()
    .transform((v) => v ?? defaultValue);
}

function list(defaultValue: string[]) {
  return z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? defaultValue
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    );
}

function nonEmptyList(defaultValue: string[]) {
  return list(defaultValue).pipe(z.array(z.string()).min(1, 'must list at least one value'));
}

const port = (d: number) => int(d, 1, 65535);

// ---------------------------------------------------------------------------------------------
// The variables. Keep docs/configuration.md in step with this table.
// ---------------------------------------------------------------------------------------------

const variables = {
  NODE_ENV: str('development'),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),

  // Adapters
  FEATURE_STORE: oneOf(['memory', 'redis'], 'memory'),
  VECTOR_INDEX: oneOf(['embedded', 'qdrant'], 'embedded'),
  /** Embedded index: answer the searches of one event-loop turn together (see docs/stores.md). */
  VECTOR_INDEX_BATCH: oneOf(['auto', 'on', 'off'], 'auto'),
  EVENT_BUS: oneOf(['memory', 'kafka'], 'memory'),

  // Spark
  SPARK_REMOTE: str('sc://localhost:15002').pipe(
    z.string().regex(/^sc:\/\/[^/:]+(:\d+)?(\/.*)?$/, 'must look like sc://host:port'),
  ),
  SPARK_DRIVER_MEMORY: str('4g'),
  SPARK_MASTER: str('local[*]'),
  /** Kafka bootstrap servers as Spark sees them (differs from KAFKA_BROKERS when Spark runs in a container). */
  SPARK_KAFKA_BOOTSTRAP: optionalStr(),

  // Kafka
  KAFKA_BROKERS: nonEmptyList(['localhost:9092']),
  KAFKA_CLIENT_ID: str('recsys'),
  KAFKA_TOPIC_EVENTS: str('user-events'),
  KAFKA_TOPIC_DLQ: str('user-events-dlq'),
  KAFKA_PARTITIONS: int(3, 1, 1000),
  KAFKA_REPLICATION_FACTOR: int(1, 1, 32),
  KAFKA_CONSUMER_GROUP: str('recsys-updater'),
  KAFKA_SESSION_TIMEOUT_MS: int(10_000, 6000, 300_000),
  KAFKA_SSL: bool(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: optionalStr(),
  KAFKA_SASL_PASSWORD: optionalStr(),

  // Redis
  REDIS_URL: str('redis://localhost:6379').pipe(
    z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
  ),
  REDIS_CLUSTER_NODES: list([]),
  REDIS_KEY_PREFIX: z.string().default('recsys:'),
  REDIS_CLIENT_CACHE: int(50_000, 0, 10_000_000),

  // Qdrant
  QDRANT_URL: str('http://localhost:6333').pipe(z.url({ message: 'must be a URL' })),
  QDRANT_API_KEY: optionalStr(),
  QDRANT_COLLECTION: str('items'),
  QDRANT_HNSW_M: int(32, 4, 128),
  QDRANT_HNSW_EF_CONSTRUCT: int(256, 4, 4096),
  QDRANT_HNSW_EF: int(512, 1, 4096),
  QDRANT_EXACT_SEARCH: oneOf(['never', 'filtered', 'always'], 'filtered'),
  QDRANT_UPSERT_BATCH: int(256, 1, 65_536),
  QDRANT_UPSERT_CONCURRENCY: int(2, 1, 64),
  QDRANT_BULK_RETRY_MS: int(30_000, 0),
  QDRANT_INDEX_WAIT_MS: int(300_000, 0),
  STORE_BULK_TIMEOUT_MS: int(60_000, 1),

  // Paths
  RAW_DIR: str('data/raw'),
  MAX_REJECT_RATIO: num(0.01, 0, 1),
  LAKE_ROOT: str('data/lake'),
  MODELS_DIR: str('data/models'),
  CHECKPOINT_DIR: str('data/checkpoints'),

  // API
  HOST: str('0.0.0.0'),
  PORT: port(8000),
  API_KEYS: list([]),
  CORS_ORIGINS: list([]),
  BODY_LIMIT_BYTES: int(1_048_576, 1024),
  STORE_TIMEOUT_MS: int(250, 1),
  DEPENDENCY_WATCH_MS: int(500, 0),
  RECOMMEND_OVERSAMPLING: int(4, 1, 100),
  REPURCHASE: oneOf(['auto', 'include', 'exclude'], 'auto'),
  REPURCHASE_WINDOW_DAYS: z
    .string()
    .trim()
    .regex(/^(auto|\d+(\.\d+)?)$/, 'must be auto or a number of days')
    .optional()
    .transform((v): number | 'auto' => (v === undefined || v === 'auto' ? 'auto' : Number(v))),
  REPURCHASE_HALF_LIFE_DAYS: num(3, 0),
  REPURCHASE_MAX_ITEMS: int(12, 0, 50),
  REPURCHASE_BOOST: z
    .string()
    .trim()
    .regex(/^(auto|first|\d+(\.\d+)?)$/, 'must be auto, first or a number ≥ 0')
    .optional()
    .transform((v): number | 'first' | 'auto' =>
      v === undefined || v === 'auto' ? 'auto' : v === 'first' ? 'first' : Number(v),
    ),
  REPURCHASE_FILL: oneOf(['auto', 'model', 'trending'], 'auto'),
  TRENDING_SEGMENTS: oneOf(['auto', 'on', 'off'], 'auto'),
  EXCLUDE_PURCHASED: optionalBool(),
  EVENT_PUBLISH_TIMEOUT_MS: int(5000, 1),
  NEW_IDS_PER_MINUTE: int(6000, 0),
  NEW_IDS_PER_MINUTE_PER_CLIENT: int(600, 0),
  EXPLAIN_HISTORY: int(20, 1, 50),
  TRENDING_CACHE_TTL_MS: int(30_000, 0),
  API_WORKERS: int(1, 1, 64),

  // Batch / model
  ALS_RANK: int(64, 1, 1024),
  ALS_MAX_ITER: int(15, 1, 1000),
  ALS_REG_PARAM: num(0.2, 0),
  ALS_ALPHA: num(10, 0),
  ALS_SEED: int(42),
  ALS_BLOCKS: z
    .string()
    .trim()
    .regex(/^(auto|[1-9]\d*)$/, 'must be auto or a whole number ≥ 1')
    .optional()
    .transform((v): number | 'auto' => (v === undefined || v === 'auto' ? 'auto' : Number(v))),
  HOLDOUT_DAYS: int(7, 0, 365),
  REFIT: bool(true),
  DECAY_HALF_LIFE_DAYS: num(30, 0),
  TRENDING_DAYS: int(7, 1, 365),
  TRENDING_HALF_LIFE_DAYS: num(0, 0),
  STAGING_DIR: str('data/staging'),
  BATCH_WEIGHT_CLICK: num(0.1, 0),
  BATCH_WEIGHT_ADD_TO_CART: num(0.3, 0),
  EVAL_MAX_USERS: int(50_000, 0),
  EVAL_PROTOCOL: oneOf(['holdout', 'prequential', 'both'], 'both'),
  EVAL_STREAM_DAYS: int(2, 1, 365),

  // Stream / online learning
  EVENT_WEIGHT_CLICK: num(0.05, 0, 1),
  EVENT_WEIGHT_ADD_TO_CART: num(0.15, 0, 1),
  EVENT_WEIGHT_PURCHASE: num(0.3, 0, 1),
  UPDATER_DEBOUNCE_MS: int(20, 0, 60_000),
  UPDATER_METRICS_PORT: port(9464),
  ARCHIVER_TRIGGER_SECONDS: int(10, 1, 3600),

  // Tracing
  TRACING_ENABLED: bool(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: str('http://localhost:4318'),
  TRACING_SAMPLE_RATIO: num(1, 0, 1),
  OTEL_SERVICE_NAME: optionalStr(),
} as const;

type Variables = typeof variables;
type RawConfig = { [K in keyof Variables]: z.output<Variables[K]> };

function parseVariables(env: Env): RawConfig {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(variables)) {
    const raw = env[name];
    const result = (schema as z.ZodType).safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      const shown = raw === undefined ? 'unset' : JSON.stringify(raw);
      throw new ConfigError(name, `${issue?.message ?? 'invalid value'} (got ${shown})`);
    }
    out[name] = result.data;
  }
  return out as RawConfig;
}

function hostPort(value: string, variable: string, defaultPort: number): { host: string; port: number } {
  const match = /^(?:[a-z]+:\/\/)?(?:[^@/]*@)?([^:/]+)(?::(\d+))?/.exec(value);
  if (!match?.[1]) throw new ConfigError(variable, `cannot read host and port from ${JSON.stringify(value)}`);
  const p = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(p >= 1 && p <= 65535))
    throw new ConfigError(variable, `port out of range in ${JSON.stringify(value)}`);
  return { host: match[1], port: p };
}

export function loadConfig(env: Env = process.env) {
  const v = parseVariables(env);
  if (v.KAFKA_SASL_MECHANISM && !(v.KAFKA_SASL_USERNAME && v.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError(
      'KAFKA_SASL_USERNAME',
      'is required (with KAFKA_SASL_PASSWORD) when KAFKA_SASL_MECHANISM is set',
    );
  }
  for (const broker of v.KAFKA_BROKERS) hostPort(broker, 'KAFKA_BROKERS', 9092);
  if (v.EXCLUDE_PURCHASED !== undefined && env['REPURCHASE'] !== undefined && env['REPURCHASE'] !== '') {
    throw new ConfigError(
      'EXCLUDE_PURCHASED',
      'is replaced by REPURCHASE (exclude = true, include = false); set one of the two, not both',
    );
  }
  const repurchase =
    v.EXCLUDE_PURCHASED === undefined ? v.REPURCHASE : v.EXCLUDE_PURCHASED ? 'exclude' : 'include';
  // The client cache of Redis reads is not used on Redis Cluster: 0 entries there, whatever
  // REDIS_CLIENT_CACHE says (the one value both the store and the batching rule below read).
  const clientCacheEntries = v.REDIS_CLUSTER_NODES.length === 0 ? v.REDIS_CLIENT_CACHE : 0;
  return {
    env: v.NODE_ENV,
    logLevel: v.LOG_LEVEL,
    adapters: {
      featureStore: v.FEATURE_STORE,
      vectorIndex: v.VECTOR_INDEX,
      eventBus: v.EVENT_BUS,
      // auto: batch when the user's state is read in process (the memory store, or Redis with the
      // API's client cache on a single node); with plain Redis, I/O already splits requests into
      // stages, and the extra turn cost more than it saved (docs/benchmarks.md).
      batchSearches:
        v.VECTOR_INDEX_BATCH === 'on' ||
        (v.VECTOR_INDEX_BATCH === 'auto' && (v.FEATURE_STORE === 'memory' || clientCacheEntries > 0)),
    },
    spark: {
      remote: v.SPARK_REMOTE,
      endpoint: hostPort(v.SPARK_REMOTE, 'SPARK_REMOTE', 15002),
      driverMemory: v.SPARK_DRIVER_MEMORY,
      master: v.SPARK_MASTER,
      kafkaBootstrap: v.SPARK_KAFKA_BOOTSTRAP ?? v.KAFKA_BROKERS.join(','),
    },
    kafka: {
      brokers: v.KAFKA_BROKERS,
      clientId: v.KAFKA_CLIENT_ID,
      topics: { events: v.KAFKA_TOPIC_EVENTS, deadLetter: v.KAFKA_TOPIC_DLQ },
      partitions: v.KAFKA_PARTITIONS,
      replicationFactor: v.KAFKA_REPLICATION_FACTOR,
      consumerGroup: v.KAFKA_CONSUMER_GROUP,
      sessionTimeoutMs: v.KAFKA_SESSION_TIMEOUT_MS,
      ssl: v.KAFKA_SSL,
      sasl: v.KAFKA_SASL_MECHANISM
        ? {
            mechanism: v.KAFKA_SASL_MECHANISM,
            username: v.KAFKA_SASL_USERNAME!,
            password: v.KAFKA_SASL_PASSWORD!,
          }
        : undefined,
    },
    redis: {
      url: v.REDIS_URL,
      endpoint: hostPort(v.REDIS_URL, 'REDIS_URL', 6379),
      clusterNodes: v.REDIS_CLUSTER_NODES,
      keyPrefix: v.REDIS_KEY_PREFIX,
      clientCacheEntries,
    },
    qdrant: {
      url: v.QDRANT_URL,
      apiKey: v.QDRANT_API_KEY,
      collection: v.QDRANT_COLLECTION,
      hnswM: v.QDRANT_HNSW_M,
      hnswEfConstruct: v.QDRANT_HNSW_EF_CONSTRUCT,
      hnswEf: v.QDRANT_HNSW_EF,
      exactSearch: v.QDRANT_EXACT_SEARCH,
      upsertBatchSize: v.QDRANT_UPSERT_BATCH,
      upsertConcurrency: v.QDRANT_UPSERT_CONCURRENCY,
      bulkRetryMs: v.QDRANT_BULK_RETRY_MS,
      indexWaitMs: v.QDRANT_INDEX_WAIT_MS,
    },
    /** Budgets of store calls off the request path (bulk loads, version switches). */
    stores: { bulkTimeoutMs: v.STORE_BULK_TIMEOUT_MS },
    paths: { raw: v.RAW_DIR, lake: v.LAKE_ROOT, models: v.MODELS_DIR, checkpoints: v.CHECKPOINT_DIR },
    validation: { maxRejectRatio: v.MAX_REJECT_RATIO },
    api: {
      host: v.HOST,
      port: v.PORT,
      apiKeys: v.API_KEYS,
      corsOrigins: v.CORS_ORIGINS,
      bodyLimitBytes: v.BODY_LIMIT_BYTES,
      storeTimeoutMs: v.STORE_TIMEOUT_MS,
      dependencyWatchMs: v.DEPENDENCY_WATCH_MS,
      oversampling: v.RECOMMEND_OVERSAMPLING,
      repurchase,
      repurchaseStage: {
        windowDays: v.REPURCHASE_WINDOW_DAYS,
        halfLifeDays: v.REPURCHASE_HALF_LIFE_DAYS,
        maxItems: v.REPURCHASE_MAX_ITEMS,
        boost: v.REPURCHASE_BOOST,
        fill: v.REPURCHASE_FILL,
      },
      publishTimeoutMs: v.EVENT_PUBLISH_TIMEOUT_MS,
      newIds: { perClient: v.NEW_IDS_PER_MINUTE_PER_CLIENT, total: v.NEW_IDS_PER_MINUTE },
      explainHistory: v.EXPLAIN_HISTORY,
      trendingTtlMs: v.TRENDING_CACHE_TTL_MS,
      trendingSegments: v.TRENDING_SEGMENTS,
      workers: v.API_WORKERS,
    },
    model: {
      rank: v.ALS_RANK,
      maxIter: v.ALS_MAX_ITER,
      regParam: v.ALS_REG_PARAM,
      alpha: v.ALS_ALPHA,
      seed: v.ALS_SEED,
      blocks: v.ALS_BLOCKS,
      holdoutDays: v.HOLDOUT_DAYS,
      refit: v.REFIT,
      decayHalfLifeDays: v.DECAY_HALF_LIFE_DAYS,
      trendingDays: v.TRENDING_DAYS,
      trendingHalfLifeDays: v.TRENDING_HALF_LIFE_DAYS,
    },
    batch: {
      stagingDir: v.STAGING_DIR,
      /** Weights of archived stream events relative to one purchase. */
      eventWeights: { click: v.BATCH_WEIGHT_CLICK, add_to_cart: v.BATCH_WEIGHT_ADD_TO_CART, purchase: 1 },
      evalMaxUsers: v.EVAL_MAX_USERS,
      evalProtocol: v.EVAL_PROTOCOL,
      evalStreamDays: v.EVAL_STREAM_DAYS,
    },
    stream: {
      weights: {
        click: v.EVENT_WEIGHT_CLICK,
        add_to_cart: v.EVENT_WEIGHT_ADD_TO_CART,
        purchase: v.EVENT_WEIGHT_PURCHASE,
      },
      debounceMs: v.UPDATER_DEBOUNCE_MS,
      metricsPort: v.UPDATER_METRICS_PORT,
      archiverTriggerSeconds: v.ARCHIVER_TRIGGER_SECONDS,
    },
    tracing: {
      enabled: v.TRACING_ENABLED,
      endpoint: v.OTEL_EXPORTER_OTLP_ENDPOINT,
      sampleRatio: v.TRACING_SAMPLE_RATIO,
      serviceName: v.OTEL_SERVICE_NAME,
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;

/** Names of every variable `loadConfig` reads, for docs and tests. */
export const CONFIG_VARIABLES = Object.keys(variables) as (keyof Variables)[];
