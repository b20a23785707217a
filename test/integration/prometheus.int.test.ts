/**
 * A real Prometheus (Debian's package) scrapes a running API and a running updater: both
 * targets turn up, and a recommendation served by the API shows in a PromQL query.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { freePort } from '../support/net.ts';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (!hasPrometheus) console.log('prometheus not installed (apt-get install prometheus): scrape test skipped');

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

describe.skipIf(!hasPrometheus)('Prometheus scraping the API and the updater', () => {
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  let dir: string;
  let apiPort: number;
  let promPort: number;

  function start(command: string, args: string[], env: Record<string, string>): void {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    children.push(child);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    await syntheticBundle({ items: 500, users: 50, rank: 8, seed: 3, outDir: join(dir, 'models') });
    [apiPort, promPort] = [await freePort(), await freePort()];
    const updaterPort = await freePort();
    const id = randomUUID().slice(0, 8);
    start(process.execPath, ['--import', 'tsx', 'serve/main.ts'], {
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      MODELS_DIR: join(dir, 'models'),
      LOG_LEVEL: 'warn',
    });
    start(process.execPath, ['--import', 'tsx', 'stream/updater/main.ts'], {
      EVENT_BUS: 'kafka',
      FEATURE_STORE: 'redis',
      REDIS_KEY_PREFIX: `prom-${id}:`,
      KAFKA_TOPIC_EVENTS: `prom-events-${id}`,
      KAFKA_TOPIC_DLQ: `prom-dlq-${id}`,
      KAFKA_CONSUMER_GROUP: `prom-${id}`,
      UPDATER_METRICS_PORT: String(updaterPort),
      MODELS_DIR: join(dir, 'models'),
      LOG_LEVEL: 'warn',
    });
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        `  - { job_name: recsys-api, static_configs: [{ targets: ["127.0.0.1:${apiPort}"] }] }`,
        `  - { job_name: recsys-updater, static_configs: [{ targets: ["127.0.0.1:${updaterPort}"] }] }`,
        '',
      ].join('\n'),
    );
    start(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      {},
    );
  }, 60_000);

  afterAll(async () => {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  const prom = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${promPort}${path}`);
    return (await res.json()) as { data: Record<string, unknown> };
  };

  it('shows both targets up', async () => {
    await expect
      .poll(
        async () => {
          try {
            const body = await prom('/api/v1/targets');
            const targets = body.data['activeTargets'] as Target[];
            return targets.map((t) => `${t.labels['job']}=${t.health}`).sort();
          } catch {
            return [];
          }
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(['recsys-api=up', 'recsys-updater=up']);
  });

  it('collects the API counters it serves', async () => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/recommend/1?k=5`);
    expect(res.status).toBe(200);
    await expect
      .poll(
        async () => {
          const body = await prom('/api/v1/query?query=sum(recommendation_requests_total)');
          const result = body.data['result'] as { value: [number, string] }[];
          return Number(result[0]?.value[1] ?? 0);
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(1);
    const up = await prom('/api/v1/query?query=up');
    expect((up.data['result'] as unknown[]).length).toBe(2);
  });
});
