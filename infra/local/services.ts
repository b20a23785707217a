/**
 * The local services: how to start each one as a plain child process and how to tell that it is
 * ready. Hosts and ports come from the same configuration the apps read (KAFKA_BROKERS,
 * SPARK_REMOTE, REDIS_URL), so a changed port changes both sides. The optional standalone
 * cluster (`spark-cluster`) lives in spark-cluster.ts.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../lib/config.ts';
import { kafkaJarsDir, repoRoot, serviceDir, sparkJarsDir } from './paths.ts';
import { probeKafka, probeRedis, probeSparkConnect } from './probes.ts';
import { CLUSTER_PARTS, clusterSpecs } from './spark-cluster.ts';
import { connectServerCommand, jarsPresent } from './spark-jvm.ts';

export { readSparkDefaults } from './spark-jvm.ts';

/** What a plain `infra:up` starts, in order. */
export const DEFAULT_SERVICES = ['redis', 'kafka', 'spark'] as const;
/** Every service the launcher knows, each addressable by name. */
export const SERVICE_NAMES = [...DEFAULT_SERVICES, ...CLUSTER_PARTS] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
/** Names that stand for several services, started in the order listed. */
export const SERVICE_GROUPS: Record<string, readonly ServiceName[]> = { 'spark-cluster': CLUSTER_PARTS };

export interface ServiceSpec {
  name: ServiceName;
  host: string;
  port: number;
  /** Ports the service binds besides `port` (checked before start). */
  extraPorts: number[];
  /** Working directory, log and pid file. */
  dir: string;
  /** Why it cannot be started here, or null. */
  unavailable(): string | null;
  /** One-time preparation (formatting storage, writing config). */
  prepare(): void;
  command(): { command: string; args: string[]; env?: Record<string, string | undefined> };
  probe(): Promise<string>;
  readyTimeoutMs: number;
}

function which(binary: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() || null : null;
}

/**
 * The arguments the launcher runs `redis-server` with: durable (append-only file, fsync every
 * second, no RDB snapshots), so a restart keeps every user vector and the model pointer, losing
 * at most the last second of writes. The fault tests start their own servers with the same.
 */
export function redisServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
  ];
}

function redisSpec(config: Config): ServiceSpec {
  const { host, port } = config.redis.endpoint;
  const dir = serviceDir('redis');
  return {
    name: 'redis',
    host,
    port,
    extraPorts: [],
    dir,
    unavailable: () =>
      which('redis-server')
        ? null
        : 'redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)',
    prepare: () => mkdirSync(dir, { recursive: true }),
    command: () => ({
      command: 'redis-server',
      args: redisServerArgs(port, dir),
    }),
    probe: () => probeRedis(host, port),
    readyTimeoutMs: 15_000,
  };
}

function kafkaSpec(config: Config): ServiceSpec {
  const first = config.kafka.brokers[0] ?? 'localhost:9092';
  const [host = 'localhost', portText = '9092'] = first.split(':');
  const port = Number(portText);
  const controllerPort = port + 1;
  const dir = serviceDir('kafka');
  const dataDir = join(dir, 'data');
  const propsFile = join(dir, 'server.properties');
  const classpath = `${kafkaJarsDir}/*`;
  const jvm = [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
  ];
  return {
    name: 'kafka',
    host,
    port,
    extraPorts: [controllerPort],
    dir,
    unavailable: () =>
      jarsPresent(kafkaJarsDir) ? null : 'Kafka jars are missing: run `npm run infra:setup`',
    prepare: () => {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(
        propsFile,
        [
          '# Written by infra/local on every start: single-node KRaft (broker + controller).',
          'process.roles=broker,controller',
          'node.id=1',
          `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
          `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
          `advertised.listeners=PLAINTEXT://${host}:${port}`,
          'controller.listener.names=CONTROLLER',
          'inter.broker.listener.name=PLAINTEXT',
          'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          `log.dirs=${dataDir}`,
          `num.partitions=${config.kafka.partitions}`,
          'offsets.topic.replication.factor=1',
          'offsets.topic.num.partitions=4',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'share.coordinator.state.topic.replication.factor=1',
          'share.coordinator.state.topic.min.isr=1',
          'group.initial.rebalance.delay.ms=0',
          'auto.create.topics.enable=true',
          'log.retention.hours=168',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, 'log4j2.properties'),
        [
          'rootLogger.level=WARN',
          'rootLogger.appenderRef.stdout.ref=STDOUT',
          'appender.stdout.type=Console',
          'appender.stdout.name=STDOUT',
          'appender.stdout.layout.type=PatternLayout',
          'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
          'logger.kafka.name=kafka.server.KafkaRaftServer',
          'logger.kafka.level=INFO',
          '',
        ].join('\n'),
      );
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        execFileSync(
          'java',
          [
            ...jvm,
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            '--standalone',
            '-t',
            randomUUID().replace(/-/g, '').slice(0, 22),
            '-c',
            propsFile,
          ],
          { stdio: 'pipe' },
        );
      }
    },
    command: () => ({ command: 'java', args: [...jvm, '-cp', classpath, 'kafka.Kafka', propsFile] }),
    probe: () => probeKafka([`${host}:${port}`]),
    readyTimeoutMs: 60_000,
  };
}

function sparkSpec(config: Config): ServiceSpec {
  const { host, port } = config.spark.endpoint;
  const dir = serviceDir('spark');
  return {
    name: 'spark',
    host,
    port,
    extraPorts: [],
    dir,
    unavailable: () =>
      jarsPresent(sparkJarsDir) ? null : 'Spark jars are missing: run `npm run infra:setup`',
    prepare: () => mkdirSync(dir, { recursive: true }),
    command: () =>
      connectServerCommand({
        heap: config.spark.driverMemory,
        dir,
        overrides: {
          'spark.connect.grpc.binding.port': String(port),
          'spark.master': config.spark.master,
          'spark.sql.warehouse.dir': join(dir, 'warehouse'),
          'spark.checkpoint.dir': join(dir, 'checkpoints'),
          'spark.driver.host': '127.0.0.1',
        },
      }),
    probe: () => probeSparkConnect(host, port),
    readyTimeoutMs: 120_000,
  };
}

export function serviceSpecs(config: Config): Record<ServiceName, ServiceSpec> {
  return { redis: redisSpec(config), kafka: kafkaSpec(config), spark: sparkSpec(config), ...clusterSpecs() };
}

export { repoRoot };
