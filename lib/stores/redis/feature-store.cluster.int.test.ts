/**
 * The Redis feature store on a real three-node Redis Cluster, started by this file from the
 * installed `redis-server` (temporary directory, free ports) and stopped afterwards. Checks
 * that hash tags keep each user's keys in one slot, that users spread over the nodes, and that
 * the whole conformance suite (atomic Lua updates, SCAN-based drops over every master) holds.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../retry.ts';
import { featureStoreConformance } from '../conformance/feature-store.ts';
import { RedisFeatureStore } from './feature-store.ts';

const redisServer = spawnSync('redis-server', ['--version']).status === 0;
const redisCli = spawnSync('redis-cli', ['--version']).status === 0;
const available = redisServer && redisCli;
if (!available) console.log('skipping Redis Cluster tests: redis-server and redis-cli are not installed');

/** A port that is free along with its cluster bus port (+10000). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const ok = await Promise.all([port, port + 10_000].map(isFree));
    if (ok.every(Boolean)) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const nodes: ChildProcess[] = [];
const ports: number[] = [];
let dir = '';
const prefix = `test:cluster:${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    ports.push(port);
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    nodes.push(child);
  }
  for (const port of ports) {
    for (let attempt = 0; ; attempt++) {
      const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
      if (ping.stdout.trim() === 'PONG') break;
      if (attempt > 100) throw new Error(`redis-server on port ${port} did not start`);
      await sleep(100);
    }
  }
  const created = spawnSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { encoding: 'utf8' },
  );
  if (created.status !== 0)
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  for (const port of ports) {
    const client = new Redis({ port, host: '127.0.0.1' });
    for (let attempt = 0; ; attempt++) {
      const info = (await client.call('CLUSTER', 'INFO')) as string;
      if (info.includes('cluster_state:ok')) break;
      if (attempt > 100) throw new Error(`cluster did not become ready: ${info}`);
      await sleep(100);
    }
    client.disconnect();
  }
}, 60_000);

afterAll(async () => {
  for (const child of nodes) child.kill('SIGTERM');
  await Promise.all(
    nodes.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function openClusterStore(): Promise<RedisFeatureStore> {
  const store = new RedisFeatureStore({
    url: `redis://127.0.0.1:${ports[0]}`,
    clusterNodes: ports.map((p) => `127.0.0.1:${p}`),
    keyPrefix: `${prefix}${++counter}:`,
    readTimeoutMs: 2000,
  });
  await store.start();
  return store;
}

describe.skipIf(!available)('Redis Cluster', () => {
  featureStoreConformance('redis cluster', openClusterStore);

  it('keeps a user’s keys in one slot and spreads users over every master', async () => {
    const store = await openClusterStore();
    const cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    try {
      const slotOf = async (key: string) => Number(await cluster.call('CLUSTER', 'KEYSLOT', key));
      for (const user of [0, 7, 123_456]) {
        const k = store.keys;
        const slots = await Promise.all(
          [
            k.userVector('v1', user),
            k.userVector('v2', user),
            k.history(user),
            k.profile(user),
            k.userEvents(user),
          ].map(slotOf),
        );
        expect(new Set(slots).size).toBe(1);
      }
      const metaSlots = await Promise.all(
        [store.keys.versions, store.keys.active, store.keys.vectorCounts, store.keys.trending('v1')].map(
          slotOf,
        ),
      );
      expect(new Set(metaSlots).size).toBe(1);

      await store.putVersionInfo({
        version: 'v1',
        rank: 2,
        created_at: '2026-01-01T00:00:00.000Z',
        users: 300,
        items: 0,
      });
      await store.putUserVectors(
        'v1',
        Array.from({ length: 300 }, (_, u): [number, Float32Array] => [u, new Float32Array([u, 1])]),
      );
      const perNode = await Promise.all(
        cluster.nodes('master').map(async (node) => {
          const [, keys] = await node.scan('0', 'MATCH', `${store.keys.prefix}*`, 'COUNT', 10_000);
          return keys.length;
        }),
      );
      expect(perNode).toHaveLength(3);
      for (const n of perNode) expect(n).toBeGreaterThan(30);
      expect(await store.countUserVectors('v1')).toBe(300);
    } finally {
      cluster.disconnect();
      await store.close();
    }
  });
});
