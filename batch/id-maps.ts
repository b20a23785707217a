/**
 * Dense, stable integer ids for customers and articles. A map is an append-only Delta table
 * (`<key>, <idx>`): ids already numbered keep their number forever, new ones are numbered after
 * the current maximum in key order, so the numbers stay dense (0..n-1) and a re-run with the same
 * input adds nothing.
 */
import {
  col,
  type DataFrame,
  functions as F,
  type SparkSession,
  Window,
} from '../lib/spark-connect/index.ts';
import type { AssignedId } from '../lib/stores/feature-store.ts';
import { delta, deltaExists } from './spark.ts';

export interface IdMapUpdate {
  /** Ids in the map after the update. */
  total: number;
  /** Ids numbered by this update. */
  added: number;
}

/**
 * Extends the map at `location` with the distinct `keyColumn` values of `keys` that it does not
 * hold yet. The new rows are appended in one Delta commit, so a failure leaves the map as it was.
 */
export async function extendIdMap(
  spark: SparkSession,
  location: string,
  keys: DataFrame,
  keyColumn: string,
  idxColumn: string,
): Promise<IdMapUpdate> {
  const candidates = keys.select(col(keyColumn)).where(col(keyColumn).isNotNull()).distinct();
  const exists = await deltaExists(spark, location);
  const existing = exists ? delta(spark, location) : undefined;
  let next = 0;
  if (existing) {
    const [row] = await existing.agg(F.max(idxColumn).alias('max_idx'), F.count().alias('n')).collect();
    const max = row?.['max_idx'];
    next = max === null || max === undefined ? 0 : Number(max) + 1;
    // Fewer rows than numbers is possible (live numbers adopted before all of them reached the
    // archive); more would mean one number given twice.
    if (Number(row?.['n'] ?? 0) > next) {
      throw new Error(
        `id map ${location} gives a number twice: ${row?.['n']} rows but max ${idxColumn} ${max}`,
      );
    }
  }
  const fresh = existing ? candidates.join(existing.select(keyColumn), keyColumn, 'left_anti') : candidates;
  // One global ordering: new ids are numbered in key order, so the same input always gives the
  // same numbers. (A single-partition window; fine for millions of short keys.)
  const numbered = fresh.select(
    col(keyColumn),
    F.row_number().over(Window.orderBy(keyColumn)).minus(1).plus(next).cast('int').alias(idxColumn),
  );
  await numbered.write.format('delta').mode('append').save(location);
  const [after] = await delta(spark, location).agg(F.count().alias('n')).collect();
  const total = Number(after?.['n'] ?? 0);
  return { total, added: total - next };
}

/** (key, idx) pairs as a DataFrame with the map's columns (`keyColumn` STRING, `idxColumn` INT). */
export function idPairsFrame(
  spark: SparkSession,
  pairs: ReadonlyArray<readonly [string, number]>,
  keyColumn: string,
  idxColumn: string,
): Promise<DataFrame> {
  return spark.createDataFrame(
    pairs.map(([key, idx]) => ({ [keyColumn]: key, [idxColumn]: idx })),
    `${keyColumn} STRING, ${idxColumn} INT`,
  );
}

export interface IdAdoption {
  /** Pairs appended to the map. */
  adopted: number;
  /** Pairs left out because they clash with the map or with each other. */
  conflicts: number;
}

/**
 * Appends the numbers the live system gave (`pairs`: key, idx) that the map lacks, as they are,
 * before `extendIdMap` numbers the batch's own new keys after them — so a customer keeps one
 * number across live numbering and retraining. A pair that clashes (its key has another number
 * in the map, its number belongs to another key, or `pairs` give a key or a number twice) is
 * left out and counted; the feature store's atomic numbering makes that impossible unless two
 * stores numbered against one lake.
 */
