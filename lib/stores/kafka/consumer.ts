/**
 * One consumer group member on kafkajs with the port's commit-after-success contract.
 *
 * - `eachBatch` with auto-resolve and auto-commit off: a batch's offsets are resolved and
 *   committed (last offset + 1, explicitly) only after the handler resolves.
 * - A failing handler pauses its partition and returns without resolving anything; after a
 *   backoff the partition resumes and kafkajs fetches from the first unresolved offset, so the
 *   same batch comes back. Other partitions keep flowing meanwhile; nothing is skipped.
 * - The batch window maps onto the fetch: `maxWaitTimeInMs` = window and a `minBytes` that light
 *   traffic does not reach make the broker hold a fetch until the window has passed, so a burst
 *   arrives as one batch; a busy topic fills `minBytes` and is fetched without waiting.
 * - `stop()` lets the batch in hand finish and commit, then leaves the group; safe to call twice.
 */
import type { EachBatchPayload, Kafka, Consumer as KafkaConsumer, KafkaMessage } from 'kafkajs';
import { DependencyError, describeError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { backoffDelay } from '../../retry.ts';
import type { BatchContext, BusMessage, ConsumeOptions, Consumer } from '../event-bus.ts';

export interface KafkaConsumeSettings {
  topic: string;
  logger: Logger;
  retry: { initialDelayMs: number; maxDelayMs: number };
  /** Called when kafkajs gives up on the consumer (it will not restart). */
  onFatal?: (error: unknown) => void;
  /** Fetch wait when there is no batch window (also bounds how long `stop()` waits for a fetch). */
  idleFetchWaitMs: number;
  /** Partitions handled at once when the options do not say. */
  defaultConcurrency: number;
  /** How long the group waits for a silent member before reassigning its partitions. */
  sessionTimeoutMs: number;
}

/**
 * Bytes the broker waits for during a batch window: under light traffic the window decides; once
 * this much is waiting (a busy topic, a backlog) the fetch returns at once. It must stay below
 * what one fetch can carry (kafkajs: 1 MiB per partition), or every fetch would sit out the window.
 */
const WINDOW_MIN_BYTES = 512 * 1024;

function headerString(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

export function toBusMessage(topic: string, partition: number, m: KafkaMessage): BusMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    const text = headerString(value);
    if (text !== undefined) headers[name] = text;
  }
  return {
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value ?? Buffer.alloc(0),
    headers,
    partition,
    offset: m.offset,
    topic,
  };
}

export async function startKafkaConsumer(
  kafka: Kafka,
  options: ConsumeOptions,
  settings: KafkaConsumeSettings,
): Promise<Consumer> {
  const log = settings.logger.child({ component: 'kafka-consumer', groupId: options.groupId });
  const windowMs = options.batchWindowMs ?? 0;
  const consumer: KafkaConsumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    minBytes: windowMs > 0 ? WINDOW_MIN_BYTES : 1,
    maxWaitTimeInMs: windowMs > 0 ? windowMs : settings.idleFetchWaitMs,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: Math.min(3000, Math.floor(settings.sessionTimeoutMs / 3)),
  });
  const failures = new Map<number, number>();
  const timers = new Set<NodeJS.Timeout>();

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    log.error({ error: describeError(payload.error), restart: payload.restart }, 'kafka consumer crashed');
    if (!payload.restart) settings.onFatal?.(payload.error);
  });

  const eachBatch = async ({
    batch,
    resolveOffset,
    heartbeat,
    pause,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload) => {
    if (!isRunning() || isStale()) return;
    const { topic, partition } = batch;
    const last = batch.lastOffset();
    if (batch.isEmpty()) return;
    const messages = batch.messages.map((m) => toBusMessage(topic, partition, m));
    const context: BatchContext = {
      topic,
      partition,
      highWatermark: batch.highWatermark,
      lag: Math.max(0, Number(batch.offsetLag())),
    };
    try {
      await options.onBatch(messages, context);
    } catch (error) {
      const attempt = failures.get(partition) ?? 0;
      failures.set(partition, attempt + 1);
      const delayMs = backoffDelay(attempt, settings.retry);
      log.warn(
        {
          partition,
          offset: batch.firstOffset(),
          attempt: attempt + 1,
          delayMs,
          error: describeError(error),
        },
        'batch handler failed; partition paused, the same batch comes back after the backoff',
      );
      const resume = pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resume();
      }, delayMs);
      timers.add(timer);
      return;
    }
    failures.delete(partition);
    resolveOffset(last);
    await commitOffsetsIfNecessary({
      topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }],
    });
    await heartbeat();
  };

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [settings.topic], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency ?? settings.defaultConcurrency,
      eachBatch,
    });
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw new DependencyError(
      'kafka',
      `consumer ${options.groupId} could not start: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        // disconnect() stops the runner (waiting for the batch in hand), leaves the group, closes.
        await consumer.disconnect();
      })();
      return stopping;
    },
  };
}
