/**
 * What the app factory needs: the three ports, a metrics registry, and serving options.
 *
 * `createApp` wraps the stores it is given with timing and deadlines itself, so callers (main.ts,
 * tests, the benchmark) pass plain adapters.
 */

import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { Metrics } from '../lib/observability/metrics.ts';
import type { EventBus } from '../lib/stores/event-bus.ts';
import type { FeatureStore } from '../lib/stores/feature-store.ts';
import type { VectorIndex } from '../lib/stores/vector-index.ts';
import type { RepurchaseMode, RepurchaseOptions } from './pipeline/repurchase.ts';
import type { IdLimits } from './services/id-limiter.ts';
import type { TrendingSegmentsSetting } from './services/recommendations.ts';

export interface ServeOptions {
  /** MMR candidates = k × this. @default 4 */
  oversampling: number;
  /**
   * How a request treats the user's purchases unless it says otherwise: `auto` (the repurchase
   * stage: recent purchases compete with the model's new items, lifted by recency), `include`
   * (ordinary candidates), `exclude` (left out).
   * @default 'auto'
   */
  repurchase: RepurchaseMode;
  /** The repurchase stage's window, half-life and size. */
  repurchaseStage: RepurchaseOptions;
  /** Budget of one store call on the request path. @default 250 */
  storeTimeoutMs: number;
  /** Budget of the event bus acknowledgement of a publish. @default 5000 */
  publishTimeoutMs: number;
  /** Keys accepted on the event endpoints; empty = no key needed. @default [] */
  apiKeys: readonly string[];
  /** Origins allowed by CORS (`*` for any); empty = no CORS headers. @default [] */
  corsOrigins: readonly string[];
  /** Largest accepted request body. @default 1 MiB */
  bodyLimitBytes: number;
  /** Recent purchases compared with each item for explanations. @default 20 */
  explainHistory: number;
  /** How long a trending list (with its item metadata) is reused before it is read again. @default 30000 */
  trendingTtlMs: number;
  /**
   * Cold users (no vector) with a known customer segment get their segment's trending list:
   * `on`, `off`, or `auto` — what the served version's evaluation chose (off without figures).
   */
  trendingSegments: TrendingSegmentsSetting;
  /** New customer and article ids the event endpoints may number per minute. @default 600 per client, 6000 in all */
  newIds: IdLimits;
}

export const SERVE_DEFAULTS: ServeOptions = {
  oversampling: 4,
  repurchase: 'auto',
  repurchaseStage: { windowDays: 'auto', halfLifeDays: 3, maxItems: 12, boost: 'auto', fill: 'auto' },
  storeTimeoutMs: 250,
  publishTimeoutMs: 5000,
  apiKeys: [],
  corsOrigins: [],
  bodyLimitBytes: 1_048_576,
  explainHistory: 20,
  trendingTtlMs: 30_000,
  trendingSegments: 'auto',
  newIds: { perClient: 600, total: 6000 },
};

export interface AppDeps {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  eventBus: EventBus;
  metrics: Metrics;
  logger?: Logger;
  options?: Partial<ServeOptions>;
  /** Clock for event timestamps and purchase ages, replaceable in tests. @default () => new Date() */
  now?: () => Date;
  /** Event id source, replaceable in tests. @default crypto.randomUUID */
  newEventId?: () => string;
}

export function serveOptionsFromConfig(config: Config): ServeOptions {
  return {
    ...SERVE_DEFAULTS,
    oversampling: config.api.oversampling,
    repurchase: config.api.repurchase,
    repurchaseStage: config.api.repurchaseStage,
    storeTimeoutMs: config.api.storeTimeoutMs,
    publishTimeoutMs: config.api.publishTimeoutMs,
    apiKeys: config.api.apiKeys,
    corsOrigins: config.api.corsOrigins,
    bodyLimitBytes: config.api.bodyLimitBytes,
    explainHistory: config.api.explainHistory,
    newIds: config.api.newIds,
    trendingTtlMs: config.api.trendingTtlMs,
    trendingSegments: config.api.trendingSegments,
  };
}
