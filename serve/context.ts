/**
 * What route handlers share: the guarded ports, the services built on them, and the options.
 */

import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../lib/observability/logger.ts';
import type { Metrics } from '../lib/observability/metrics.ts';
import type { EventBus } from '../lib/stores/event-bus.ts';
import type { FeatureStore } from '../lib/stores/feature-store.ts';
import type { VectorIndex } from '../lib/stores/vector-index.ts';
import type { ServeOptions } from './deps.ts';
import type { NewIdLimiter } from './services/id-limiter.ts';
import type { Recommender } from './services/recommendations.ts';

export interface ServeContext {
  featureStore: FeatureStore;
  vectorIndex: VectorIndex;
  eventBus: EventBus;
  metrics: Metrics;
  logger: Logger | undefined;
  options: ServeOptions;
  recommender: Recommender;
  now: (() => Date) | undefined;
  newEventId: (() => string) | undefined;
  /** Bounds the new ids the event endpoints number. */
  idLimiter: NewIdLimiter;
}

export type App = OpenAPIHono;
