/**
 * The online updater core: consumes user events from the event bus and applies them to the
 * feature store. The same core runs on Kafka + Redis (`stream/updater/main.ts`) and on the
 * in-process adapters (`npm start`).
 *
 * Per batch (one partition, offset order):
 * 1. parse every message with the v1 schema; a malformed one is dead-lettered with its reason;
 * 2. drop events already applied (same `event_id` earlier in the batch, or marked in the store
 *    atomically with the user's change: `appliedUserEvents`);
 * 3. look up the items in the active model; an unknown item or user is dead-lettered, while an
 *    item numbered since the batch (in the id map, no vector yet) only enters the history;
 * 4. fold each user's events (EMA towards the item vectors, purchases into the history) and write
 *    the user once, atomically with the ids of the events it covers, which makes a redelivery a
 *    no-op. Events of one user arriving within the debounce window reach the updater as one batch
 *    (the bus's batch window), so a burst costs one store write; each event folded into another's
 *    write counts as a debounce hit.
 * The handler resolves only when every write and dead letter is done, and the bus commits only
 * then; any failure (store or broker down) throws, the bus pauses the partition and hands the
 * same batch over again, and steps 2 and 4 keep the retry from applying anything twice.
 */
import type { Config } from '../../lib/config.ts';
import { DependencyError, describeError } from '../../lib/errors.ts';
import { type EventType, parseEvent, type UserEvent } from '../../lib/events.ts';
import type { Logger } from '../../lib/observability/logger.ts';
import type { Metrics } from '../../lib/observability/metrics.ts';
import { extractTraceContext, SpanKind, withSpan } from '../../lib/observability/tracing.ts';
import type { BatchContext, BusMessage, Consumer, EventBus } from '../../lib/stores/event-bus.ts';
import type { FeatureStore, UserUpdate } from '../../lib/stores/feature-store.ts';
import type { ItemPoint, VectorIndex } from '../../lib/stores/vector-index.ts';
import { type EventWeights, foldUserVector } from './fold.ts';

/** Product group and type recorded for an item the model has no payload for yet. */
export const UNKNOWN_GROUP = 'Unknown';

/** The metric handles the updater writes (from `createMetrics()`). */
export type UpdaterMetrics = Pick<
  Metrics,
  | 'eventsProcessed'
  | 'eventProcessingDuration'
  | 'updaterDebounceHits'
  | 'eventsDeadLettered'
  | 'consumerLag'
  | 'eventsWithoutItemVector'
>;

export interface UpdaterDeps {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  bus: EventBus;
  config: Pick<Config, 'kafka' | 'stream'>;
  metrics: UpdaterMetrics;
  logger: Logger;
  /** Overrides for tests and tools. */
  options?: UpdaterOptions;
}

export interface UpdaterOptions {
  /** @default config.kafka.consumerGroup */
  groupId?: string;
  /** Partitions handled at once. @default all assigned */
  concurrency?: number;
}

/** Why an event went to the dead-letter topic (the `dlq-reason` header and metric label). */
export type DeadLetterReason = 'malformed' | 'invalid' | 'unknown_item' | 'unknown_user';

/** Outcome label of `events_processed_total`. */
export type EventOutcome = 'applied' | 'duplicate' | 'dead_lettered';

export interface UpdaterStats {
  batches: number;
  applied: number;
  duplicates: number;
  deadLettered: number;
  /** Store writes (one per user per batch). */
  writes: number;
  debounceHits: number;
  failedBatches: number;
}

export interface Updater {
  start(): Promise<void>;
  /** Finishes the batch in hand, commits, leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** Counters since start (also exported as metrics). */
  readonly stats: Readonly<UpdaterStats>;
}

interface Accepted {
  message: BusMessage;
  event: UserEvent;
}

interface DeadLetter {
  message: BusMessage;
  eventType: string;
  reason: DeadLetterReason;
  error: string;
}

