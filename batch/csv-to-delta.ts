/**
 * Step `csv-to-delta`: raw H&M CSVs → bronze Delta tables.
 *
 * Each raw file (`articles.csv`, `customers.csv`, `transactions_train.csv`, or the same with
 * `.gz`) is validated in Node first (lib/hm/validate.ts): good rows are copied unchanged to a clean
 * staging CSV, bad rows go to a rejects file with the reason. Spark then reads the clean file with
 * the explicit schema from lib/hm (ids stay strings, so leading zeros survive) in FAILFAST mode and
 * overwrites the bronze table. The rejects of all three files land in `bronze/rejects`
 * (`file, line_number, reason_code, reason, raw_line`).
 *
 * The staging folder (STAGING_DIR) is written by this process and read by the Spark server, so it
 * must be on a file system both see at the same path: true for a local server and for docker
 * compose (which mounts ./data at the same path), not for a remote cluster.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SPARK_CSV_OPTIONS, sparkDdl, TABLE_KINDS, TABLES, type TableKind } from '../lib/hm/schema.ts';
import {
  findRawFile,
  readArticleIds,
  unusableFile,
  type ValidationResult,
  validateRawFile,
} from '../lib/hm/validate.ts';
import { col, type DataFrame, expr, lit } from '../lib/spark-connect/index.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import { hasScheme } from './lake.ts';
import { delta } from './spark.ts';

const REJECTS_DDL = 'line_number BIGINT, reason STRING, raw_line STRING';

async function run(ctx: BatchContext): Promise<StepResult> {
  const { spark, paths, lake } = ctx;
  if (hasScheme(paths.raw) || hasScheme(paths.staging)) {
    throw new BatchError(
      `RAW_DIR and STAGING_DIR must be local folders (the validator reads and writes them); got ${paths.raw}, ${paths.staging}`,
    );
  }
  // Every input must exist before anything is written: a missing file fails with its name.
  const inputs = Object.fromEntries(
    TABLE_KINDS.map((kind) => [kind, findRawFile(paths.raw, TABLES[kind])]),
  ) as Record<TableKind, string>;
  const cleanDir = join(paths.staging, 'clean');
  const rejectsDir = join(paths.staging, 'rejects');
  await mkdir(cleanDir, { recursive: true });
  await mkdir(rejectsDir, { recursive: true });

  const results = {} as Record<TableKind, ValidationResult>;
  const rejectFrames: DataFrame[] = [];
  let rows = 0;
  for (const kind of TABLE_KINDS) {
    ctx.signal.throwIfAborted();
    const table = TABLES[kind];
    const cleanPath = join(cleanDir, table.fileName);
    const rejectsPath = join(rejectsDir, table.fileName.replace(/\.csv$/, '.rejects.csv'));
    ctx.note(`validating ${inputs[kind]}`);
    const result = await validateRawFile(kind, inputs[kind], {
      cleanOut: cleanPath,
      rejectsOut: rejectsPath,
      knownArticleIds:
        kind === 'transactions' ? await readArticleIds(join(cleanDir, TABLES.articles.fileName)) : undefined,
    });
    results[kind] = result;
    const unusable = unusableFile(kind, result, ctx.config.validation.maxRejectRatio);
    if (unusable !== null) {
      throw new BatchError(`${unusable}; each rejected row and its reason: ${rejectsPath}`);
    }
    ctx.note(
      `${table.fileName}: ${result.accepted} rows accepted, ${result.rejected} rejected; writing bronze/${kind}`,
    );

    const location = lake.bronze[kind];
    await spark.read
      .schema(sparkDdl(table))
      .options(SPARK_CSV_OPTIONS)
      .csv(cleanPath)
      .write.format('delta')
      .mode('overwrite')
      .option('overwriteSchema', true)
      .save(location);
    const written = await delta(spark, location).count();
    if (written !== result.accepted) {
      throw new BatchError(
        `bronze/${kind} holds ${written} rows but the validator accepted ${result.accepted} from ${inputs[kind]}`,
      );
    }
    rows += written;
    rejectFrames.push(
      spark.read
        .schema(REJECTS_DDL)
        .options({ ...SPARK_CSV_OPTIONS, mode: 'PERMISSIVE' })
        .csv(rejectsPath)
        .select(
          lit(table.fileName).alias('file'),
          col('line_number'),
          expr("substring_index(reason, ':', 1)").alias('reason_code'),
          col('reason'),
          col('raw_line'),
        ),
    );
  }

  const [rejects] = rejectFrames;
  const allRejects = rejectFrames.slice(1).reduce((acc, df) => acc.union(df), rejects!);
  await allRejects
    .withColumn('ingested_at', expr('current_timestamp()'))
    .write.format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.bronze.rejects);

  const rejected = TABLE_KINDS.reduce((n, kind) => n + results[kind].rejected, 0);
  return {
    rows,
    summary:
      TABLE_KINDS.map(
        (kind) =>
          `${kind} ${results[kind].accepted}${results[kind].rejected ? ` (${results[kind].rejected} rejected)` : ''}`,
      ).join(', ') + `; ${rejected} rejects in bronze/rejects`,
  };
}

export const csvToDeltaStep: BatchStep = {
  name: 'csv-to-delta',
  description: 'validate raw CSVs, load bronze Delta tables with explicit schemas, rejects with reasons',
  run,
};
