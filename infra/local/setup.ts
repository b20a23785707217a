/**
 * `npm run infra:setup`: resolves the JVM jars with Maven (once) and extracts the Spark Connect
 * protocol files from the resolved jar. Does nothing when both are already in place.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jarsDir, jvmDir, kafkaJarsDir, repoRoot, sparkJarsDir } from './paths.ts';

const stampFile = join(jarsDir, '.resolved');

function pomHash(): string {
  const hash = createHash('sha256');
  for (const pom of ['pom.xml', 'spark/pom.xml', 'kafka/pom.xml', 'settings.xml']) {
    hash.update(readFileSync(join(jvmDir, pom)));
  }
  return hash.digest('hex');
}

function jarCount(dir: string): number {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jar')).length : 0;
}

export function jarsUpToDate(): boolean {
  return (
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8').trim() === pomHash() &&
    jarCount(sparkJarsDir) > 0 &&
    jarCount(kafkaJarsDir) > 0
  );
}

export function resolveJars(log: (line: string) => void): void {
  if (jarsUpToDate()) {
    log(`jars: up to date (${jarCount(sparkJarsDir)} Spark, ${jarCount(kafkaJarsDir)} Kafka) in ${jarsDir}`);
    return;
  }
  log('jars: resolving Spark Connect, Delta, Kafka with Maven (first time: a few minutes)...');
  const started = Date.now();
  const result = spawnSync(
    'mvn',
    ['-B', '-q', '-s', join(jvmDir, 'settings.xml'), '-f', join(jvmDir, 'pom.xml'), 'package'],
    { stdio: 'inherit', cwd: repoRoot },
  );
  if (result.error) throw new Error(`could not run mvn (is Maven 3.8+ installed?): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`mvn failed with exit code ${result.status}`);
  writeFileSync(stampFile, `${pomHash()}\n`);
  log(
    `jars: ${jarCount(sparkJarsDir)} Spark and ${jarCount(kafkaJarsDir)} Kafka jars in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** Runs the Spark Connect client's proto extraction script when the client provides one. */
export function extractProtos(log: (line: string) => void): void {
  const script = join(repoRoot, 'lib', 'spark-connect', 'scripts', 'extract-protos.ts');
  if (!existsSync(script)) {
    log('protos: no extraction script yet, skipped');
    return;
  }
  const jar = readdirSync(sparkJarsDir).find((f) => /^spark-connect_2\.13-.*\.jar$/.test(f));
  if (!jar) throw new Error(`no spark-connect jar in ${sparkJarsDir}`);
  const marker = join(repoRoot, 'lib', 'spark-connect', 'generated', 'spark', 'connect', 'base.proto');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(sparkJarsDir, jar)).mtimeMs) {
    log('protos: up to date');
    return;
  }
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, join(sparkJarsDir, jar)], {
    stdio: 'inherit',
    cwd: repoRoot,
  });
  if (result.status !== 0) throw new Error(`proto extraction failed with exit code ${result.status}`);
}
