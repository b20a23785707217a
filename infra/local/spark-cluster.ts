/**
 * `spark-cluster`: a Spark standalone cluster on this machine — a master, two workers as
 * separate JVMs with their own work and local directories, and a Spark Connect server (the
 * driver) whose `spark.master` is that master. Not part of the default `infra:up`; started by
 * name: `npm run infra:up spark-cluster`.
 *
 * The workers launch executors from a SPARK_HOME laid out like a Spark distribution
 * (`RELEASE`, `jars/`, `conf/`) whose `jars/` holds Spark's own jars only. Delta and the Kafka
 * source reach the executors the way they reach a real cluster: listed in `spark.jars`, served by
 * the driver and fetched by each executor.
 */
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { runDir, sparkConfDir, sparkJarsDir } from './paths.ts';
import {
  probeSparkConnect,
  probeSparkExecutors,
  probeStandaloneMaster,
  probeStandaloneWorker,
} from './probes.ts';
import type { ServiceSpec } from './services.ts';
import { CLIENT_ONLY_ENV, connectServerCommand, JAVA_MODULE_OPTIONS, jarsPresent } from './spark-jvm.ts';

export const CLUSTER_PARTS = [
  'spark-master',
  'spark-worker-1',
  'spark-worker-2',
  'spark-cluster-connect',
] as const;
export type ClusterPart = (typeof CLUSTER_PARTS)[number];

const HOST = '127.0.0.1';

/** Ports and sizes of the local cluster, sized for a 2-core machine: one core per worker. */
export const CLUSTER = {
  master: { port: 7077, uiPort: 8080, heap: '512m' },
  workers: [
    { name: 'spark-worker-1', port: 7078, uiPort: 8081 },
    { name: 'spark-worker-2', port: 7079, uiPort: 8082 },
  ],
  worker: { cores: 1, memory: '1536m', heap: '512m' },
  executor: { cores: 1, memory: '1g' },
  connect: { port: 15003, uiPort: 4040, heap: '1536m' },
} as const;

export const masterUrl = `spark://${HOST}:${CLUSTER.master.port}`;
const masterJsonUrl = `http://${HOST}:${CLUSTER.master.uiPort}/json/`;

/**
 * Jars the executors get through `spark.jars` rather than from SPARK_HOME/jars: what a stock
 * Spark distribution lacks (Delta, the Kafka source and its dependencies) and the Connect
 * server's jar — its result path runs closures defined in Connect classes on the executors
 * (without the jar every collect fails there with "cannot assign instance of
 * java.lang.invoke.SerializedLambda to field ...MapPartitionsRDD.f").
 */
const APPLICATION_JARS = [
  /^spark-connect_2\.13-/,
  /^delta-spark_2\.13-/,
  /^delta-storage-/,
  /^spark-sql-kafka-0-10_2\.13-/,
  /^spark-token-provider-kafka-0-10_2\.13-/,
  /^kafka-clients-/,
  /^commons-pool2-/,
];

function jarFiles(): string[] {
  return readdirSync(sparkJarsDir)
    .filter((f) => f.endsWith('.jar'))
    .sort();
}

/** Absolute paths for `spark.jars`. */
export function applicationJars(files = jarFiles()): string[] {
  return files.filter((f) => APPLICATION_JARS.some((re) => re.test(f))).map((f) => join(sparkJarsDir, f));
}

/** The jars an executor finds in SPARK_HOME/jars. */
export function distributionJars(files = jarFiles()): string[] {
  return files.filter((f) => !APPLICATION_JARS.some((re) => re.test(f)));
}

export function clusterDir(): string {
  return join(runDir(), 'spark-cluster');
}

export function sparkHomeDir(): string {
  return join(clusterDir(), 'spark-home');
}

