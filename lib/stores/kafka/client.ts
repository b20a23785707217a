/**
 * The kafkajs client as this project configures it: brokers, TLS and SASL from the typed config,
 * and kafkajs's own log lines routed through pino (so they carry the process's fields and honour
 * LOG_LEVEL instead of printing JSON of their own).
 */
import { Kafka, type LogEntry, logLevel, type SASLOptions } from 'kafkajs';
import type { Config } from '../../config.ts';
import type { Logger } from '../../observability/logger.ts';

export type KafkaConfig = Config['kafka'];

/** kafkajs level for a pino level: kafkajs then skips building lines pino would drop. */
export function kafkajsLevel(level: string): logLevel {
  switch (level) {
    case 'silent':
      return logLevel.NOTHING;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    default:
      return logLevel.DEBUG;
  }
}

/** A kafkajs `logCreator` writing to a pino child logger with `component: kafkajs`. */
export function pinoLogCreator(logger: Logger) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      const entry = { namespace, ...fields };
      switch (level) {
        case logLevel.ERROR:
          child.error(entry, message);
          break;
        case logLevel.WARN:
          child.warn(entry, message);
          break;
        case logLevel.INFO:
          child.info(entry, message);
          break;
        default:
          child.debug(entry, message);
      }
    };
}

export interface KafkaClientOptions {
  /** Suffix of the client id, e.g. `updater`. */
  role?: string;
  /** @default 3000 */
  connectionTimeoutMs?: number;
}

function saslOptions(sasl: KafkaConfig['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** The kafkajs client settings for this configuration (separate so they can be checked offline). */
export function kafkaClientConfig(config: KafkaConfig, logger: Logger, options: KafkaClientOptions = {}) {
  return {
    clientId: options.role ? `${config.clientId}-${options.role}` : config.clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    sasl: saslOptions(config.sasl),
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    logLevel: kafkajsLevel(logger.level),
    logCreator: pinoLogCreator(logger),
  } satisfies KafkaClientSettings;
}

type KafkaClientSettings = ConstructorParameters<typeof Kafka>[0];

export function createKafkaClient(
  config: KafkaConfig,
  logger: Logger,
  options: KafkaClientOptions = {},
): Kafka {
  return new Kafka(kafkaClientConfig(config, logger, options));
}
