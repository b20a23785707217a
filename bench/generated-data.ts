/**
 * Generated data for the batch benchmarks, kept between runs in <tmp>/recsys-bench/<scale>/ (a
 * `full` generation takes minutes) but never reused across generator changes: a stamp beside the
 * data holds a hash of the generator's sources, and when it differs the whole scale folder (raw
 * data and every lake or model built from it) is removed and the data generated again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SEED, generate, type Scale } from '../lib/hm/generate.ts';

const generatorDir = fileURLToPath(new URL('../lib/hm/', import.meta.url));

/** Folder of the real H&M sample's benchmark lake (its CSVs are linked into `raw/`). */
export const HM_SAMPLE_ROOT = join(tmpdir(), 'recsys-bench', 'hm-sample');

/** The sample has few buyers a week: a 28-day test, of which 7 days are the stream window. */
export const HM_SAMPLE_ENV: Readonly<Record<string, string>> = { HOLDOUT_DAYS: '28', EVAL_STREAM_DAYS: '7' };

/** The batch's locations for a benchmark data set under `root` (raw, lake, models, staging). */
export function lakeEnv(root: string): Record<string, string> {
  return {
    RAW_DIR: join(root, 'raw'),
    LAKE_ROOT: join(root, 'lake'),
    MODELS_DIR: join(root, 'models'),
    STAGING_DIR: join(root, 'staging'),
    LOG_LEVEL: 'warn',
  };
}

/** Folder of a scale's benchmark data; `raw/` holds the CSVs. */
export function benchDataRoot(scale: Scale): string {
  return join(tmpdir(), 'recsys-bench', scale);
}

/** Hash of the generator's source files (tests excluded) and the seed. */
function generatorFingerprint(): string {
  const hash = createHash('sha256').update(`seed ${DEFAULT_SEED}\n`);
  for (const name of readdirSync(generatorDir).sort()) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    hash.update(`${name}\n`).update(readFileSync(join(generatorDir, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Makes sure `<root>/raw` holds data of `scale` from the current generator; returns the seconds
 * spent generating, or undefined when the data was already there.
 */
export async function ensureGenerated(scale: Scale): Promise<number | undefined> {
  const root = benchDataRoot(scale);
  const raw = join(root, 'raw');
  const stampPath = join(root, 'generator.stamp');
  const fingerprint = generatorFingerprint();
  const stamp = existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : undefined;
  if (stamp === fingerprint && existsSync(join(raw, 'transactions_train.csv'))) return undefined;
  if (existsSync(root)) {
    console.log(`the generator changed since ${root} was generated: removing it`);
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`generating ${scale} data into ${raw}`);
  const started = performance.now();
  await generate({ scale, out: raw });
  writeFileSync(stampPath, `${fingerprint}\n`);
  return (performance.now() - started) / 1000;
}
