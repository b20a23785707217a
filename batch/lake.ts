/**
 * Where the batch keeps its tables. Every Delta table lives under `LAKE_ROOT` in a medallion
 * layout (bronze = raw rows with explicit types, silver = cleaned and keyed, gold = model outputs),
 * addressed by path so no Hive metastore is needed.
 *
 * Paths travel to the Spark server, whose working directory is not ours: local paths are made
 * absolute here, while URIs with a scheme (`s3a://`, `hdfs://`, `file:`) are passed unchanged.
 */
import { isAbsolute, resolve } from 'node:path';

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/** True for `s3a://bucket`, `hdfs://nn/x`, `file:/x`; false for `data/lake` or `/abs/path`. */
export function hasScheme(location: string): boolean {
  // A Windows drive letter (`C:\`) is a path, not a scheme.
  return SCHEME.test(location) && !/^[a-zA-Z]:[\\/]/.test(location);
}

/** A location Spark can open: URIs unchanged, local paths absolute against `cwd`. */
export function resolveLocation(location: string, cwd: string = process.cwd()): string {
  if (hasScheme(location)) return location.replace(/\/+$/, '');
  const absolute = isAbsolute(location) ? location : resolve(cwd, location);
  return absolute.length > 1 ? absolute.replace(/\/+$/, '') : absolute;
}

/** Joins path segments onto a location with `/`, whatever its scheme. */
export function joinLocation(base: string, ...parts: string[]): string {
  const tail = parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
  if (tail.length === 0) return base;
  return base.endsWith('/') ? `${base}${tail}` : `${base}/${tail}`;
}

/** Every table location of the lake, from one root. */
export function lakeTables(root: string) {
  const at = (...parts: string[]) => joinLocation(root, ...parts);
  return {
    root,
    bronze: {
      articles: at('bronze', 'articles'),
      customers: at('bronze', 'customers'),
      transactions: at('bronze', 'transactions'),
      /** Rows the validator refused, with the file, line and reason. */
      rejects: at('bronze', 'rejects'),
      /** Written by the stream archiver (Kafka → Delta); may not exist. */
      events: at('bronze', 'events'),
    },
    silver: {
      userIds: at('silver', 'user_ids'),
      itemIds: at('silver', 'item_ids'),
      items: at('silver', 'items'),
      /** Every purchase with dense ids: transactions and archived purchase events. */
      purchases: at('silver', 'purchases'),
      /** Training interactions: one row per (user, item) with a decayed weight. */
      interactions: at('silver', 'interactions'),
      /** The same over every day, hold-out included (the refit's training set). */
      interactionsAll: at('silver', 'interactions_all'),
      /** Hold-out purchases: one row per (user, item) bought in the last HOLDOUT_DAYS. */
      holdout: at('silver', 'holdout'),
      /** One row: the days that bound the split. */
      split: at('silver', 'split'),
    },
    gold: {
      versions: at('gold', 'model_versions'),
      metrics: at('gold', 'metrics'),
      trending: at('gold', 'trending'),
      userFactors: (version: string) => at('gold', 'models', version, 'user_factors'),
      itemFactors: (version: string) => at('gold', 'models', version, 'item_factors'),
      /** The Spark ML model (ALSModel.save). */
      sparkModel: (version: string) => at('gold', 'models', version, 'als'),
    },
  };
}

export type LakeTables = ReturnType<typeof lakeTables>;
