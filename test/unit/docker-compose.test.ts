/**
 * docker-compose.yml offers the same services on the same ports as the local launcher. Checked
 * with `docker compose config` where the Compose CLI exists (no Docker engine needed).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';

const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
const hasCompose = probe.status === 0;
if (!hasCompose) console.log('docker compose CLI not found: docker-compose.yml check skipped');

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  it('is accepted by docker compose and publishes the configured default ports', () => {
    const result = spawnSync('docker', ['compose', 'config', '--format', 'json'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const compose = JSON.parse(result.stdout) as {
      services: Record<string, { ports?: { published: string; target: number }[] }>;
    };
    const published = (service: string) =>
      (compose.services[service]?.ports ?? []).map((p) => Number(p.published));
    const config = loadConfig({});
    expect(published('redis')).toContain(config.redis.endpoint.port);
    expect(published('kafka')).toContain(9092);
    expect(published('spark-connect')).toContain(config.spark.endpoint.port);
    expect(published('qdrant')).toContain(6333);
    expect(published('grafana')).toContain(3000);
    expect(published('jaeger')).toEqual(expect.arrayContaining([16686, 4318]));
    expect(published('prometheus')).toContain(9090);
  });
});
