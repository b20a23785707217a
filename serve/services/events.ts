/**
 * Accepting user events from the API: resolve and check the ids, stamp each event, publish, and
 * answer only once the bus has acknowledged (so an accepted event is never lost). The publish is
 * a PRODUCER span whose context rides in the message headers, so the updater continues the trace.
 *
 * A request is accepted or rejected as a whole: if any referenced user or item is unknown,
 * nothing is published and the problem lists every unknown reference.
 */
import { randomUUID } from 'node:crypto';
import type { UserEvent } from '../../lib/events.ts';
import type { Metrics } from '../../lib/observability/metrics.ts';
import { injectTraceHeaders, SpanKind, withSpan } from '../../lib/observability/tracing.ts';
import type { EventBus } from '../../lib/stores/event-bus.ts';
import type { FeatureStore } from '../../lib/stores/feature-store.ts';
import { type ParameterError, unknownReferences } from '../problem.ts';
import type { EventInput } from '../schemas.ts';

export interface EventsDeps {
  featureStore: FeatureStore;
  eventBus: EventBus;
  metrics: Metrics;
  now?: () => Date;
  newEventId?: () => string;
}

/** Value of `source` on events the API publishes. */
export const API_EVENT_SOURCE = 'api';

/**
 * Publishes the events and returns them as sent. `pathOf(i)` names input `i` in error messages
 * (`''` for a single event, `events[3].` in a batch).
 */
export async function acceptEvents(
  deps: EventsDeps,
  inputs: readonly EventInput[],
  pathOf: (index: number) => string,
): Promise<UserEvent[]> {
  const { featureStore, metrics } = deps;
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

  const errors: ParameterError[] = [];
  const events: UserEvent[] = [];
  const now = (deps.now?.() ?? new Date()).toISOString();
  for (const [i, input] of inputs.entries()) {
    const { user, item } = resolved[i]!;
    const userFound = await user;
    const itemFound = await item;
    const userIdx = input.user_idx ?? (typeof userFound === 'number' ? userFound : null);
    const itemIdx = input.item_idx ?? (typeof itemFound === 'number' ? itemFound : null);
    if (userFound === false || userFound === null) {
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
    if (itemFound === false || itemFound === null) {
      metrics.purchaseLookupErrors.inc({ type: 'item' });
      errors.push(
        input.item_idx !== undefined
          ? { parameter: `${pathOf(i)}item_idx`, message: `no item with item_idx ${input.item_idx}` }
          : { parameter: `${pathOf(i)}article_id`, message: `no item with article_id ${input.article_id}` },
      );
    }
    if (userIdx === null || itemIdx === null || errors.length > 0) continue;
    events.push({
      event_id: deps.newEventId?.() ?? randomUUID(),
      event_type: input.event_type,
      user_idx: userIdx,
      item_idx: itemIdx,
      ts: now,
      source: API_EVENT_SOURCE,
    });
  }
  if (errors.length > 0) throw unknownReferences(errors);

  await withSpan('events.publish', () => deps.eventBus.publish(events, injectTraceHeaders()), {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.batch.message_count': events.length },
  });
  const purchases = events.reduce((n, e) => n + (e.event_type === 'purchase' ? 1 : 0), 0);
  if (purchases > 0) metrics.purchaseEventsAccepted.inc(purchases);
  return events;
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
