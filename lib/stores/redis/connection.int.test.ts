/**
 * TLS and password authentication against a real Redis: this file starts its own redis-server
 * with a TLS port (a throw-away self-signed certificate made with openssl) and `requirepass`, on
 * a free port in a temporary directory, and stops it afterwards.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/net.ts';
import { DependencyError } from '../../errors.ts';
import { sleep } from '../../retry.ts';
import { RedisFeatureStore } from './feature-store.ts';

const tools =
  spawnSync('redis-server', ['--version']).status === 0 &&
  spawnSync('redis-cli', ['--version']).status === 0 &&
  spawnSync('openssl', ['version']).status === 0;
if (!tools) console.log('skipping Redis TLS tests: redis-server, redis-cli or openssl is missing');

const PASSWORD = 's3cret/with:odd@chars';
let dir = '';
let port = 0;
let server: ChildProcess | undefined;
let ca: Buffer;

beforeAll(async () => {
  if (!tools) return;
  dir = await mkdtemp(join(tmpdir(), 'redis-tls-'));
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  ca = await readFile(join(dir, 'cert.pem'));
  port = await freePort();
  server = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      'cert.pem',
      '--tls-key-file',
      'key.pem',
      '--tls-ca-cert-file',
      'cert.pem',
      '--tls-auth-clients',
      'no',
      '--requirepass',
      PASSWORD,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  for (let attempt = 0; ; attempt++) {
    const ping = spawnSync(
      'redis-cli',
      [
        '-p',
        String(port),
        '--tls',
        '--cacert',
        join(dir, 'cert.pem'),
        '--no-auth-warning',
        '-a',
        PASSWORD,
        'ping',
      ],
      { encoding: 'utf8' },
    );
    if (ping.stdout.trim() === 'PONG') break;
    if (attempt > 100) throw new Error('the TLS redis-server did not start');
    await sleep(100);
  }
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server!.once('exit', resolve));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!tools)('Redis over TLS with a password', () => {
  it('connects with rediss:// and credentials in the URL', async () => {
    const store = new RedisFeatureStore({
      url: `rediss://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
      tls: { ca },
      keyPrefix: 'tls-test:',
    });
    await store.start();
    try {
      await store.putVersionInfo({
        version: 'v1',
        rank: 2,
        created_at: '2026-01-01T00:00:00.000Z',
        users: 1,
        items: 0,
      });
      await store.putUserVectors('v1', [[1, new Float32Array([0.5, -0.5])]]);
      expect(await store.getUserVector('v1', 1)).toEqual(new Float32Array([0.5, -0.5]));
    } finally {
      await store.close();
    }
  });

  it('refuses a wrong password with a DependencyError that is not retriable', async () => {
    const store = new RedisFeatureStore({ url: `rediss://:wrong@127.0.0.1:${port}`, tls: { ca } });
    const error = await store.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).message).toMatch(/WRONGPASS|invalid/i);
    expect((error as DependencyError).retriable).toBe(false);
    await store.close();
  });

  it('does not talk plain text to a TLS port, and rejects an unknown certificate authority', async () => {
    for (const url of [
      `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
      `rediss://:x@127.0.0.1:${port}`,
    ]) {
      const store = new RedisFeatureStore({ url, connectTimeoutMs: 1500 });
      const started = Date.now();
      const error = await store.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyError);
      expect(Date.now() - started).toBeLessThan(3000);
      await store.close();
    }
  });
});
