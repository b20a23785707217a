/**
 * Observability end to end on the in-process adapters: a scripted set of API calls must leave
 * exactly the expected counts in `/metrics` (every promised metric present), the online updater
 * must report into the same registry, and one purchase must be one trace from the API request
 * through the event bus to the updater's write.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { createMetrics, type Metrics } from '../lib/observability/metrics.ts';
import { initTracing, type Tracing } from '../lib/observability/tracing.ts';
import { sleep } from '../lib/retry.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { MemoryEventBus } from '../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { createUpdater, type Updater } from '../stream/updater/updater.ts';
import { PROMISED_METRICS } from '../test/support/promised-metrics.ts';
import { createApp } from './app.ts';
import { loadWorld, UNKNOWN_ITEM, WORLD_USERS } from './testing/world.ts';

const TOPICS = { events: 'user-events', deadLetter: 'user-events-dlq' };

/** Sample values of a Prometheus text page, keyed by `name{labels}` exactly as printed. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** The memory stores with the contract-test catalogue, an app and an updater sharing them. */
async function system(metrics: Metrics) {
  const featureStore = new MemoryFeatureStore();
  const vectorIndex = new EmbeddedVectorIndex();
  const eventBus = new MemoryEventBus({ topics: TOPICS });
  await Promise.all([featureStore.start(), vectorIndex.start(), eventBus.start()]);
  await loadWorld(featureStore, vectorIndex);
  // Purchases excluded: the script's counts of excluded history items assume it.
  const app = createApp({ featureStore, vectorIndex, eventBus, metrics, options: { repurchase: 'exclude' } });
  const updater = createUpdater({
    featureStore,
    vectorIndex,
    bus: eventBus,
    config: loadConfig({
      KAFKA_TOPIC_EVENTS: TOPICS.events,
      KAFKA_TOPIC_DLQ: TOPICS.deadLetter,
      UPDATER_DEBOUNCE_MS: '0',
    }),
    metrics,
    logger: createLogger({ level: 'silent' }),
  });
  return {
    app,
    eventBus,
    updater,
    async close() {
      await updater.stop();
      await eventBus.close();
      await vectorIndex.close();
      await featureStore.close();
    },
  };
}

async function waitFor(updater: Updater, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`updater stalled: ${JSON.stringify(updater.stats)}`);
    await sleep(5);
  }
}

const jsonPost = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});

