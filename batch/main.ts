/**
 * `npm run batch [-- --step <name> | --from <name>] [--version <v>] [--min-map-ratio <r>]
 *  [--protocol holdout|prequential|both] [--policy name=query ...]`
 *
 * `npm run evaluate -- ...` is the same with `--step evaluate`: a model version already in the
 * lake evaluated again (e.g. with another protocol or policy) without retraining.
 *
 * Raw H&M CSVs → Delta → ALS → evaluation → serving stores, through Spark Connect
 * (`SPARK_REMOTE`). Progress on stderr, the summary table at the end. Exit codes: 0 done,
 * 1 a step failed (the message names it and the cause), 2 bad arguments or configuration,
 * 3 Spark unreachable, 130 interrupted (SIGINT/SIGTERM cancel the running Spark operations).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { ConfigError, DependencyError, describeError, ValidationError } from '../lib/errors.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { STEP_NAMES } from './context.ts';
import { protocolsFor } from './evaluate.ts';
import { parsePolicy } from './evaluation/policies.ts';
import { ProgressPrinter, summaryTable } from './progress.ts';
import { runBatch } from './runner.ts';

const USAGE = `usage: npm run batch [-- options]

  --step NAME          run one step only
  --from NAME          run from NAME to the end (resume)
  --version V          model version for the steps after train-als (default: the newest trained)
  --min-map-ratio R    fail evaluate when the served default's MAP@12 < R × trending's (e.g. 1.0)
  --protocol P         evaluate with holdout, prequential or both (default EVAL_PROTOCOL)
  --policy NAME=QUERY  also score this serving policy: GET /recommend query parameters, e.g.
                       --policy lambda05=diversity_lambda=0.5 (repeatable; NAME=@anonymous for
                       the cold-start answer)

npm run evaluate -- [--version V] [--protocol P] [--policy NAME=QUERY ...] runs the evaluate
step alone on a version in the lake.

steps, in order: ${STEP_NAMES.join(', ')}`;

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      step: { type: 'string' },
      from: { type: 'string' },
      version: { type: 'string' },
      'min-map-ratio': { type: 'string' },
      protocol: { type: 'string' },
      policy: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const ratio = values['min-map-ratio'];
  if (ratio !== undefined && !(/^\d+(\.\d+)?$/.test(ratio) && Number(ratio) >= 0)) {
    throw new ValidationError(`--min-map-ratio must be a non-negative number (got "${ratio}")`);
  }
  if (values.protocol !== undefined) protocolsFor(values.protocol);
  return {
    help: values.help === true,
    protocol: values.protocol,
    policies: (values.policy ?? []).map(parsePolicy),
    step: values.step,
    from: values.from,
    version: values.version,
    minMapRatio: ratio === undefined ? undefined : Number(ratio),
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  let config: ReturnType<typeof loadConfig>;
  try {
    args = parse(process.argv.slice(2));
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    config = loadConfig();
  } catch (error) {
    console.error(`batch: ${describeError(error)}\n\n${USAGE}`);
    return 2;
  }
  const logger = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    name: 'batch',
  });
  const printer = new ProgressPrinter();
  const started = performance.now();
  // First SIGINT/SIGTERM: cancel the Spark work and finish with the summary; a second one exits now.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    console.error(`\nbatch: ${signal} received`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runBatch({ ...args, config, logger, printer, signal: interrupt.signal });
    printer.line(`\n${summaryTable(result.outcomes)}`);
    const total = ((performance.now() - started) / 1000).toFixed(1);
    if (interrupt.signal.aborted) {
      console.error(`\nbatch interrupted after ${total} s`);
      return 130;
    }
    if (result.failure) {
      console.error(`\nbatch failed after ${total} s: ${result.failure.message}`);
      return 1;
    }
    printer.line(`\nbatch done in ${total} s${result.version ? `; model version ${result.version}` : ''}`);
    return 0;
  } catch (error) {
    console.error(`batch failed: ${describeError(error)}`);
    if (error instanceof ConfigError || error instanceof ValidationError) return 2;
    if (error instanceof DependencyError) return 3;
    return 1;
  }
}

process.exitCode = await main();
