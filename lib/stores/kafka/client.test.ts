import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../observability/logger.ts';
import { kafkaClientConfig, kafkajsLevel, pinoLogCreator } from './client.ts';

function capture(level = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

describe('kafkajs client settings', () => {
  it('takes brokers, client id, TLS and SASL from the configuration', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'k1:9093,k2:9093',
      KAFKA_CLIENT_ID: 'shop',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'secret',
    });
    const settings = kafkaClientConfig(config.kafka, createLogger({ level: 'silent' }), { role: 'updater' });
    expect(settings).toMatchObject({
      brokers: ['k1:9093', 'k2:9093'],
      clientId: 'shop-updater',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'secret' },
      logLevel: logLevel.NOTHING,
    });
    const plain = kafkaClientConfig(loadConfig({}).kafka, createLogger({ level: 'info' }));
    expect(plain).toMatchObject({ ssl: false, sasl: undefined, clientId: 'recsys', logLevel: logLevel.INFO });
  });

  it('maps pino levels onto kafkajs levels', () => {
    expect(kafkajsLevel('silent')).toBe(logLevel.NOTHING);
    expect(kafkajsLevel('error')).toBe(logLevel.ERROR);
    expect(kafkajsLevel('warn')).toBe(logLevel.WARN);
    expect(kafkajsLevel('info')).toBe(logLevel.INFO);
    expect(kafkajsLevel('trace')).toBe(logLevel.DEBUG);
  });

  it('writes kafkajs log entries through pino with their level and fields', () => {
    const { logger, lines } = capture();
    const log = pinoLogCreator(logger)();
    const entry = (level: logLevel, message: string) =>
      log({
        namespace: 'Consumer',
        level,
        label: 'x',
        log: { message, timestamp: 't', logger: 'kafkajs', groupId: 'g1' },
      });
    entry(logLevel.ERROR, 'crashed');
    entry(logLevel.WARN, 'rebalancing');
    entry(logLevel.INFO, 'joined');
    entry(logLevel.DEBUG, 'fetch');
    expect(lines.map((l) => [l['level'], l['msg'], l['component'], l['namespace'], l['groupId']])).toEqual([
      [50, 'crashed', 'kafkajs', 'Consumer', 'g1'],
      [40, 'rebalancing', 'kafkajs', 'Consumer', 'g1'],
      [30, 'joined', 'kafkajs', 'Consumer', 'g1'],
      [20, 'fetch', 'kafkajs', 'Consumer', 'g1'],
    ]);
    expect(lines[0]).not.toHaveProperty('timestamp');
  });
});
