/**
 * Smoke tests: each real service answers from TypeScript with the clients the apps use.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { probeSparkConnect } from '../../infra/local/probes.ts';
import { loadConfig } from '../../lib/config.ts';

const config = loadConfig();

describe('local services', () => {
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  afterAll(() => redis.quit());

  it('Redis: set and get a value', async () => {
    const key = `smoke:${randomUUID()}`;
    await redis.set(key, 'value', 'EX', 60);
    expect(await redis.get(key)).toBe('value');
    await redis.del(key);
    expect(await redis.get(key)).toBeNull();
  });

  it('Kafka: produce and consume a message on a fresh topic', async () => {
    const kafka = new Kafka({ clientId: 'smoke', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const topic = `smoke-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const payload = JSON.stringify({ id: randomUUID() });
    await producer.send({ topic, acks: -1, messages: [{ key: '1', value: payload }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(message.value?.toString() ?? '');
        },
      });
    });
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    expect(received).toBe(payload);
  });

  it('Spark Connect: the server answers a gRPC AnalyzePlan call with its version', async () => {
    const { host, port } = config.spark.endpoint;
    const description = await probeSparkConnect(host, port);
    expect(description).toMatch(/^spark 4\.\d+\.\d+/);
  });
});
