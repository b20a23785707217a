/**
 * Benchmark runner: `npm run bench` runs every `bench/*.bench.ts` in turn, `npm run bench -- <name>`
 * runs `bench/<name>.bench.ts` only. Each benchmark is a plain script that measures, prints, and
 * records its result with `recordResult()` (bench/results/<name>.json); the human summary lives in
 * docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const [name, ...rest] = process.argv.slice(2);
const selected = name === undefined ? available : [name];
for (const bench of selected) {
  if (!available.includes(bench)) {
    console.error(`unknown benchmark "${bench}"; available: ${available.join(', ') || '(none)'}`);
    process.exit(2);
  }
}
for (const bench of selected) {
  console.log(`\n=== bench: ${bench} ===`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(benchDir, `${bench}.bench.ts`), ...rest],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    console.error(`benchmark ${bench} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}
