/**
 * Synthetic H&M generation: wall time and peak memory of `--scale small` (median of 3 runs) and
 * `--scale full` (one run), then the validator over the full output (one run). Each run is a
 * fresh child process so its peak RSS is its own.
 *
 *   npm run bench -- data-generate [--skip-full]
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, recordResult } from './results.ts';

const here = dirname(fileURLToPath(import.meta.url));
const scratch = join(here, 'results', 'tmp', 'data-generate');

interface RunResult {
  seconds: number;
  maxRssMiB: number;
  rows?: number;
  bytes?: number;
}

/** Child mode: run one job and print its result as JSON on the last line. */
async function child(job: string, scale: string, out: string): Promise<void> {
  const started = Date.now();
  let rows = 0;
  let bytes = 0;
  if (job === 'generate') {
    const { generate } = await import('../lib/hm/generate.ts');
    const summary = await generate({ scale: scale as 'small', out });
    rows = summary.files.transactions.rows;
    bytes = summary.files.articles.bytes + summary.files.customers.bytes + summary.files.transactions.bytes;
  } else {
    const { validateRawDirectory } = await import('../lib/hm/validate.ts');
    const result = await validateRawDirectory(out, join(out, 'clean'));
    rows = result.transactions.total;
    if (result.transactions.rejected + result.articles.rejected + result.customers.rejected > 0)
      throw new Error('generated files had rejected rows');
  }
  const result: RunResult = {
    seconds: (Date.now() - started) / 1000,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    rows,
    bytes,
  };
  console.log(JSON.stringify(result));
}

function run(job: string, scale: string, out: string): RunResult {
  const p = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', job, scale, out],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (p.status !== 0) throw new Error(`${job} ${scale} failed (exit ${p.status ?? p.signal})`);
  const last = p.stdout.trim().split('\n').at(-1)!;
  const result = JSON.parse(last) as RunResult;
  console.log(`${job} ${scale}: ${result.seconds.toFixed(1)} s, peak RSS ${result.maxRssMiB} MiB`);
  return result;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1]!, args[2]!, args[3]!);
    return;
  }
  const skipFull = args.includes('--skip-full');
  rmSync(scratch, { recursive: true, force: true });
  try {
    const small = [1, 2, 3].map(() => run('generate', 'small', join(scratch, 'small')));
    const result: Record<string, unknown> = {
      small: {
        runs: small,
        medianSeconds: median(small.map((r) => r.seconds)),
        medianMaxRssMiB: median(small.map((r) => r.maxRssMiB)),
        transactions: small[0]!.rows,
      },
    };
    if (!skipFull) {
      const full = run('generate', 'full', join(scratch, 'full'));
      const validate = run('validate', 'full', join(scratch, 'full'));
      result['full'] = { ...full, transactions: full.rows };
      result['validateFull'] = {
        ...validate,
        rowsPerSecond: Math.round((validate.rows ?? 0) / validate.seconds),
      };
    }
    recordResult('data-generate', result);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
