/**
 * Accepting user events from the API: resolve and check the ids, stamp each event, publish, and
 * answer only once the bus has acknowledged (so an accepted event is never lost). The publish is
 * a PRODUCER span whose context rides in the message headers, so the updater continues the trace.
 *
 * A request is accepted or rejected as a whole: if any referenced index is unknown, nothing is
 * published and the problem lists every unknown reference. A `customer_id` or `article_id` the
 * id maps do not hold is a customer or article the model has never seen: it is numbered in the
 * feature store (`assignIds`, atomic across API workers) and the event goes on like any other,
 * so the updater starts that user's history and vector and the archive keeps it for the next
 * batch, which keeps the number. Numbering is bounded per client and in total per minute
 * (`NewIdLimiter`; over the limit: 429), and off when either limit is 0 (then: 422 as unknown).
 *
 * Every event has an id that is its idempotency key: the client's `event_id`, else one derived
 * from the request's `Idempotency-Key` header and the event's position, else a new UUID. The
 * updater applies an id once and the batch reads it once, so a client that sends an event again
 * after a 503 or a lost answer (as it should) does not count it twice.
 */
import { randomUUID } from 'node:crypto';
import { v5 as uuidV5 } from 'uuid';
import type { UserEvent } from '../../lib/events.ts';
import type { Metrics } from '../../lib/observability/metrics.ts';
import { injectTraceHeaders, SpanKind, withSpan } from '../../lib/observability/tracing.ts';
import type { EventBus } from '../../lib/stores/event-bus.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import {
  invalidParameters,
  noModel,
  type ParameterError,
  tooManyNewIds,
  unknownReferences,
} from '../problem.ts';
import type { EventInput } from '../schemas.ts';
import type { NewIdLimiter } from './id-limiter.ts';

export interface EventsDeps {
  featureStore: FeatureStore;
  eventBus: EventBus;
  metrics: Metrics;
  idLimiter?: NewIdLimiter;
  now?: () => Date;
  newEventId?: () => string;
}

/** Value of `source` on events the API publishes. */
export const API_EVENT_SOURCE = 'api';

/** The namespace of the event ids derived from `Idempotency-Key` headers (UUID v5). */
export const IDEMPOTENCY_NAMESPACE = '3f1c9a52-7d4e-4b8a-9e26-5c0d8f7b1a63';

/**
 * The event id of event `index` of a request sent with `Idempotency-Key: key`: the same key and
 * position always give the same id, so a request sent again publishes the same ids, which the
 * updater applies once and the next batch reads once.
 */
export function keyedEventId(key: string, index: number): string {
  return uuidV5(`${key}#${index}`, IDEMPOTENCY_NAMESPACE);
}

/**
 * Publishes the events and returns them as sent. `pathOf(i)` names input `i` in error messages
 * (`''` for a single event, `events[3].` in a batch).
 */
