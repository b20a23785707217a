/**
 * Step `csv-to-delta`: raw H&M CSVs → bronze Delta tables, validated where Spark reads them.
 *
 * RAW_DIR is read by the Spark server, not by this process: a local folder for a local server, or
 * any location Spark resolves (`file:`, `s3a:`, `hdfs:`, `abfss:` …) for a cluster. Each raw file
 * (`articles.csv`, `customers.csv`, `transactions_train.csv`, or the same with `.gz`) is read as
 * text and every line is checked in Spark by the rules of lib/hm/rules.ts (batch/raw-checks.ts;
 * the same rules as `npm run data:validate`): accepted lines become typed rows with the schema of
 * lib/hm (ids stay strings, so leading zeros survive), rejected ones land in `bronze/rejects`
 * (`file, line_number, reason_code, reason, raw_line, ingested_at`).
 *
 * All three files are checked before anything is written: a missing file, a wrong header or a
 * file too broken to train on (MAX_REJECT_RATIO) fails the step with its name and its first
 * rejected lines, and the lake keeps its previous bronze tables.
 */
import { TABLE_KINDS, TABLES, type TableKind } from '../lib/hm/schema.ts';
import { unusableFile } from '../lib/hm/validate.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import {
  type CheckedFile,
  checkedLines,
  checkHeader,
  countLines,
  findRawFileInSpark,
  rawLines,
  rejectsOf,
} from './raw-checks.ts';
import { delta } from './spark.ts';

/** The first few rejected lines of a file, for an error message. */
async function firstRejects(file: CheckedFile, fileName: string, n = 5): Promise<string> {
  const rows = await rejectsOf(file, fileName).orderBy('line_number').limit(n).collect();
  return rows.map((r) => `line ${r['line_number']} (${r['reason']})`).join('; ');
}

/**
 * The checks are one wide expression per line. Its generated Java method is larger than the 8,000
 * bytes of bytecode HotSpot compiles, so under Spark's default limit (65,535) whole-stage codegen
 * keeps it and the JVM runs it interpreted. At 8,000 — the value Spark's own documentation of
 * the setting suggests on HotSpot — Spark evaluates such a plan without whole-stage codegen, with
 * compiled expressions: the transactions' check took 31.5 s instead of 56.2 s at medium scale
 * (docs/benchmarks.md). Set for this step only; the session's value is restored after it.
 */
const HUGE_METHOD_LIMIT = 'spark.sql.codegen.hugeMethodLimit';
const HOTSPOT_HUGE_METHOD = 8000;

async function run(ctx: BatchContext): Promise<StepResult> {
  const { conf } = ctx.spark;
  const previous = await conf.getOption(HUGE_METHOD_LIMIT);
  // A lower limit the session already has is kept.
  await conf.set(HUGE_METHOD_LIMIT, Math.min(HOTSPOT_HUGE_METHOD, Number(previous) || HOTSPOT_HUGE_METHOD));
  try {
    return await checkAndLoad(ctx);
  } finally {
    // A restore that fails (the session is gone) must not hide the step's own error.
    await (previous === undefined
      ? conf.unset(HUGE_METHOD_LIMIT)
      : conf.set(HUGE_METHOD_LIMIT, previous)
    ).catch(() => undefined);
  }
}

async function checkAndLoad(ctx: BatchContext): Promise<StepResult> {
  const { spark, paths, lake } = ctx;
  // Every input must exist and have its header before any line is checked.
  const locations = {} as Record<TableKind, string>;
  for (const kind of TABLE_KINDS) {
    locations[kind] = await findRawFileInSpark(spark, paths.raw, kind);
    await checkHeader(spark, locations[kind], kind);
  }

  const files = {} as Record<TableKind, CheckedFile>;
  for (const kind of TABLE_KINDS) {
    ctx.signal.throwIfAborted();
    const table = TABLES[kind];
    ctx.note(`checking ${locations[kind]} in Spark`);
    const checked = checkedLines(
      kind,
      rawLines(spark, locations[kind]),
      kind === 'transactions'
        ? files.articles!.checked.where('reason IS NULL').select('article_id')
        : undefined,
    );
    const { result, counts } = await countLines(checked);
    files[kind] = { location: locations[kind], checked, result, counts };
    const unusable = unusableFile(kind, result, ctx.config.validation.maxRejectRatio);
    if (unusable !== null) {
      throw new BatchError(
        `${unusable}; first rejected lines: ${await firstRejects(files[kind], table.fileName)}`,
      );
    }
    ctx.note(`${table.fileName}: ${result.accepted} rows accepted, ${result.rejected} rejected`);
  }

  let rows = 0;
  for (const kind of TABLE_KINDS) {
    ctx.signal.throwIfAborted();
    const table = TABLES[kind];
    const file = files[kind];
    const location = lake.bronze[kind];
    ctx.note(`writing bronze/${kind}`);
    await file.checked
      .where('reason IS NULL')
      .select(...table.columns.map((c) => c.name))
      .write.format('delta')
      .mode('overwrite')
      .option('overwriteSchema', true)
      .save(location);
    const written = await delta(spark, location).count();
    if (written !== file.result.accepted) {
      throw new BatchError(
        `bronze/${kind} holds ${written} rows but the check accepted ${file.result.accepted} from ${file.location}`,
      );
    }
    rows += written;
  }

  const withRejects = TABLE_KINDS.filter((kind) => files[kind].result.rejected > 0);
  const frames = (withRejects.length > 0 ? withRejects : (['articles'] as const)).map((kind) =>
    rejectsOf(files[kind], TABLES[kind].fileName),
  );
  ctx.note('writing bronze/rejects');
  await frames
    .slice(1)
    .reduce((acc, df) => acc.union(df), frames[0]!)
    .selectExpr('*', 'current_timestamp() AS ingested_at')
    .write.format('delta')
    .mode('overwrite')
    .option('overwriteSchema', true)
    .save(lake.bronze.rejects);

  const rejected = TABLE_KINDS.reduce((n, kind) => n + files[kind].result.rejected, 0);
  return {
    rows,
    summary:
      TABLE_KINDS.map((kind) => {
        const r = files[kind].result;
        return `${kind} ${r.accepted}${r.rejected ? ` (${r.rejected} rejected)` : ''}`;
      }).join(', ') + `; ${rejected} rejects in bronze/rejects`,
  };
}

export const csvToDeltaStep: BatchStep = {
  name: 'csv-to-delta',
  description:
    'check raw CSVs in Spark, load bronze Delta tables with explicit schemas, rejects with reasons',
  run,
};
