/**
 * Runs batch steps in order against one Spark session: picks the steps (`--step`, `--from`),
 * times each, follows Spark's progress, stops at the first failure with an error that names the
 * step, and returns one outcome per step for the summary table.
 */
import type { Config } from '../lib/config.ts';
import { AppError, describeError, ValidationError } from '../lib/errors.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { ProgressEvent } from '../lib/spark-connect/index.ts';
import { type BatchOptions, type BatchStep, createContext, STEP_NAMES, type StepName } from './context.ts';
import { formatCount, ProgressPrinter, SparkProgress, type StepOutcome, stepLine } from './progress.ts';
import { connectSpark } from './spark.ts';
import { STEPS } from './steps.ts';

export interface StepSelection {
  /** Run only this step. */
  step?: string;
  /** Run from this step to the end. */
  from?: string;
}

function checkName(flag: string, name: string): StepName {
  if (!(STEP_NAMES as readonly string[]).includes(name)) {
    throw new ValidationError(`${flag} must be one of ${STEP_NAMES.join(', ')} (got "${name}")`);
  }
  return name as StepName;
}

/** The steps to run, in pipeline order. */
export function selectSteps(selection: StepSelection): StepName[] {
  if (selection.step !== undefined && selection.from !== undefined) {
    throw new ValidationError('use either --step or --from, not both');
  }
  if (selection.step !== undefined) return [checkName('--step', selection.step)];
  if (selection.from !== undefined) {
    return STEP_NAMES.slice(STEP_NAMES.indexOf(checkName('--from', selection.from)));
  }
  return [...STEP_NAMES];
}

/** A step failed; the message starts with the step's name, the cause is kept. */
export class StepFailedError extends AppError {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super('BATCH_STEP_FAILED', `step ${step} failed: ${describeError(cause)}`, {
      cause,
      details: { step },
    });
    this.step = step;
  }
}

export interface RunOptions extends BatchOptions, StepSelection {
  config: Config;
  logger: Logger;
  printer?: ProgressPrinter;
  /** Working directory relative paths are resolved against. @default process.cwd() */
  cwd?: string;
  /** Aborting interrupts the Spark operations of the run; the current step fails, the rest are skipped. */
  signal?: AbortSignal;
  /** Replaces the step implementations (tests). */
  steps?: Partial<Record<StepName, BatchStep>>;
}

export interface RunResult {
  outcomes: StepOutcome[];
  /** The model version the run trained or worked on, if any. */
  version?: string;
  failure?: StepFailedError;
}

/**
 * Connects to Spark (failing fast when it is unreachable), then runs the selected steps. Never
 * throws for a step failure: the result carries it, with the outcomes of the steps before it and
 * the rest marked skipped. Throws for bad arguments and an unreachable Spark.
 */
export async function runBatch(options: RunOptions): Promise<RunResult> {
  const names = selectSteps(options);
  const printer = options.printer ?? new ProgressPrinter();
  const { config, logger } = options;
  const { spark, version: sparkVersion } = await connectSpark(config.spark.remote);
  printer.line(`batch: Spark ${sparkVersion} at ${config.spark.remote}; steps ${names.join(' → ')}`);

  let progress = new SparkProgress();
  let current = '';
  let currentRows = '';
  const onSparkProgress = (event: ProgressEvent) => {
    progress.record(event);
    const t = progress.totals;
    const running = event.stages.filter((s) => !s.done).map((s) => s.stageId);
    const stages =
      running.length === 0
        ? 'spark'
        : `stage ${running.slice(0, 3).join(', ')}${running.length > 3 ? ` +${running.length - 3}` : ''}`;
    printer.live(
      `  ${current}: ${stages} — ${formatCount(t.tasks)}/${formatCount(t.totalTasks)} tasks${currentRows}`,
    );
  };
  spark.registerProgressHandler(onSparkProgress);
  // Stop the server-side work too: a cancelled ALS fit would otherwise keep the cluster busy.
  const onAbort = () => {
    printer.line(`batch: interrupted during ${current || 'start-up'}; cancelling Spark operations`);
    spark.interruptAll().catch(() => undefined);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const ctx = createContext(
    config,
    spark,
    logger,
    {
      version: options.version,
      minMapRatio: options.minMapRatio,
      protocol: options.protocol,
      policies: options.policies,
    },
    {
      note: (message) => {
        currentRows = ` — ${message}`;
        printer.live(`  ${current}: ${message}`);
        logger.debug({ step: current }, message);
      },
      print: (text) => printer.line(text),
    },
    options.cwd,
    options.signal,
  );

  const outcomes: StepOutcome[] = [];
  let failure: StepFailedError | undefined;
  try {
    for (const [i, name] of names.entries()) {
      const step = options.steps?.[name] ?? STEPS[name];
      if (failure || options.signal?.aborted) {
        outcomes.push({
          step: name,
          status: 'skipped',
          rows: 0,
          elapsedMs: 0,
          stages: 0,
          tasks: 0,
          summary: '',
        });
        continue;
      }
      current = name;
      currentRows = '';
      progress = new SparkProgress();
      printer.line(`[${i + 1}/${names.length}] ${name}: ${step.description}`);
      const started = performance.now();
      try {
        const result = await step.run(ctx);
        const outcome: StepOutcome = {
          step: name,
          status: 'done',
          rows: result.rows,
          elapsedMs: performance.now() - started,
          ...sparkTotals(progress),
          summary: result.summary,
        };
        outcomes.push(outcome);
        printer.line(stepLine(i + 1, names.length, outcome));
        logger.info({ step: name, rows: result.rows, ms: Math.round(outcome.elapsedMs) }, 'batch step done');
      } catch (error) {
        failure = new StepFailedError(name, error);
        const outcome: StepOutcome = {
          step: name,
          status: 'failed',
          rows: 0,
          elapsedMs: performance.now() - started,
          ...sparkTotals(progress),
          summary: describeError(error).slice(0, 200),
        };
        outcomes.push(outcome);
        printer.line(stepLine(i + 1, names.length, outcome));
        logger.error({ step: name, err: describeError(error) }, 'batch step failed');
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    spark.removeProgressHandler(onSparkProgress);
    await spark.stop();
  }
  return { outcomes, version: ctx.state.version, ...(failure ? { failure } : {}) };
}

function sparkTotals(progress: SparkProgress): { stages: number; tasks: number } {
  const t = progress.totals;
  return { stages: t.stages, tasks: t.tasks };
}
