import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeTraceId,
  extractTraceContext,
  initTracing,
  injectTraceHeaders,
  SpanKind,
  type Tracing,
  withSpan,
} from './tracing.ts';

describe('tracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('records nothing and injects no headers when disabled', async () => {
    tracing = initTracing({ enabled: false, serviceName: 'test' });
    const headers = await withSpan('noop', () => injectTraceHeaders({}));
    expect(headers).toEqual({});
    expect(activeTraceId()).toBeUndefined();
  });

  it('links a consumer span to the producer span through message headers', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = initTracing({ enabled: true, serviceName: 'test', exporter, synchronous: true });
    const headers = await withSpan('publish', () => injectTraceHeaders({ 'schema-version': '1' }), {
      kind: SpanKind.PRODUCER,
    });
    expect(headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const parent = extractTraceContext(headers);
    await withSpan('consume', async () => undefined, { kind: SpanKind.CONSUMER, parent });
    const spans = exporter.getFinishedSpans();
    const publish = spans.find((s) => s.name === 'publish')!;
    const consume = spans.find((s) => s.name === 'consume')!;
    expect(consume.spanContext().traceId).toBe(publish.spanContext().traceId);
    expect(consume.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
  });

  it('marks a span as failed when its function throws', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = initTracing({ enabled: true, serviceName: 'test', exporter, synchronous: true });
    await expect(
      withSpan('boom', () => {
        throw new Error('bad');
      }),
    ).rejects.toThrow('bad');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.code).toBe(2);
    expect(span?.events[0]?.name).toBe('exception');
  });
});
