/**
 * Shared helpers for benchmarks: machine description, medians, and writing
 * bench/results/<name>.json in one shape.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function machine() {
  let java = 'unknown';
  try {
    java = execSync('java -version 2>&1', { encoding: 'utf8' }).split('\n')[0] ?? java;
  } catch {
    // Java is optional for some benchmarks.
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    java,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Writes bench/results/<name>.json with the date and machine, and returns the path. */
export function recordResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  const body = { name, date: new Date().toISOString(), machine: machine(), ...result };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`result written to bench/results/${name}.json`);
  return path;
}