describe('metrics after a scripted session', () => {
  it('exposes every promised metric with the counts the script implies', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const s = await system(metrics);
    try {
      const statuses: number[] = [];
      const call = async (path: string, init?: RequestInit) => {
        statuses.push((await s.app.request(path, init)).status);
      };
      const [withHistory, withoutHistory, cold] = WORLD_USERS;
      // Known user with history: filters, exclusions, explanations, strong diversity.
      await call(
        `/recommend/${withHistory!.userIdx}?k=3&product_group=Shoes,Accessories&exclude_ids=21,22&explain=true&diversity_lambda=0.5`,
      );
      await call(`/recommend/${withoutHistory!.userIdx}?k=3`); // default lambda 0.8: MMR
      await call(`/recommend/${withoutHistory!.userIdx}?k=2&diversity_lambda=1`); // no MMR
      await call(`/recommend/${cold!.userIdx}?k=3`); // no vector: trending
      await call('/recommend/0?k=0'); // bad parameter
      await call('/items/4/similar?k=3');
      await call(`/items/${UNKNOWN_ITEM}/similar`);
      await call(`/users/${withHistory!.userIdx}/profile`);
      await call('/events/purchase', jsonPost({ user_idx: 1, item_idx: 7 }));
      await call('/events/purchase', jsonPost({ user_idx: 1, item_idx: UNKNOWN_ITEM }));
      expect(statuses).toEqual([200, 200, 200, 200, 400, 200, 404, 200, 202, 422]);

      // Straight onto the bus: two more events of user 1 (folded into one write with the API's
      // purchase) and one for an item the model does not have (dead-lettered).
      const ts = new Date().toISOString();
      await s.eventBus.publish([
        { event_id: crypto.randomUUID(), event_type: 'click', user_idx: 1, item_idx: 8, ts },
        { event_id: crypto.randomUUID(), event_type: 'add_to_cart', user_idx: 1, item_idx: 9, ts },
        { event_id: crypto.randomUUID(), event_type: 'purchase', user_idx: 1, item_idx: UNKNOWN_ITEM, ts },
      ]);
      await s.updater.start();
      await waitFor(s.updater, () => s.updater.stats.applied + s.updater.stats.deadLettered >= 4);

      const res = await s.app.request('/metrics');
      expect(res.status).toBe(200);
      const text = await res.text();
      for (const name of PROMISED_METRICS) {
        expect(text, name).toContain(`# TYPE ${name} `);
        expect(text, `${name} has a sample`).toMatch(new RegExp(`^${name}(_count|_bucket)?[{ ]`, 'm'));
      }
      const got = samples(text);
      const expected: Record<string, number> = {
        'recommendation_requests_total{source="personalized",user_type="known"}': 3,
        'recommendation_requests_total{source="trending",user_type="cold"}': 1,
        'recommendation_fallback_total{reason="cold_start"}': 1,
        recommendation_diversity_score_count: 3,
        'filter_applied_total{type="product_group"}': 1,
        'filter_applied_total{type="exclude_ids"}': 1,
        // user 0 has bought 4 distinct items, the cold user 1
        items_excluded_history_total: withHistory!.purchases.length + cold!.purchases.length,
        items_excluded_explicit_total: 2,
        explain_requests_total: 1,
        explain_computation_duration_seconds_count: 1,
        mmr_rerank_applied_total: 2,
        mmr_rerank_duration_seconds_count: 2,
        'similar_items_requests_total{status="ok"}': 1,
        'similar_items_requests_total{status="not_found"}': 1,
        user_profile_requests_total: 1,
        purchase_events_accepted_total: 1,
        'purchase_lookup_errors_total{type="item"}': 1,
        qdrant_search_duration_seconds_count: 4, // three personalized + one similar
        // explained history, trending metadata, profile items, both similar-item queries
        qdrant_retrieve_duration_seconds_count: 5,
        'http_requests_total{route="/recommend/:user_idx",method="GET",status="200"}': 4,
        'http_requests_total{route="/recommend/:user_idx",method="GET",status="400"}': 1,
        'http_requests_total{route="/items/:item_idx/similar",method="GET",status="404"}': 1,
        'http_requests_total{route="/events/purchase",method="POST",status="202"}': 1,
        'events_processed_total{event_type="purchase",outcome="applied"}': 1,
        'events_processed_total{event_type="click",outcome="applied"}': 1,
        'events_processed_total{event_type="add_to_cart",outcome="applied"}': 1,
        'events_processed_total{event_type="purchase",outcome="dead_lettered"}': 1,
        'events_dead_lettered_total{reason="unknown_item"}': 1,
        updater_debounce_hits_total: 2,
      };
      const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, got.get(key)]));
      expect(actual).toEqual(expected);
      expect(got.has('purchase_lookup_errors_total{type="user"}')).toBe(false);
      expect(got.get('event_processing_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      expect([...got.keys()].some((key) => key.startsWith('consumer_lag{partition='))).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('one trace from the API through the bus to the updater', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('links the updater write to the request that published the purchase, and traces the stages', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = initTracing({ enabled: true, serviceName: 'observability-test', exporter, synchronous: true });
    const s = await system(createMetrics({ defaultMetrics: false }));
    let spans: ReadableSpan[];
    try {
      await s.updater.start();
      const res = await s.app.request('/events/purchase', jsonPost({ user_idx: 0, item_idx: 3 }));
      expect(res.status).toBe(202);
      await waitFor(s.updater, () => s.updater.stats.applied >= 1);
      expect((await s.app.request('/recommend/0?k=3&explain=true')).status).toBe(200);
      spans = exporter.getFinishedSpans(); // shutting down clears the exporter
    } finally {
      await s.close();
    }

    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    const ancestors = (span: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let id = span.parentSpanContext?.spanId; id !== undefined; ) {
        const parent = byId.get(id);
        if (parent === undefined) break;
        names.push(parent.name);
        id = parent.parentSpanContext?.spanId;
      }
      return names;
    };
    const one = (name: string) => {
      const found = spans.filter((span) => span.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };

    const request = one('POST /events/purchase');
    const apply = one('updater.apply_user_update');
    expect(apply.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(ancestors(apply)).toEqual(['events.publish', 'POST /events/purchase']);

    const recommend = one('GET /recommend/:user_idx');
    for (const stage of [
      'recommend.user_vector',
      'recommend.candidates',
      'recommend.mmr',
      'recommend.explain',
    ]) {
      expect(ancestors(one(stage)), stage).toEqual(['GET /recommend/:user_idx']);
    }
    expect(one('recommend.candidates').spanContext().traceId).toBe(recommend.spanContext().traceId);
    const userVector = one('feature_store.getUserState');
    expect(ancestors(userVector)).toEqual(['recommend.user_vector', 'GET /recommend/:user_idx']);
    expect(userVector.attributes['db.system']).toBe('memory');
    const search = spans.find(
      (span) =>
        span.name === 'vector_index.search' && span.spanContext().traceId === recommend.spanContext().traceId,
    )!;
    expect(ancestors(search)).toEqual(['recommend.candidates', 'GET /recommend/:user_idx']);
    expect(search.attributes['db.system']).toBe('embedded');
  });
});
