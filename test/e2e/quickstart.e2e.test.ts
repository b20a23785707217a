/**
 * The quickstart as a newcomer runs it: `npm start` on tiny generated data in a temporary folder.
 * Waits for "Ready", uses the API (recommend, similar, profile), posts a purchase and sees the
 * recommendations change, then stops it with Ctrl-C (SIGINT) and checks that nothing it started
 * is left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start (quickstart)', () => {
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quickstart-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn('npm', ['start', '--', '--scale', 'tiny', '--rate', '2'], {
      detached: true,
      env: {
        ...process.env,
        RAW_DIR: join(dir, 'raw'),
        LAKE_ROOT: join(dir, 'lake'),
        MODELS_DIR: join(dir, 'models'),
        STAGING_DIR: join(dir, 'staging'),
        CHECKPOINT_DIR: join(dir, 'checkpoints'),
        PORT: String(port),
        HOST: '127.0.0.1',
        ALS_MAX_ITER: '5',
        ALS_RANK: '16',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes('Ready in')) {
          clearInterval(timer);
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`npm start exited with ${child.exitCode}:\n${output}`));
        }
      }, 250);
    });
  }, 540_000);

  afterAll(() => {
    if (child?.pid && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the URLs and example commands', () => {
    expect(output).toContain('data: generating tiny synthetic H&M data');
    expect(output).toContain('batch done');
    expect(output).toMatch(/demo page {3}http:\/\/127\.0\.0\.1:\d+\/demo\?user=\d+/);
    expect(output).toContain('curl ');
  });

  it('serves recommendations, similar items and profiles, and learns from a purchase', async () => {
    const user = Number(/demo\?user=(\d+)/.exec(output)?.[1]);
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      return (await res.json()) as Record<string, unknown> & { items: { item_idx: number }[] };
    };
    const before = await get(`/recommend/${user}?k=10&diversity_lambda=1`);
    expect(before['source']).toBe('personalized');
    expect(before.items).toHaveLength(10);

    const similar = await get(`/items/${before.items[0]!.item_idx}/similar?k=5`);
    expect(similar.items).toHaveLength(5);

    const profile = (await get(`/users/${user}/profile`)) as unknown as { total_purchases: number };
    expect(profile.total_purchases).toBeGreaterThan(0);

    // Buy the last-ranked item: the user's vector moves towards it.
    const bought = before.items.at(-1)!.item_idx;
    const post = await fetch(`${base}/events/purchase`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_idx: user, item_idx: bought }),
    });
    expect(post.status).toBe(202);
    await expect
      .poll(async () => JSON.stringify((await get(`/recommend/${user}?k=10&diversity_lambda=1`)).items), {
        timeout: 5000,
        interval: 100,
      })
      .not.toBe(JSON.stringify(before.items));
    const after = (await get(`/users/${user}/profile`)) as unknown as { total_purchases: number };
    expect(after.total_purchases).toBe(profile.total_purchases + 1);
  });

  it('stops everything on Ctrl-C', async () => {
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => resolve(`${code ?? signal}`)),
    );
    // Ctrl-C in a terminal signals the whole foreground group: npm and the app. npm itself may end
    // by the signal; the app must run its shutdown and exit, leaving no process of the group.
    process.kill(-child.pid!, 'SIGINT');
    expect(['0', 'SIGINT']).toContain(await exited);
    await expect.poll(() => groupAlive(child.pid!), { timeout: 15_000 }).toBe(false);
    await expect.poll(() => output, { timeout: 5000 }).toMatch(/\] stopped\n/);
    await expect(fetch(`${base}/health/live`)).rejects.toThrow();
  });
});
