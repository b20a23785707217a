/**
 * Timing and tracing decorators for the store ports.
 *
 * `instrumentFeatureStore` and `instrumentVectorIndex` wrap any adapter of a port and record how
 * long each call takes into the shared metrics (`redis_operation_duration_seconds{operation}` for
 * the feature store, `qdrant_search_duration_seconds` / `qdrant_retrieve_duration_seconds` for the
 * vector index), so adapters stay free of metrics code and the embedded adapters are measured the
 * same way as the networked ones. Failed calls are timed too: a slow failure is still slow.
 *
 * When the caller runs inside a recording span, each call also gets a CLIENT span
 * (`feature_store.<method>` / `vector_index.search|retrieve`, with `db.system` naming the
 * adapter: redis | memory | qdrant | embedded). Without one (tracing off, or a request the sampler
 * dropped) the call goes straight through: one active-span lookup, no span, no extra closure.
 */
import { type Attributes, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FeatureStore } from '../stores/feature-store.ts';
import type { VectorIndex } from '../stores/vector-index.ts';
import type { Metrics } from './metrics.ts';
import { tracer } from './tracing.ts';

export type AsyncMethod = (...args: never[]) => Promise<unknown>;
type Observer = (seconds: number) => void;

/** Data operations of the feature store port (every method but the lifecycle ones). */
export const FEATURE_STORE_OPERATIONS = [
  'ping',
  'putVersionInfo',
  'getVersionInfo',
  'listVersions',
  'activateVersion',
  'activeVersion',
  'dropVersion',
  'putUserVectors',
  'getUserVector',
  'countUserVectors',
  'putTrending',
  'getTrending',
  'putUserIds',
  'putItemIds',
  'userIdxOf',
  'customerIdOf',
  'itemIdxOf',
  'articleIdOf',
  'assignIds',
  'liveIds',
  'forgetLiveIds',
  'putUserSegments',
  'getUserSegment',
  'putProfiles',
  'getRecentPurchases',
  'getProfileCounters',
  'getPurchasedItems',
  'getUserState',
  'processedEventIds',
  'appliedUserEvents',
  'applyUserUpdate',
] as const satisfies ReadonlyArray<keyof FeatureStore>;

/**
 * A proxy of `target` in which each method that `wrapperFor` returns a wrapper for is replaced by
 * that wrapper; other properties pass through. Wrappers are built once per method, on first use.
 */
export function wrapMethods<T extends object>(
  target: T,
  wrapperFor: (method: string, original: AsyncMethod) => AsyncMethod | undefined,
): T {
  const wrapped = new Map<string, unknown>();
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let fn = wrapped.get(property);
      if (fn === undefined) {
        const original = (value as AsyncMethod).bind(object);
        fn = wrapperFor(property, original) ?? original;
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}

/** What to record about the calls of one method: its duration, and the span to open when traced. */
export interface CallRecorder {
  observe: Observer;
  /** Span opened around the call when the caller's span is recording; none when omitted. */
  span?: { name: string; attributes: Attributes };
}

/**
 * Reports the duration of the async methods `recorderFor` names (a call costs two clock reads)
 * and, inside a recording span, wraps each call in a child span.
 */
export function timeMethods<T extends object>(
  target: T,
  recorderFor: (method: string) => CallRecorder | Observer | undefined,
): T {
  return wrapMethods(target, (method, original) => {
    const recorder = recorderFor(method);
    if (recorder === undefined) return undefined;
    return typeof recorder === 'function'
      ? timed(original, recorder)
      : timed(original, recorder.observe, recorder.span);
  });
}

function timed(method: AsyncMethod, observe: Observer, span?: CallRecorder['span']): AsyncMethod {
  // Not an async function: the caller gets the adapter's own promise, and the duration is
  // recorded beside it, so timing adds no promise layer (and no microtask) to the call.
  return (...args) => {
    if (span !== undefined && trace.getActiveSpan()?.isRecording())
      return traced(method, args, observe, span);
    const start = performance.now();
    const done = () => observe((performance.now() - start) / 1000);
    let result: Promise<unknown>;
    try {
      result = method(...args);
    } catch (error) {
      done();
      return Promise.reject(error);
    }
    result.then(done, done);
    return result;
  };
}

function traced(
  method: AsyncMethod,
  args: never[],
  observe: Observer,
  { name, attributes }: NonNullable<CallRecorder['span']>,
): Promise<unknown> {
  return tracer().startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const start = performance.now();
    try {
      return await method(...args);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      observe((performance.now() - start) / 1000);
      span.end();
    }
  });
}

const featureStoreOperations = new Set<string>(FEATURE_STORE_OPERATIONS);

export function instrumentFeatureStore(store: FeatureStore, metrics: Metrics): FeatureStore {
  return timeMethods(store, (method) => {
    if (!featureStoreOperations.has(method)) return undefined;
    const child = metrics.redisOperationDuration.labels({ operation: method });
    return {
      observe: (seconds) => child.observe(seconds),
      span: {
        name: `feature_store.${method}`,
        attributes: { 'db.system': store.kind, 'db.operation.name': method },
      },
    };
  });
}

export function instrumentVectorIndex(index: VectorIndex, metrics: Metrics): VectorIndex {
  return timeMethods(index, (method) => {
    const histogram =
      method === 'search'
        ? metrics.qdrantSearchDuration
        : method === 'retrieve'
          ? metrics.qdrantRetrieveDuration
          : undefined;
    if (histogram === undefined) return undefined;
    return {
      observe: (seconds) => histogram.observe(seconds),
      span: {
        name: `vector_index.${method}`,
        attributes: { 'db.system': index.kind, 'db.operation.name': method },
      },
    };
  });
}
