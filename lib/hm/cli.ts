/**
 * `npm run data:generate -- --scale tiny|small|medium|full [--seed N] [--out DIR] [--customers N]
 *  [--articles N] [--transactions N] [--days N] [--truth FILE] [--quiet]`
 *
 * Writes synthetic H&M files (Kaggle layout) to `--out` (default RAW_DIR, `data/raw`).
 * Progress goes to stderr, the summary as JSON to stdout. Exit code 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { describeError } from '../errors.ts';
import {
  DEFAULT_SEED,
  type GenerateProgress,
  generate,
  SCALES,
  type Scale,
  type ScaleSize,
} from './generate.ts';

const USAGE = `usage: npm run data:generate -- --scale tiny|small|medium|full [options]

  --scale S          tiny (seconds, for tests), small (~1M purchases), full (real size, 31.8M purchases)
  --seed N           random seed (default ${DEFAULT_SEED}); same seed and scale give identical files
  --out DIR          output folder (default RAW_DIR, data/raw)
  --articles N       override the number of articles
  --customers N      override the number of customers
  --transactions N   override the number of purchase rows
  --days N           override the number of days (ending 2020-09-22; at most 734)
  --truth FILE       also write each customer's latent taste cluster to FILE
  --quiet            no progress on stderr`;

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--${name} must be a positive integer (got "${value}")`);
  return Number(value);
}

function parse(argv: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        scale: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        articles: { type: 'string' },
        customers: { type: 'string' },
        transactions: { type: 'string' },
        days: { type: 'string' },
        truth: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(describeError(error));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['help']) return undefined;
  const scale = v['scale'];
  if (typeof scale !== 'string') throw new UsageError('--scale is required (tiny, small, medium or full)');
  if (!(scale in SCALES))
    throw new UsageError(`--scale must be tiny, small, medium or full (got "${scale}")`);
  const seedText = v['seed'] as string | undefined;
  if (seedText !== undefined && (!/^\d+$/.test(seedText) || Number(seedText) > 0xffffffff))
    throw new UsageError(`--seed must be an integer in 0..4294967295 (got "${seedText}")`);
  const overrides: Partial<ScaleSize> = {
    articles: positiveInt('articles', v['articles'] as string | undefined),
    customers: positiveInt('customers', v['customers'] as string | undefined),
    transactions: positiveInt('transactions', v['transactions'] as string | undefined),
    days: positiveInt('days', v['days'] as string | undefined),
  };
  if (overrides.days !== undefined && overrides.days > 734)
    throw new UsageError('--days must be at most 734');
  return {
    scale: scale as Scale,
    seed: seedText === undefined ? DEFAULT_SEED : Number(seedText),
    out: (v['out'] as string | undefined) ?? loadConfig().paths.raw,
    overrides,
    truth: v['truth'] as string | undefined,
    quiet: v['quiet'] === true,
  };
}

function progressPrinter() {
  let last = '';
  return (p: GenerateProgress) => {
    const secs = (p.elapsedMs / 1000).toFixed(1);
    let line: string;
    if (p.phase === 'transactions' && p.done < p.total) {
      const rate = p.done / Math.max(0.001, p.elapsedMs / 1000);
      const pct = ((100 * p.done) / p.total).toFixed(1);
      line = `transactions ${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')} (${pct} %), ${secs} s`;
      if (rate > 0) line += `, ~${Math.round((p.total - p.done) / rate)} s left`;
    } else {
      line = `${p.phase} ${p.done.toLocaleString('en')} rows, ${secs} s`;
    }
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`data:generate: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (!args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const summary = await generate({
    scale: args.scale,
    seed: args.seed,
    out: args.out,
    overrides: args.overrides,
    truthOut: args.truth,
    onProgress: args.quiet ? undefined : progressPrinter(),
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`data:generate failed: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
