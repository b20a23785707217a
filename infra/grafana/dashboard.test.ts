/**
 * The provisioned dashboard must only query metrics the registry really exports, so a renamed
 * metric breaks this test instead of a panel.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../lib/observability/metrics.ts';

interface Panel {
  title: string;
  targets: { expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('./provisioning/dashboards/recommendation-system.json', import.meta.url), 'utf8'),
) as { title: string; panels: Panel[] };

const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'rate',
  'le',
  'histogram_quantile',
  'clamp_min',
  'route',
  'source',
  'user_type',
  'reason',
  'event_type',
  'outcome',
  'partition',
  'operation',
  'type',
  'status',
  'job',
]);

/** Metric names referenced by a PromQL expression (identifiers that are not functions or labels). */
function metricNames(expr: string): string[] {
  const withoutRanges = expr
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/(?<![a-zA-Z0-9_])\d+(\.\d+)?(e[-+]?\d+)?/gi, '');
  const identifiers = withoutRanges.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return identifiers
    .filter((id) => !PROMQL_WORDS.has(id))
    .map((id) => id.replace(/_(bucket|sum|count)$/, ''));
}

describe('Grafana dashboard "Recommendation System"', () => {
  it('has the promised title and the panels operators need', () => {
    expect(dashboard.title).toBe('Recommendation System');
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const word of [
      'request rate',
      'latency',
      'fallback',
      'events processed',
      'debounce',
      'lag',
      'mmr',
      'redis',
    ]) {
      expect(titles).toContain(word);
    }
  });

  it('queries only metrics that the registry exports', async () => {
    const { registry } = createMetrics();
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const referenced = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr)));
    expect(referenced.length).toBeGreaterThan(20);
    const unknown = [...new Set(referenced)].filter((name) => !exported.has(name));
    expect(unknown).toEqual([]);
  });
});