/** Lays out SPARK_HOME (idempotent: links are added or removed, never rewritten under a running worker). */
export function prepareSparkHome(): string {
  const home = sparkHomeDir();
  const jars = join(home, 'jars');
  mkdirSync(jars, { recursive: true });
  mkdirSync(join(home, 'conf'), { recursive: true });
  const files = jarFiles();
  const sparkCore = files.find((f) => /^spark-core_2\.13-/.test(f)) ?? 'spark-core_2.13-unknown.jar';
  const version = /^spark-core_2\.13-(.+)\.jar$/.exec(sparkCore)?.[1] ?? 'unknown';
  writeFileSync(
    join(home, 'RELEASE'),
    `Spark ${version} (infra/local: jars from infra/jvm/target-jars/spark, Delta and Kafka via spark.jars)\n`,
  );
  const wanted = new Set(distributionJars(files));
  for (const existing of readdirSync(jars)) {
    if (!wanted.has(existing)) rmSync(join(jars, existing), { force: true });
  }
  for (const jar of wanted) {
    const link = join(jars, jar);
    if (!existsSync(link) && !isSymlink(link)) symlinkSync(join(sparkJarsDir, jar), link);
  }
  // Executors put SPARK_HOME/conf on their class path: they log like the Connect server.
  copyFileSync(join(sparkConfDir, 'log4j2.properties'), join(home, 'conf', 'log4j2.properties'));
  return home;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

const missingJars = () =>
  jarsPresent(sparkJarsDir) ? null : 'Spark jars are missing: run `npm run infra:setup`';

function daemonArgs(heap: string, mainClass: string, args: string[]): string[] {
  return [`-Xmx${heap}`, ...JAVA_MODULE_OPTIONS, '-cp', `${sparkJarsDir}/*`, mainClass, ...args];
}

function masterSpec(): ServiceSpec {
  const dir = join(clusterDir(), 'master');
  const { port, uiPort, heap } = CLUSTER.master;
  return {
    name: 'spark-master',
    host: HOST,
    port,
    extraPorts: [uiPort],
    dir,
    unavailable: missingJars,
    prepare: () => mkdirSync(dir, { recursive: true }),
    command: () => ({
      command: 'java',
      args: daemonArgs(heap, 'org.apache.spark.deploy.master.Master', [
        '--host',
        HOST,
        '--port',
        String(port),
        '--webui-port',
        String(uiPort),
      ]),
      env: { ...CLIENT_ONLY_ENV, SPARK_LOCAL_IP: HOST },
    }),
    probe: () => probeStandaloneMaster(masterJsonUrl),
    readyTimeoutMs: 60_000,
  };
}

function workerSpec(index: 0 | 1): ServiceSpec {
  const worker = CLUSTER.workers[index];
  const dir = join(clusterDir(), worker.name.replace(/^spark-/, ''));
  const workDir = join(dir, 'work');
  const localDir = join(dir, 'local');
  return {
    name: worker.name,
    host: HOST,
    port: worker.port,
    extraPorts: [worker.uiPort],
    dir,
    unavailable: missingJars,
    prepare: () => {
      mkdirSync(workDir, { recursive: true });
      mkdirSync(localDir, { recursive: true });
      prepareSparkHome();
    },
    command: () => ({
      command: 'java',
      args: daemonArgs(CLUSTER.worker.heap, 'org.apache.spark.deploy.worker.Worker', [
        '--host',
        HOST,
        '--port',
        String(worker.port),
        '--webui-port',
        String(worker.uiPort),
        '--cores',
        String(CLUSTER.worker.cores),
        '--memory',
        CLUSTER.worker.memory,
        '--work-dir',
        workDir,
        masterUrl,
      ]),
      env: {
        ...CLIENT_ONLY_ENV,
        // The worker builds each executor's command from SPARK_HOME (jars/, conf/, RELEASE).
        SPARK_HOME: sparkHomeDir(),
        SPARK_SCALA_VERSION: '2.13',
        SPARK_LOCAL_IP: HOST,
        SPARK_LOCAL_DIRS: localDir,
        OPENBLAS_NUM_THREADS: '1',
        MKL_NUM_THREADS: '1',
      },
    }),
    probe: () => probeStandaloneWorker(masterJsonUrl, worker.port),
    readyTimeoutMs: 60_000,
  };
}

/** The Connect server's settings on top of spark-defaults.conf. */
export function clusterConnectSettings(jars: string[], dir: string): Record<string, string> {
  const { connect, executor, workers } = CLUSTER;
  return {
    'spark.master': masterUrl,
    'spark.app.name': 'recsys-spark-connect-cluster',
    'spark.connect.grpc.binding.port': String(connect.port),
    'spark.driver.host': HOST,
    'spark.driver.bindAddress': HOST,
    'spark.ui.enabled': 'true',
    'spark.ui.port': String(connect.uiPort),
    'spark.executor.cores': String(executor.cores),
    'spark.executor.memory': executor.memory,
    'spark.cores.max': String(executor.cores * workers.length),
    // The first job waits (up to 30 s) until every executor has registered.
    'spark.scheduler.minRegisteredResourcesRatio': '1.0',
    'spark.jars': jars.join(','),
    'spark.executor.extraJavaOptions': '-Duser.timezone=UTC',
    'spark.executorEnv.OPENBLAS_NUM_THREADS': '1',
    'spark.executorEnv.MKL_NUM_THREADS': '1',
    'spark.sql.warehouse.dir': join(dir, 'warehouse'),
    'spark.checkpoint.dir': join(dir, 'checkpoints'),
  };
}

function connectSpec(): ServiceSpec {
  const dir = join(clusterDir(), 'connect');
  const { port, uiPort, heap } = CLUSTER.connect;
  return {
    name: 'spark-cluster-connect',
    host: HOST,
    port,
    extraPorts: [uiPort],
    dir,
    unavailable: missingJars,
    prepare: () => mkdirSync(dir, { recursive: true }),
    command: () =>
      connectServerCommand({ heap, dir, overrides: clusterConnectSettings(applicationJars(), dir) }),
    probe: async () => {
      const version = await probeSparkConnect(HOST, port);
      const executors = await probeSparkExecutors(`http://${HOST}:${uiPort}`, CLUSTER.workers.length);
      return `${version}, ${executors}`;
    },
    readyTimeoutMs: 120_000,
  };
}

export function clusterSpecs(): Record<ClusterPart, ServiceSpec> {
  return {
    'spark-master': masterSpec(),
    'spark-worker-1': workerSpec(0),
    'spark-worker-2': workerSpec(1),
    'spark-cluster-connect': connectSpec(),
  };
}
