/**
 * `npm run stream:archive`: keeps every user event for the next training run.
 *
 * Starts the Structured Streaming query of archive.ts on the Spark Connect server (SPARK_REMOTE):
 * Kafka `user-events` → Delta `${LAKE_ROOT}/bronze/events`, partitioned by `event_date`,
 * checkpointed in `${CHECKPOINT_DIR}/archiver-events`. The process keeps the session (and so the
 * query) alive, prints one line per completed micro-batch, and on SIGINT/SIGTERM stops the query
 * and closes the session. If the query fails, it prints the reason and exits 1 so a supervisor
 * restarts it (the checkpoint makes the restart exact).
 *
 * `--available-now` archives what the topic holds now and exits (cron-style use).
 */
import { parseArgs } from 'node:util';
import { joinLocation, lakeTables, resolveLocation } from '../../batch/lake.ts';
import { connectSpark } from '../../batch/spark.ts';
import { loadConfig } from '../../lib/config.ts';
import { describeError } from '../../lib/errors.ts';
import { sleep } from '../../lib/retry.ts';
import type { StreamingQuery, StreamingQueryProgress } from '../../lib/spark-connect/index.ts';
import { startArchiverQuery } from './archive.ts';

const USAGE = `usage: npm run stream:archive -- [--available-now] [--trigger <seconds>] [--max-offsets <n>]
  --available-now   archive what the topic holds now, then exit
  --trigger         seconds between micro-batches (default ARCHIVER_TRIGGER_SECONDS = 10)
  --max-offsets     at most this many Kafka offsets per micro-batch (default: no cap)`;

const POLL_MS = 2000;

function describeProgress(p: StreamingQueryProgress): string {
  const rate =
    p.processedRowsPerSecond === undefined ? '' : ` (${Math.round(p.processedRowsPerSecond)} rows/s)`;
  const output = p.sink?.numOutputRows === undefined ? '' : `, ${p.sink.numOutputRows} written`;
  return `batch ${p.batchId}: ${p.numInputRows} events${output}${rate}`;
}

/** Prints every new progress report; returns the last batch id seen. */
async function printNewProgress(query: StreamingQuery, lastBatch: number): Promise<number> {
  const recent = await query.recentProgress();
  for (const p of recent) {
    if (p.batchId > lastBatch) {
      console.log(`[${new Date().toISOString()}] ${describeProgress(p)}`);
      lastBatch = p.batchId;
    }
  }
  return lastBatch;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'available-now': { type: 'boolean' },
      trigger: { type: 'string' },
      'max-offsets': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const triggerSeconds =
    values.trigger === undefined ? config.stream.archiverTriggerSeconds : Number(values.trigger);
  const maxOffsets = values['max-offsets'] === undefined ? undefined : Number(values['max-offsets']);
  for (const [name, n] of [
    ['trigger', triggerSeconds],
    ['max-offsets', maxOffsets ?? 1],
  ] as const) {
    if (!(Number.isInteger(n) && n > 0)) {
      console.error(`--${name} must be a positive integer\n${USAGE}`);
      process.exit(2);
    }
  }

  const tablePath = resolveLocation(lakeTables(config.paths.lake).bronze.events);
  // joinLocation, not path.join: path.join turns `s3a://bucket/cp` into `s3a:/bucket/cp`.
  const checkpointPath = joinLocation(resolveLocation(config.paths.checkpoints), 'archiver-events');
  const { spark, version } = await connectSpark(config.spark.remote);
  let query: StreamingQuery | undefined;
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) process.exit(1); // a second signal: leave now
    stopping = true;
    console.log(`${reason}: stopping the archiver query`);
    try {
      await query?.stop();
    } catch (error) {
      console.error(`stopping the query failed: ${describeError(error)}`);
    }
    await spark.stop().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const availableNow = values['available-now'] === true;
  query = await startArchiverQuery(spark, {
    bootstrapServers: config.spark.kafkaBootstrap,
    topic: config.kafka.topics.events,
    tablePath,
    checkpointPath,
    availableNow,
    triggerSeconds,
    maxOffsetsPerTrigger: maxOffsets,
  });
  console.log(
    `archiving ${config.kafka.topics.events} (${config.spark.kafkaBootstrap}) → ${tablePath}` +
      ` on Spark ${version}; checkpoint ${checkpointPath}; ` +
      (availableNow
        ? 'available-now: exits when caught up'
        : `a micro-batch every ${triggerSeconds}s; Ctrl-C stops`),
  );

  let lastBatch = -1;
  for (;;) {
    const ended = await query.awaitTermination(POLL_MS).catch((error: unknown) => {
      if (stopping) return true; // the stop cancelled this call
      throw new Error(`the archiver query failed: ${describeError(error)}`);
    });
    if (stopping) return;
    lastBatch = await printNewProgress(query, lastBatch);
    if (ended) {
      const failure = await query.exception();
      if (failure)
        throw new Error(`the archiver query failed: ${failure.errorClass ?? ''} ${failure.message}`);
      if (!availableNow) throw new Error('the archiver query stopped on its own');
      console.log('caught up; available-now run complete');
      await spark.stop();
      return;
    }
    await sleep(0);
  }
}

main().catch((error) => {
  console.error(`stream:archive failed: ${describeError(error)}`);
  process.exit(1);
});
