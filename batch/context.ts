/**
 * What every batch step receives: the configuration, the Spark session, resolved locations, the
 * run's options and a way to report progress. Steps share nothing else; what one step hands the
 * next goes through the lake (so any step can run alone) plus `state.version` within one run.
 */
import type { Config } from '../lib/config.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { SparkSession } from '../lib/spark-connect/index.ts';
import type { ServingPolicy } from './evaluation/policies.ts';
import { type LakeTables, lakeTables, resolveLocation } from './lake.ts';

export const STEP_NAMES = [
  'csv-to-delta',
  'preprocess',
  'train-als',
  'evaluate',
  'refit',
  'trending',
  'load',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface BatchOptions {
  /** Model version the steps after `train-als` work on (default: the newest trained one). */
  version?: string;
  /** Quality gate: fail `evaluate` when the served default's MAP@12 < ratio × trending's. */
  minMapRatio?: number;
  /** `holdout`, `prequential` or `both` (default EVAL_PROTOCOL). */
  protocol?: string;
  /** Serving policies `evaluate` scores beside the standard ones. */
  policies?: ServingPolicy[];
}

export interface BatchPaths {
  raw: string;
  staging: string;
  lake: string;
  /** Local directory of model bundles (written by Node, read by serving). */
  models: string;
}

export interface BatchContext {
  readonly config: Config;
  readonly spark: SparkSession;
  readonly paths: BatchPaths;
  readonly lake: LakeTables;
  readonly options: BatchOptions;
  readonly logger: Logger;
  /** Aborted when the run is interrupted; long Node-side loops check it. */
  readonly signal: AbortSignal;
  /** Facts one step leaves for the next within a run. */
  readonly state: { version?: string };
  /** A short progress note shown under the current step (e.g. "bronze/articles: 1500 rows"). */
  note(message: string): void;
  /** A permanent line in the run's output (e.g. the metrics table). */
  print(text: string): void;
}

export interface StepResult {
  /** The main row count of the step (rows written, users evaluated...). */
  rows: number;
  /** One line for the summary table. */
  summary: string;
}

export interface BatchStep {
  readonly name: StepName;
  readonly description: string;
  run(ctx: BatchContext): Promise<StepResult>;
}

/** Resolves the configured locations once: local ones absolute, URIs unchanged. */
export function batchPaths(config: Config, cwd: string = process.cwd()): BatchPaths {
  return {
    raw: resolveLocation(config.paths.raw, cwd),
    staging: resolveLocation(config.batch.stagingDir, cwd),
    lake: resolveLocation(config.paths.lake, cwd),
    models: resolveLocation(config.paths.models, cwd),
  };
}

export function createContext(
  config: Config,
  spark: SparkSession,
  logger: Logger,
  options: BatchOptions,
  output: { note: (message: string) => void; print: (text: string) => void },
  cwd: string = process.cwd(),
  signal: AbortSignal = new AbortController().signal,
): BatchContext {
  const paths = batchPaths(config, cwd);
  return {
    config,
    spark,
    paths,
    lake: lakeTables(paths.lake),
    options,
    logger,
    signal,
    state: {},
    ...output,
  };
}

/** A batch failure the operator can act on (bad input, missing model, failed quality gate). */
export class BatchError extends AppError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('BATCH_FAILED', message, options);
  }
}
