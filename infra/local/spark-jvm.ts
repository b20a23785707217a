/**
 * What every Spark JVM the launcher starts shares: the Java 17 module options, the settings of
 * `spark-conf/spark-defaults.conf`, and the command line of a Spark Connect server built from
 * them. The local `spark` service and the `spark-cluster` Connect server differ only in the
 * overrides they pass.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot, sparkConfDir, sparkJarsDir } from './paths.ts';

/**
 * Java 17 module options Spark needs (the list spark-submit adds; see Spark's
 * launcher JavaModuleOptions): plain `java` does not add them.
 */
export const JAVA_MODULE_OPTIONS = [
  '-XX:+IgnoreUnrecognizedVMOptions',
  '--add-modules=jdk.incubator.vector',
  ...[
    'java.lang',
    'java.lang.invoke',
    'java.lang.reflect',
    'java.io',
    'java.net',
    'java.nio',
    'java.util',
    'java.util.concurrent',
    'java.util.concurrent.atomic',
    'jdk.internal.ref',
    'sun.nio.ch',
    'sun.nio.cs',
    'sun.security.action',
    'sun.util.calendar',
  ].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`),
  '-Djdk.reflect.useDirectMethodHandle=false',
  '-Dio.netty.tryReflectionSetAccessible=true',
];

/**
 * Variables a Spark JVM must not inherit from the shell that starts it. They belong to Spark
 * Connect *clients*: with SPARK_REMOTE set, Spark's launcher (which a standalone worker uses to
 * build each executor's command) leaves spark-sql, spark-sql-api and spark-connect out of the
 * class path, and every task then fails on the executor with
 * `NoClassDefFoundError: org/apache/spark/sql/types/DataType`. `npm run test:cluster` sets
 * SPARK_REMOTE for the tests, and the launcher starts the cluster from that shell.
 */
export const CLIENT_ONLY_ENV: Record<string, undefined> = {
  SPARK_REMOTE: undefined,
  SPARK_CONNECT_MODE: undefined,
};

export function jarsPresent(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.jar'));
}

/** Reads spark-defaults.conf into key/value pairs (whitespace-separated, # comments). */
export function readSparkDefaults(path = join(sparkConfDir, 'spark-defaults.conf')): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(\S+)\s+(.*)$/.exec(trimmed);
    if (match?.[1] && match[2] !== undefined) props.set(match[1], match[2].trim());
  }
  return props;
}

/**
 * spark-defaults.conf with the file named by INFRA_SPARK_CONF (same format) laid over it: the
 * place for settings of one installation (an object-store endpoint and its credentials) that
 * do not belong in the repository.
 */
export function sparkSettings(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const settings = readSparkDefaults();
  const extra = env['INFRA_SPARK_CONF'];
  if (extra) {
    const path = resolve(repoRoot, extra);
    if (!existsSync(path)) throw new Error(`INFRA_SPARK_CONF names ${path}, which does not exist`);
    for (const [key, value] of readSparkDefaults(path)) settings.set(key, value);
  }
  return settings;
}

export interface JavaCommand {
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
}

/**
 * `java ... SparkConnectServer` with the settings of sparkSettings() overridden by `overrides`
 * (the launcher's ports, master and folders); each setting becomes a `-D` system property.
 * `dir` holds Derby's files.
 */
export function connectServerCommand(opts: {
  heap: string;
  dir: string;
  overrides: Record<string, string>;
}): JavaCommand {
  const defaults = sparkSettings();
  for (const [key, value] of Object.entries(opts.overrides)) defaults.set(key, value);
  const extra = defaults.get('spark.driver.extraJavaOptions') ?? '';
  defaults.delete('spark.driver.extraJavaOptions');
  const props = [...defaults].map(([k, v]) => `-D${k}=${v}`);
  return {
    command: 'java',
    args: [
      `-Xmx${opts.heap}`,
      ...JAVA_MODULE_OPTIONS,
      ...extra.split(/\s+/).filter(Boolean),
      `-Dlog4j2.configurationFile=${join(sparkConfDir, 'log4j2.properties')}`,
      `-Dderby.system.home=${opts.dir}`,
      ...props,
      '-cp',
      `${sparkJarsDir}/*`,
      'org.apache.spark.sql.connect.service.SparkConnectServer',
    ],
    // Spark ML solves ALS's normal equations with the system BLAS/LAPACK when the netlib
    // bridge finds one (Debian: libopenblas0-pthread; the train-als step logs which it
    // uses). Spark runs one task per core, so the library must not start threads of its own
    // (Spark's MLlib linear algebra guide).
    env: {
      ...CLIENT_ONLY_ENV,
      SPARK_LOCAL_IP: '127.0.0.1',
      OPENBLAS_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
    },
  };
}
