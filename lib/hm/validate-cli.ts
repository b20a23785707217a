/**
 * `npm run data:validate -- [--raw DIR] [--out DIR]`
 *
 * Validates articles.csv, customers.csv and transactions_train.csv (or their .gz) in `--raw`
 * (default RAW_DIR) and writes the accepted rows under the same names, plus `<name>.rejects.csv`
 * (`line_number,reason,raw_line`), to `--out` (default `<raw>/../clean`). Prints the counts per
 * file and reason as JSON; exits 1 when a file cannot be validated at all (missing, wrong header),
 * has no valid row (articles, transactions), or has more rejected rows than MAX_REJECT_RATIO allows.
 */
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { describeError } from '../errors.ts';
import { TABLE_KINDS } from './schema.ts';
import { unusableFile, validateRawDirectory } from './validate.ts';

async function main(): Promise<number> {
  let values: { raw?: string; out?: string; quiet?: boolean };
  try {
    ({ values } = parseArgs({
      options: { raw: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(
      `data:validate: ${describeError(error)}\nusage: npm run data:validate -- [--raw DIR] [--out DIR]\n`,
    );
    return 2;
  }
  const raw = values.raw ?? loadConfig().paths.raw;
  const out = values.out ?? join(dirname(raw), 'clean');
  const started = Date.now();
  let lastReport = 0;
  const result = await validateRawDirectory(raw, out, out, (kind, rows) => {
    if (values.quiet || Date.now() - lastReport < 2000) return;
    lastReport = Date.now();
    process.stderr.write(
      `${kind}: ${rows.toLocaleString('en')} rows, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
  });
  process.stdout.write(`${JSON.stringify({ ...result, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
  // The same rule csv-to-delta applies: a file without valid rows, or with too many rejects, fails.
  const { maxRejectRatio } = loadConfig().validation;
  const unusable = TABLE_KINDS.map((kind) => unusableFile(kind, result[kind], maxRejectRatio)).filter(
    (problem): problem is string => problem !== null,
  );
  for (const problem of unusable) process.stderr.write(`data:validate: ${problem}\n`);
  return unusable.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`data:validate failed: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
