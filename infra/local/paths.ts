/**
 * Where the local infrastructure keeps its files. Everything lives inside the repository in
 * git-ignored folders, so one checkout never disturbs another.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Pid files, logs and service data (Kafka log dirs, Spark warehouse). Override with INFRA_RUN_DIR. */
export function runDir(): string {
  return resolve(repoRoot, process.env['INFRA_RUN_DIR'] ?? '.run');
}

export const jvmDir = join(repoRoot, 'infra', 'jvm');
export const jarsDir = join(jvmDir, 'target-jars');
export const sparkJarsDir = join(jarsDir, 'spark');
export const kafkaJarsDir = join(jarsDir, 'kafka');
export const sparkConfDir = join(repoRoot, 'spark-conf');

export function serviceDir(name: string): string {
  return join(runDir(), name);
}
