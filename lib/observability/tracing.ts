/**
 * OpenTelemetry tracing: off unless configured, and free when off.
 *
 * `initTracing()` installs a tracer provider with an OTLP/HTTP exporter (Jaeger v2 accepts OTLP)
 * and a parent-based ratio sampler, or, when tracing is disabled, installs nothing, so every
 * `tracer.startActiveSpan` is the API's no-op. Trace context crosses Kafka in message headers with
 * the W3C `traceparent`/`tracestate` format (`injectTraceHeaders` / `extractTraceContext`), so one
 * purchase is one trace from the API to the updater.
 */
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export { type Context, type Span, SpanKind, SpanStatusCode, type Tracer };

export interface TracingOptions {
  enabled: boolean;
  serviceName: string;
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Head sampling ratio for root spans (children follow their parent). @default 1 */
  sampleRatio?: number;
  /** Replaces the OTLP exporter (tests pass an in-memory exporter). */
  exporter?: SpanExporter;
  /** Export each span at once instead of in batches (tests). @default false */
  synchronous?: boolean;
}

export interface Tracing {
  readonly enabled: boolean;
  tracer(name?: string): Tracer;
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting. Runs once; later calls return the same promise. */
  shutdown(): Promise<void>;
}

const TRACER_NAME = 'recsys';

/** Whether a tracer provider installed by `initTracing` is exporting (until its shutdown). */
let exporting = false;

/**
 * True while tracing is on. With it off every span is a no-op, so hot paths (the per-request
 * server span) can skip creating one and the closures it needs.
 */
export function tracingEnabled(): boolean {
  return exporting;
}

export function initTracing(options: TracingOptions): Tracing {
  if (!options.enabled) {
    return {
      enabled: false,
      tracer: (name = TRACER_NAME) => trace.getTracer(name),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
  }
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({
      url: `${(options.endpoint ?? 'http://localhost:4318').replace(/\/$/, '')}/v1/traces`,
    });
  const processor: SpanProcessor = options.synchronous
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [processor],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  exporting = true;
  let shutdownPromise: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: (name = TRACER_NAME) => provider.getTracer(name),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => {
      shutdownPromise ??= provider.shutdown().finally(() => {
        exporting = false;
        trace.disable();
        propagation.disable();
        context.disable();
      });
      return shutdownPromise;
    },
  };
}

/** The project tracer (the no-op one until `initTracing` enables tracing). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a new active span, records an exception and error status when it throws,
 * and ends the span. With tracing off this costs one no-op span object.
 */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Writes the active trace context into message headers (Kafka) and returns them. */
export function injectTraceHeaders(
  headers: Record<string, string> = {},
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, headers);
  return headers;
}

/** Reads a trace context from message headers; the root context when there is none. */
export function extractTraceContext(headers: Record<string, string | Buffer | undefined>): Context {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) carrier[key] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return propagation.extract(context.active(), carrier);
}

/** The trace id of the active span, for log lines; undefined when there is none. */
export function activeTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  const id = span?.spanContext().traceId;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}