export async function acceptEvents(
  deps: EventsDeps,
  inputs: readonly EventInput[],
  pathOf: (index: number) => string,
  /** Who asks, for the per-client limit on new ids (API key digest or address). */
  client = 'anonymous',
  /** The request's `Idempotency-Key` header: the events' ids derive from it. */
  idempotencyKey?: string,
): Promise<UserEvent[]> {
  const { featureStore, metrics } = deps;
  if (idempotencyKey !== undefined) {
    const both = inputs.flatMap((input, i) =>
      input.event_id === undefined
        ? []
        : [
            {
              parameter: `${pathOf(i)}event_id`,
              message: 'give either the Idempotency-Key header or event_id',
            },
          ],
    );
    if (both.length > 0) throw invalidParameters(400, both);
  }
  const userIdxs = new Map<number, Promise<boolean>>();
  const itemIdxs = new Map<number, Promise<boolean>>();
  const customers = new Map<string, Promise<number | null>>();
  const articles = new Map<string, Promise<number | null>>();
  // One lookup per distinct id, all in flight together.
  const resolved = inputs.map((input) => ({
    user:
      input.user_idx !== undefined
        ? memo(userIdxs, input.user_idx, (idx) => featureStore.customerIdOf(idx).then((c) => c !== null))
        : memo(customers, input.customer_id!, (id) => featureStore.userIdxOf(id)),
    item:
      input.item_idx !== undefined
        ? memo(itemIdxs, input.item_idx, (idx) => featureStore.articleIdOf(idx).then((a) => a !== null))
        : memo(articles, input.article_id!, (id) => featureStore.itemIdxOf(id)),
  }));

  // Original ids the maps do not hold are numbered below when the limits allow; an unknown
  // index (or original id with numbering off) is an unknown reference.
  const numbering =
    deps.idLimiter !== undefined && deps.idLimiter.limits.perClient > 0 && deps.idLimiter.limits.total > 0;
  const newCustomers = new Set<string>();
  const newArticles = new Set<string>();
  const errors: ParameterError[] = [];
  for (const [i, input] of inputs.entries()) {
    const { user, item } = resolved[i]!;
    const userFound = await user;
    const itemFound = await item;
    if (userFound === null && numbering) {
      newCustomers.add(input.customer_id!);
    } else if (userFound === false || userFound === null) {
      metrics.purchaseLookupErrors.inc({ type: 'user' });
      errors.push(
        input.user_idx !== undefined
          ? { parameter: `${pathOf(i)}user_idx`, message: `no user with user_idx ${input.user_idx}` }
          : {
              parameter: `${pathOf(i)}customer_id`,
              message: `no user with customer_id ${input.customer_id}`,
            },
      );
    }
    if (itemFound === null && numbering) {
      newArticles.add(input.article_id!);
    } else if (itemFound === false || itemFound === null) {
      metrics.purchaseLookupErrors.inc({ type: 'item' });
      errors.push(
        input.item_idx !== undefined
          ? { parameter: `${pathOf(i)}item_idx`, message: `no item with item_idx ${input.item_idx}` }
          : { parameter: `${pathOf(i)}article_id`, message: `no item with article_id ${input.article_id}` },
      );
    }
  }
  if (errors.length > 0) throw unknownReferences(errors);

  const assigned =
    newCustomers.size + newArticles.size > 0
      ? await numberNewIds(deps, client, newCustomers, newArticles)
      : new Map<string, number>();

  const events: UserEvent[] = [];
  const now = (deps.now?.() ?? new Date()).toISOString();
  for (const [i, input] of inputs.entries()) {
    const { user, item } = resolved[i]!;
    const userFound = await user;
    const itemFound = await item;
    const userIdx =
      input.user_idx ??
      (typeof userFound === 'number' ? userFound : assigned.get(`user:${input.customer_id}`)!);
    const itemIdx =
      input.item_idx ??
      (typeof itemFound === 'number' ? itemFound : assigned.get(`item:${input.article_id}`)!);
    events.push({
      event_id:
        input.event_id ??
        (idempotencyKey !== undefined
          ? keyedEventId(idempotencyKey, i)
          : (deps.newEventId?.() ?? randomUUID())),
      event_type: input.event_type,
      user_idx: userIdx,
      item_idx: itemIdx,
      ts: now,
      source: API_EVENT_SOURCE,
      ...(input.customer_id !== undefined ? { customer_id: input.customer_id } : {}),
      ...(input.article_id !== undefined ? { article_id: input.article_id } : {}),
    });
  }

  await withSpan('events.publish', () => deps.eventBus.publish(events, injectTraceHeaders()), {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.batch.message_count': events.length },
  });
  const purchases = events.reduce((n, e) => n + (e.event_type === 'purchase' ? 1 : 0), 0);
  if (purchases > 0) metrics.purchaseEventsAccepted.inc(purchases);
  return events;
}

/**
 * Numbers the new customers and articles (keys `user:<customer_id>`, `item:<article_id>` in
 * the result) within the limits: 429 over them, 503 while no id map is loaded.
 */
async function numberNewIds(
  deps: EventsDeps,
  client: string,
  customers: ReadonlySet<string>,
  articles: ReadonlySet<string>,
): Promise<Map<string, number>> {
  const limiter = deps.idLimiter!;
  const wanted = customers.size + articles.size;
  const verdict = limiter.take(client, wanted);
  if (!verdict.ok) {
    deps.metrics.idAssignmentsLimited.inc({ scope: verdict.scope });
    throw tooManyNewIds(
      verdict.scope,
      wanted,
      verdict.scope === 'client' ? limiter.limits.perClient : limiter.limits.total,
      verdict.retryAfterSeconds,
    );
  }
  let created = 0;
  try {
    const out = new Map<string, number>();
    for (const [kind, keys] of [
      ['user', customers],
      ['item', articles],
    ] as const) {
      if (keys.size === 0) continue;
      const result = await deps.featureStore.assignIds(kind, [...keys]);
      if (result === null) throw noModel();
      for (const a of result) {
        out.set(`${kind}:${a.key}`, a.idx);
        if (a.created) {
          created++;
          deps.metrics.idsAssigned.inc({ kind });
        }
      }
    }
    return out;
  } finally {
    // Only ids actually numbered count against the limits (another worker may have numbered some).
    limiter.giveBack(client, wanted - created);
  }
}

function memo<K, V>(cache: Map<K, Promise<V>>, key: K, load: (key: K) => Promise<V>): Promise<V> {
  let value = cache.get(key);
  if (value === undefined) {
    value = load(key);
    // Rejections are observed by the awaiting loop; this keeps an early throw from leaving others unhandled.
    value.catch(() => {});
    cache.set(key, value);
  }
  return value;
}