const messageKey = (m: BusMessage) => `${m.topic}/${m.partition}/${m.offset}`;

export function createUpdater(deps: UpdaterDeps): Updater {
  const { featureStore, vectorIndex, bus, metrics } = deps;
  const logger = deps.logger.child({ component: 'updater' });
  const weights: EventWeights = deps.config.stream.weights;
  const groupId = deps.options?.groupId ?? deps.config.kafka.consumerGroup;
  const stats: UpdaterStats = {
    batches: 0,
    applied: 0,
    duplicates: 0,
    deadLettered: 0,
    writes: 0,
    debounceHits: 0,
    failedBatches: 0,
  };
  /** Dead letters already sent for a batch that then failed, so its retry does not resend them. */
  const sentDeadLetters = new Set<string>();
  /**
   * Per partition, the writes that succeeded in attempts of a batch that then failed: on the
   * retry the store reports their events as already applied, and they are counted as applied
   * (not as duplicates) once the batch completes.
   */
  const partialWrites = new Map<number, { ids: Set<string>; applied: Accepted[]; writes: number }>();
  const rankByVersion = new Map<string, number>();
  /** The model version the previous batch used (a guess for the next one). */
  let lastVersion: string | null = null;

  let consumer: Consumer | undefined;
  let stopping: Promise<void> | undefined;

  function count(eventType: string, outcome: EventOutcome, n = 1): void {
    if (n > 0) metrics.eventsProcessed.inc({ event_type: eventType, outcome }, n);
  }

  async function modelRank(version: string): Promise<number> {
    let rank = rankByVersion.get(version);
    if (rank === undefined) {
      const info = await featureStore.getVersionInfo(version);
      if (!info) throw new DependencyError('feature store', `model version ${version} has no info`);
      rank = info.rank;
      rankByVersion.set(version, rank);
    }
    return rank;
  }

  async function handleBatch(messages: BusMessage[], context: BatchContext): Promise<void> {
    const started = performance.now();
    try {
      await applyBatch(messages, context.partition);
      for (const m of messages) sentDeadLetters.delete(messageKey(m));
      partialWrites.delete(context.partition);
    } catch (error) {
      stats.failedBatches++;
      logger.warn(
        { partition: context.partition, offset: messages[0]?.offset, error: describeError(error) },
        'batch failed; it will be retried',
      );
      throw error;
    } finally {
      metrics.eventProcessingDuration.observe((performance.now() - started) / 1000);
    }
    stats.batches++;
    metrics.consumerLag.set({ partition: String(context.partition) }, context.lag);
  }

  async function applyBatch(messages: BusMessage[], partition: number): Promise<void> {
    let partial = partialWrites.get(partition);
    if (!partial) {
      partial = { ids: new Set(), applied: [], writes: 0 };
      partialWrites.set(partition, partial);
    }
    const dead: DeadLetter[] = [];
    const accepted: Accepted[] = [];
    const seen = new Set<string>();
    let duplicatesInBatch: Accepted[] = [];

    for (const message of messages) {
      const parsed = parseEvent(message.value);
      if (!parsed.ok) {
        const reason = parsed.reason === 'value is not valid JSON' ? 'malformed' : 'invalid';
        dead.push({ message, eventType: 'unknown', reason, error: parsed.reason });
      } else if (seen.has(parsed.event.event_id)) {
        duplicatesInBatch.push({ message, event: parsed.event });
      } else {
        seen.add(parsed.event.event_id);
        accepted.push({ message, event: parsed.event });
      }
    }

    const updates: Array<{ update: UserUpdate; events: Accepted[] }> = [];
    if (accepted.length > 0) {
      // Every read the batch needs goes out at once: the applied marks, the model version, the
      // items and the users' vectors (read for all accepted events; the few found already
      // applied are dropped afterwards).
      // Asked where the user's changes are written (not the separate global marks), so an
      // event written just before a crash is recognised even if its global mark was lost.
      const donePromise = featureStore.appliedUserEvents(
        accepted.map((a) => ({ eventId: a.event.event_id, userIdx: a.event.user_idx })),
      );
      const itemIdxs = [...new Set(accepted.map((a) => a.event.item_idx))];
      const userIdxs = [...new Set(accepted.map((a) => a.event.user_idx))];
      const readModel = (v: string) =>
        Promise.all([
          modelRank(v),
          vectorIndex.retrieve(itemIdxs, { withVectors: true, version: v }),
          Promise.all(userIdxs.map((u) => featureStore.getUserVector(v, u))),
        ]);
      // Optimistically read with the version of the previous batch while asking for the current
      // one (it changes once per model publish), saving a round trip; a wrong guess is re-read.
      const guess = lastVersion;
      const guessed = guess ? readModel(guess) : undefined;
      for (const p of [donePromise, guessed]) p?.catch(() => {}); // awaited below
      const version = await featureStore.activeVersion();
      // Without a model there are no item vectors to learn from: wait (retry) rather than
      // dead-letter every event as "unknown".
      if (!version) throw new DependencyError('feature store', 'no active model version yet');
      lastVersion = version;
      const [done, [rank, retrieved, vectors]] = await Promise.all([
        donePromise,
        version === guess && guessed ? guessed : readModel(version),
      ]);

      let fresh = accepted;
      if (done.size > 0) {
        const p = partial;
        duplicatesInBatch = duplicatesInBatch.concat(
          accepted.filter((a) => done.has(a.event.event_id) && !p.ids.has(a.event.event_id)),
        );
        fresh = accepted.filter((a) => !done.has(a.event.event_id));
      }
      const points = new Map<number, ItemPoint>();
      for (const point of retrieved) {
        if (point.vector.length !== rank) {
          throw new DependencyError(
            'vector index',
            `item vectors have ${point.vector.length} dimensions but model ${version} has rank ${rank} (a version switch in progress?)`,
          );
        }
        points.set(point.id, point);
      }
      const current = new Map(userIdxs.map((u, i) => [u, vectors[i] ?? null]));

      // Items without a vector in the model: an article numbered after the batch (a new one, in
      // the id map) is learnt by the next batch — its purchase still enters the history; any
      // other id is unknown.
      const missing = [
        ...new Set(fresh.filter((a) => !points.has(a.event.item_idx)).map((a) => a.event.item_idx)),
      ];
      const newItems = new Set<number>();
      if (missing.length > 0) {
        const known = await Promise.all(missing.map((i) => featureStore.articleIdOf(i)));
        missing.forEach((i, n) => {
          if (known[n] !== null) newItems.add(i);
        });
      }
      const byUser = new Map<number, Accepted[]>();
      for (const a of fresh) {
        if (!points.has(a.event.item_idx) && !newItems.has(a.event.item_idx)) {
          dead.push({
            message: a.message,
            eventType: a.event.event_type,
            reason: 'unknown_item',
            error: `item_idx ${a.event.item_idx} is not in the active model ${version}`,
          });
          continue;
        }
        const list = byUser.get(a.event.user_idx);
        if (list) list.push(a);
        else byUser.set(a.event.user_idx, [a]);
      }

      const planned = await Promise.all(
        [...byUser].map(async ([userIdx, events]) => {
          const vector = current.get(userIdx) ?? null;
          // A user without a vector must at least be in the id map (a known user the model has
          // no factors for starts from the item); anything else is an unknown id.
          if (!vector && (await featureStore.customerIdOf(userIdx)) === null) {
            for (const a of events) {
              dead.push({
                message: a.message,
                eventType: a.event.event_type,
                reason: 'unknown_user',
                error: `user_idx ${userIdx} is not in the id map`,
              });
            }
            return null;
          }
          return planUserUpdate(version, userIdx, vector, events, points);
        }),
      );
      for (const plan of planned) if (plan) updates.push(plan);
    }

    const toSend = dead.filter((d) => !sentDeadLetters.has(messageKey(d.message)));
    const sent = await Promise.allSettled(
      toSend.map(async (d) => {
        await bus.publishDeadLetter(d.message, d.reason, d.error);
        sentDeadLetters.add(messageKey(d.message));
      }),
    );
    const unsent = sent.find((r) => r.status === 'rejected');
    if (unsent) throw unsent.reason;
    // allSettled: a retry must not start while a write of this attempt is still in flight.
    const p = partial;
    const results = await Promise.allSettled(
      updates.map(async ({ update, events }) => {
        // Continue the trace of the request that published the event (API → Kafka → here).
        const traced = events.find((a) => a.message.headers['traceparent'] !== undefined);
        const write = () => featureStore.applyUserUpdate(update);
        await (traced
          ? withSpan('updater.apply_user_update', write, {
              kind: SpanKind.CONSUMER,
              parent: extractTraceContext(traced.message.headers),
              attributes: { 'recsys.user_idx': update.userIdx, 'recsys.events': events.length },
            })
          : write());
        for (const id of update.eventIds) p.ids.add(id);
        p.applied.push(...events);
        p.writes++;
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const applied = p.applied;

    // Count only once everything is durable, so a retried batch is not counted twice.
    for (const d of dead) {
      count(d.eventType, 'dead_lettered');
      metrics.eventsDeadLettered.inc({ reason: d.reason });
      logger.debug({ reason: d.reason, error: d.error, offset: d.message.offset }, 'event dead-lettered');
    }
    for (const a of applied) count(a.event.event_type, 'applied');
    for (const a of duplicatesInBatch) count(a.event.event_type, 'duplicate');
    const hits = applied.length - p.writes;
    if (hits > 0) metrics.updaterDebounceHits.inc(hits);
    stats.applied += applied.length;
    stats.duplicates += duplicatesInBatch.length;
    stats.deadLettered += dead.length;
    stats.writes += p.writes;
    stats.debounceHits += hits;
  }

  function planUserUpdate(
    version: string,
    userIdx: number,
    current: Float32Array | null,
    events: Accepted[],
    points: Map<number, ItemPoint>,
  ): { update: UserUpdate; events: Accepted[] } {
    // An item without a vector (new since the batch) moves nothing; its purchase is recorded.
    const steps = events.flatMap((a) => {
      const point = points.get(a.event.item_idx);
      return point ? [{ itemVector: point.vector, eventType: a.event.event_type as EventType }] : [];
    });
    const vector = foldUserVector(current, steps, weights);
    const purchases = events
      .filter((a) => a.event.event_type === 'purchase')
      .map((a) => {
        const payload = points.get(a.event.item_idx)?.payload;
        return {
          item_idx: a.event.item_idx,
          ts: a.event.ts,
          product_group_name: payload?.product_group_name ?? UNKNOWN_GROUP,
          product_type_name: payload?.product_type_name ?? UNKNOWN_GROUP,
        };
      });
    const withoutVector = events.length - steps.length;
    if (withoutVector > 0) metrics.eventsWithoutItemVector.inc(withoutVector);
    const update: UserUpdate = { version, userIdx, eventIds: events.map((a) => a.event.event_id) };
    if (vector) update.vector = vector;
    if (purchases.length > 0) update.purchases = purchases;
    return { update, events };
  }

  return {
    stats,
    async start() {
      if (consumer) return;
      consumer = await bus.consume({
        groupId,
        batchWindowMs: deps.config.stream.debounceMs,
        concurrency: deps.options?.concurrency,
        onBatch: handleBatch,
      });
      logger.info({ groupId, debounceMs: deps.config.stream.debounceMs, weights }, 'updater started');
    },
    stop() {
      stopping ??= (async () => {
        await consumer?.stop();
        logger.info({ ...stats }, 'updater stopped');
      })();
      return stopping;
    },
  };
}