export async function adoptIds(
  spark: SparkSession,
  location: string,
  pairs: DataFrame,
  keyColumn: string,
  idxColumn: string,
): Promise<IdAdoption> {
  const distinct = pairs
    .select(col(keyColumn), col(idxColumn).cast('int').alias(idxColumn))
    .where(col(keyColumn).isNotNull().and(col(idxColumn).isNotNull()))
    .distinct();
  const total = await distinct.count();
  if (total === 0) return { adopted: 0, conflicts: 0 };
  const once = (column: string) =>
    distinct.groupBy(column).agg(F.count().alias('n')).where(col('n').eq(1)).select(column);
  let fresh = distinct.join(once(keyColumn), keyColumn, 'semi').join(once(idxColumn), idxColumn, 'semi');
  let known = 0;
  if (await deltaExists(spark, location)) {
    const existing = delta(spark, location);
    known = await distinct
      .join(existing.select(keyColumn, idxColumn), [keyColumn, idxColumn], 'semi')
      .count();
    fresh = fresh
      .join(existing.select(keyColumn), keyColumn, 'left_anti')
      .join(existing.select(idxColumn), idxColumn, 'left_anti');
  }
  const adopted = await fresh.count();
  if (adopted > 0) {
    await fresh.select(col(keyColumn), col(idxColumn)).write.format('delta').mode('append').save(location);
  }
  return { adopted, conflicts: total - known - adopted };
}

/** Numbers keys through the feature store's counter (`FeatureStore.assignIds` of one kind). */
export type AssignThroughStore = (keys: string[]) => Promise<AssignedId[] | null>;

export interface SharedIdMapUpdate extends IdMapUpdate {
  /** Who numbered the new keys: the feature store's counter, or the batch after the map's maximum. */
  numberedBy: 'feature-store' | 'batch';
}

/**
 * `extendIdMap`, but with the new keys numbered by the counter the live system numbers new
 * customers and articles with (`assign`), when the feature store is shared and has a map loaded.
 * The batch and the live API then draw from one atomic counter, so a customer the API numbers
 * while the batch runs (between this step and the load) can never get a number the batch gave
 * another key. The map is append-only as always; until the live numbers reach it (next run,
 * through `adoptIds`) it may have gaps. Without a map in the store (`assign` answers null: a
 * first run, or a store that was emptied) no live numbering can happen, and the batch numbers
 * after the map's maximum.
 */
export async function extendIdMapShared(
  spark: SparkSession,
  location: string,
  keys: DataFrame,
  keyColumn: string,
  idxColumn: string,
  assign: AssignThroughStore | undefined,
): Promise<SharedIdMapUpdate> {
  const local = async (): Promise<SharedIdMapUpdate> => ({
    ...(await extendIdMap(spark, location, keys, keyColumn, idxColumn)),
    numberedBy: 'batch',
  });
  if (!assign || !(await deltaExists(spark, location))) return local();
  const existing = delta(spark, location);
  const fresh = (
    await keys
      .select(col(keyColumn))
      .where(col(keyColumn).isNotNull())
      .distinct()
      .join(existing.select(keyColumn), keyColumn, 'left_anti')
      .orderBy(keyColumn)
      .collect()
  ).map((row) => String(row[keyColumn]));
  const countRows = async () =>
    Number((await delta(spark, location).agg(F.count().alias('n')).collect())[0]?.['n'] ?? 0);
  if (fresh.length === 0) return { total: await countRows(), added: 0, numberedBy: 'feature-store' };
  const assigned = await assign(fresh);
  if (assigned === null) return local();
  const [row] = await existing.agg(F.max(idxColumn).alias('max_idx')).collect();
  const max = Number(row?.['max_idx'] ?? -1);
  const behind = assigned.filter((a) => a.created && a.idx <= max);
  if (behind.length > 0) {
    throw new Error(
      `the feature store numbered ${behind.length} new ${keyColumn}s at or below the id map's highest ` +
        `${idxColumn} ${max} (e.g. ${behind[0]!.key} → ${behind[0]!.idx}): the store and the lake do not ` +
        'belong together (check REDIS_KEY_PREFIX and LAKE_ROOT)',
    );
  }
  const pairs = await idPairsFrame(
    spark,
    assigned.map((a) => [a.key, a.idx] as const),
    keyColumn,
    idxColumn,
  );
  const adoption = await adoptIds(spark, location, pairs, keyColumn, idxColumn);
  if (adoption.conflicts > 0) {
    throw new Error(
      `${adoption.conflicts} numbers the feature store gave clash with the id map ${location}: ` +
        'the store and the lake do not belong together (check REDIS_KEY_PREFIX and LAKE_ROOT)',
    );
  }
  return { total: await countRows(), added: adoption.adopted, numberedBy: 'feature-store' };
}
