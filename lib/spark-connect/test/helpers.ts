/** Shared set-up for the client's integration tests: one session per file, a scratch folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparkSession, type SparkSessionOptions } from '../index.ts';

export function openSession(options: SparkSessionOptions = {}): SparkSession {
  return new SparkSession(options);
}

/** A scratch folder the local Spark server can read and write (same machine). */
export function scratchDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `spark-connect-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const unique = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
