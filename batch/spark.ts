/**
 * The batch's link to Spark: one session per run, a fast reachability check before any step
 * starts, and small helpers for path-addressed Delta tables.
 */
import { DependencyError } from '../lib/errors.ts';
import {
  type DataFrame,
  isSparkConnectError,
  type SparkConnectError,
  SparkSession,
} from '../lib/spark-connect/index.ts';

/** How long the start-up check waits for the server before giving up. */
export const SPARK_CONNECT_TIMEOUT_MS = 15_000;

/**
 * Opens a session to `remote` and checks that the server answers. An unreachable server fails
 * within a few seconds with a DependencyError naming `SPARK_REMOTE`, instead of each step
 * retrying for a minute.
 */
export async function connectSpark(
  remote: string,
  timeoutMs: number = SPARK_CONNECT_TIMEOUT_MS,
): Promise<{ spark: SparkSession; version: string }> {
  const probe = new SparkSession({ remote, retryPolicy: { attempts: 2, initialDelayMs: 200 } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      probe.version(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    await probe.stop();
    return { spark: new SparkSession({ remote }), version };
  } catch (error) {
    await probe.stop().catch(() => undefined);
    throw new DependencyError('spark', `cannot reach Spark Connect at SPARK_REMOTE=${remote}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

const MISSING_TABLE = new Set(['DELTA_MISSING_DELTA_TABLE', 'PATH_NOT_FOUND', 'DELTA_PATH_DOES_NOT_EXIST']);

function isMissingTable(error: unknown): error is SparkConnectError {
  return isSparkConnectError(error) && MISSING_TABLE.has(error.errorClass ?? '');
}

/** The Delta table at `location`, as a DataFrame (lazy: nothing is read yet). */
export function delta(spark: SparkSession, location: string): DataFrame {
  return spark.read.format('delta').load(location);
}

/** True when a Delta table exists at `location`. */
export async function deltaExists(spark: SparkSession, location: string): Promise<boolean> {
  try {
    await delta(spark, location).schema();
    return true;
  } catch (error) {
    if (isMissingTable(error)) return false;
    throw error;
  }
}

/** The Delta table at `location`, or undefined when there is none. */
export async function deltaIfExists(spark: SparkSession, location: string): Promise<DataFrame | undefined> {
  return (await deltaExists(spark, location)) ? delta(spark, location) : undefined;
}

/** Quotes a location for `delta.\`...\`` in SQL. */
export function deltaRef(location: string): string {
  return `delta.\`${location.replaceAll('`', '``')}\``;
}

/** Quotes a string literal for SQL. */
export function sqlString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
