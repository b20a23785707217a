/**
 * Prints the statistics of two sets of H&M files side by side (markdown), e.g. the real sample
 * against generated data, for docs/data.md:
 *
 *   tsx lib/hm/compare.ts <real dir> <generated dir> [--fraction F] [--truth FILE]
 *
 * Each dir holds articles.csv[.gz] and transactions_train[_sample].csv[.gz]. `--fraction` keeps
 * per-customer statistics for that share of the generated customers (so a full-size file can be
 * compared with a customer sample of the same size).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { computeStats, type Stats } from './stats.ts';

function find(dir: string, prefix: string): string {
  const name = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && /\.csv(\.gz)?$/.test(f))
    .sort()[0];
  if (!name) throw new Error(`no ${prefix}*.csv[.gz] in ${dir}`);
  return join(dir, name);
}

/** Flattens nested statistics into `a.b.c` keys with numeric values. */
export function flatten(
  value: unknown,
  prefix = '',
  out: Record<string, number> = {},
): Record<string, number> {
  if (typeof value === 'number') out[prefix] = value;
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) flatten(value[i], `${prefix}[${i}]`, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { fraction: { type: 'string' }, truth: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [realDir, generatedDir] = positionals;
  if (!realDir || !generatedDir) {
    console.error(
      'usage: tsx lib/hm/compare.ts <real dir> <generated dir> [--fraction F] [--truth FILE] [--json]',
    );
    process.exit(2);
  }
  const real = await computeStats({
    articlesPath: find(realDir, 'articles'),
    transactionsPath: find(realDir, 'transactions'),
  });
  const generated: Stats = await computeStats({
    articlesPath: find(generatedDir, 'articles'),
    transactionsPath: find(generatedDir, 'transactions'),
    customerFraction: values.fraction === undefined ? 1 : Number(values.fraction),
    truthPath: values.truth,
  });
  if (values.json) {
    console.log(JSON.stringify({ real, generated }, null, 2));
    return;
  }
  const r = flatten(real);
  const g = flatten(generated);
  const keys = [...new Set([...Object.keys(r), ...Object.keys(g)])];
  console.log('| statistic | real | generated |\n|---|---:|---:|');
  for (const k of keys) console.log(`| ${k} | ${r[k] ?? '–'} | ${g[k] ?? '–'} |`);
}

await main();
