import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { LaunchError, parseServices, upService } from './launcher.ts';
import { readSparkDefaults, serviceSpecs } from './services.ts';

describe('parseServices', () => {
  it('defaults to every service in start order', () => {
    expect(parseServices([])).toEqual(['redis', 'kafka', 'spark']);
  });
  it('rejects an unknown name, listing the valid ones', () => {
    expect(() => parseServices(['zookeeper'])).toThrow(/unknown service "zookeeper".*redis, kafka, spark/);
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
