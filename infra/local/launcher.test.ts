import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { LaunchError, parseServices, upService } from './launcher.ts';
import { childEnv } from './process.ts';
import { readSparkDefaults, serviceSpecs } from './services.ts';
import { applicationJars, CLUSTER, clusterConnectSettings, distributionJars } from './spark-cluster.ts';
import { sparkSettings } from './spark-jvm.ts';

describe('parseServices', () => {
  it('defaults to every service in start order', () => {
    expect(parseServices([])).toEqual(['redis', 'kafka', 'spark']);
  });
  it('rejects an unknown name, listing the valid ones', () => {
    expect(() => parseServices(['zookeeper'])).toThrow(/unknown service "zookeeper".*redis, kafka, spark/);
  });
  it('expands spark-cluster into its parts in start order, without duplicates', () => {
    const parts = ['spark-master', 'spark-worker-1', 'spark-worker-2', 'spark-cluster-connect'];
    expect(parseServices(['spark-cluster'])).toEqual(parts);
    expect(parseServices(['spark-master', 'spark-cluster'])).toEqual(parts);
  });
});

describe('spark-cluster specs', () => {
  const specs = serviceSpecs(loadConfig({}));
  const cluster = [
    specs['spark-master'],
    specs['spark-worker-1'],
    specs['spark-worker-2'],
    specs['spark-cluster-connect'],
  ];

  it('bind ports that clash neither with each other nor with the default services', () => {
    const ports = Object.values(specs).flatMap((s) => [s.port, ...s.extraPorts]);
    expect(new Set(ports).size).toBe(ports.length);
    expect(cluster.map((s) => s.port)).toEqual([7077, 7078, 7079, 15003]);
    expect(new Set(cluster.map((s) => s.dir)).size).toBe(cluster.length);
  });

  it('start each worker with one core, its own work dir and a SPARK_HOME for executors', () => {
    const worker = specs['spark-worker-1'].command();
    expect(worker.args).toContain('org.apache.spark.deploy.worker.Worker');
    expect(worker.args.slice(-1)).toEqual(['spark://127.0.0.1:7077']);
    const flag = (name: string) => worker.args[worker.args.indexOf(name) + 1];
    expect(flag('--cores')).toBe('1');
    expect(flag('--work-dir')).toMatch(/spark-cluster\/worker-1\/work$/);
    expect(worker.env?.['SPARK_HOME']).toMatch(/spark-cluster\/spark-home$/);
    expect(worker.env?.['SPARK_SCALA_VERSION']).toBe('2.13');
  });

  it('start no Spark JVM with a Connect client variable from the calling shell', () => {
    // With SPARK_REMOTE inherited, a worker builds executor class paths without spark-sql.
    process.env['SPARK_REMOTE'] = 'sc://localhost:15003';
    try {
      for (const spec of [specs.spark, ...cluster]) {
        const env = childEnv(spec.command().env);
        expect(env['SPARK_REMOTE'], spec.name).toBeUndefined();
        expect(env['PATH'], spec.name).toBe(process.env['PATH']);
      }
    } finally {
      delete process.env['SPARK_REMOTE'];
    }
  });

  it('point the Connect server at the master and size one executor per worker', () => {
    const settings = clusterConnectSettings(['/jars/delta-spark_2.13-4.0.0.jar'], '/run/connect');
    expect(settings['spark.master']).toBe('spark://127.0.0.1:7077');
    expect(settings['spark.connect.grpc.binding.port']).toBe('15003');
    expect(settings['spark.executor.cores']).toBe('1');
    expect(settings['spark.cores.max']).toBe(String(CLUSTER.workers.length));
    expect(settings['spark.jars']).toBe('/jars/delta-spark_2.13-4.0.0.jar');
  });

  it('ship Delta, the Kafka source and the Connect jar through spark.jars, the rest from SPARK_HOME', () => {
    const files = [
      'commons-pool2-2.12.0.jar',
      'delta-spark_2.13-4.0.0.jar',
      'delta-storage-4.0.0.jar',
      'kafka-clients-3.9.0.jar',
      'scala-library-2.13.16.jar',
      'spark-connect_2.13-4.0.0.jar',
      'spark-core_2.13-4.0.0.jar',
      'spark-sql-kafka-0-10_2.13-4.0.0.jar',
      'spark-token-provider-kafka-0-10_2.13-4.0.0.jar',
    ];
    const shipped = applicationJars(files).map((p) => p.split('/').pop());
    expect(shipped).toEqual(files.filter((f) => !/^(scala-library|spark-core)/.test(f)));
    expect(distributionJars(files)).toEqual(['scala-library-2.13.16.jar', 'spark-core_2.13-4.0.0.jar']);
  });
});

describe('spark-defaults.conf', () => {
  it('configures Delta and a session timeout that keeps streaming queries alive', () => {
    const props = readSparkDefaults();
    expect(props.get('spark.sql.extensions')).toBe('io.delta.sql.DeltaSparkSessionExtension');
    expect(props.get('spark.sql.catalog.spark_catalog')).toBe(
      'org.apache.spark.sql.delta.catalog.DeltaCatalog',
    );
    expect(props.get('spark.connect.session.manager.defaultSessionTimeout')).toBe('-1');
    // Without a checkpoint directory ALS never cuts its lineage (StackOverflowError past ~20 iterations).
    expect(props.get('spark.checkpoint.dir')).toBeTruthy();
  });
});

describe('INFRA_SPARK_CONF', () => {
  it('lays its settings over spark-defaults.conf, and names a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spark-conf-'));
    const file = join(dir, 'site.conf');
    writeFileSync(
      file,
      '# this site\nspark.hadoop.fs.s3a.endpoint   http://127.0.0.1:9100\nspark.sql.shuffle.partitions 7\n',
    );
    const settings = sparkSettings({ INFRA_SPARK_CONF: file });
    expect(settings.get('spark.hadoop.fs.s3a.endpoint')).toBe('http://127.0.0.1:9100');
    expect(settings.get('spark.sql.shuffle.partitions')).toBe('7');
    expect(settings.get('spark.sql.extensions')).toBe('io.delta.sql.DeltaSparkSessionExtension');
    expect(sparkSettings({}).get('spark.hadoop.fs.s3a.endpoint')).toBeUndefined();
    expect(() => sparkSettings({ INFRA_SPARK_CONF: join(dir, 'absent.conf') })).toThrow(
      /INFRA_SPARK_CONF names .*absent\.conf, which does not exist/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('service specs', () => {
  it('take hosts and ports from the app configuration', () => {
    const specs = serviceSpecs(
      loadConfig({
        REDIS_URL: 'redis://localhost:7001',
        KAFKA_BROKERS: 'localhost:9192',
        SPARK_REMOTE: 'sc://localhost:16002',
      }),
    );
    expect([specs.redis.port, specs.kafka.port, specs.spark.port]).toEqual([7001, 9192, 16002]);
    expect(specs.kafka.extraPorts).toEqual([9193]);
    const spark = specs.spark.command();
    expect(spark.args).toContain('-Dspark.connect.grpc.binding.port=16002');
    expect(spark.args).toContain('--add-opens=java.base/sun.nio.ch=ALL-UNNAMED');
  });
});

describe('upService', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('reports a port already in use by something else instead of hiding it', async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${address.port}` });
    const error = await upService(config, 'redis').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).message).toMatch(new RegExp(`port ${address.port} .* already in use`));
  });
});
