/**
 * Gorse as a serving peer: starts a `gorse-in-one` binary (built from Gorse's public source; see
 * docs/benchmarks.md) with `bench/peers/gorse.toml` in a fresh directory, loads the same items and
 * the same users' purchases the `serving-peers` bench gives our API (from the synthetic bundle),
 * waits until Gorse has trained its matrix factorization and cached the users' lists, and serves
 * `GET /api/recommend/{user}?n=k`. Benchmark peer only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleReader, latestBundle } from '../lib/stores/bundle.ts';
import { freePort, stopServer } from './api-load.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface GorseArm {
  arm: {
    name: string;
    url: string;
    pid: number;
    path: (user: number) => string;
    items: (body: unknown) => unknown[] | undefined;
    scenarios: string[];
    stop: () => Promise<void>;
  };
  /** Items and purchases loaded, and how long Gorse took to train and fill its cache. */
  loaded: { items: number; feedback: number; users: number; trainSeconds: number };
  cleanup: () => Promise<void>;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`Gorse: ${what} not done after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** POSTs JSONL to one of Gorse's bulk import endpoints (multipart, field `file`). */
async function bulk(url: string, kind: 'items' | 'feedback', lines: string[]): Promise<void> {
  const form = new FormData();
  form.set('file', new Blob([`${lines.join('\n')}\n`], { type: 'application/jsonl' }), `${kind}.jsonl`);
  const res = await fetch(`${url}/api/bulk/${kind}`, { method: 'POST', body: form });
  if (!res.ok) throw new Error(`Gorse bulk ${kind}: ${res.status} ${await res.text()}`);
}

export async function startGorse(options: {
  binary: string;
  modelsDir: string;
  users: number;
  k: number;
  trainTimeoutMs?: number;
}): Promise<GorseArm | { skipped: string }> {
  if (!existsSync(options.binary)) return { skipped: `no gorse-in-one binary at ${options.binary}` };
  const bundleDir = await latestBundle(options.modelsDir);
  if (bundleDir === null) throw new Error(`no bundle in ${options.modelsDir}`);
  const runDir = await mkdtemp(join(tmpdir(), 'bench-gorse-'));
  for (const dir of ['blob', 'master']) await mkdir(join(runDir, dir), { recursive: true });
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const template = await readFile(join(here, 'peers', 'gorse.toml'), 'utf8');
  const configPath = join(runDir, 'config.toml');
  await writeFile(
    configPath,
    template
      .replaceAll('{{RUN_DIR}}', runDir)
      .replaceAll('{{GRPC_PORT}}', String(grpcPort))
      .replaceAll('{{HTTP_PORT}}', String(httpPort)),
  );
  const child: ChildProcess = spawn(
    options.binary,
    [
      '-c',
      configPath,
      '--cache-path',
      join(runDir, 'master'),
      '--log-path',
      join(runDir, 'gorse.log'),
      '--access-log-path',
      join(runDir, 'access.log'),
    ],
    { cwd: runDir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = () => {
    if (child.exitCode !== null) return Promise.resolve();
    // gorse-in-one waits for an interrupt to shut down.
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    return Promise.race([exited, new Promise<void>((r) => setTimeout(r, 10_000))]).then(() =>
      stopServer(child),
    );
  };
  const cleanup = async () => {
    await stop();
    await rm(runDir, { recursive: true, force: true });
  };
  try {
    console.log(`[gorse] starting ${options.binary} (run dir ${runDir})`);
    await until('start-up', 120_000, async () => {
      if (child.exitCode !== null) throw new Error(`gorse-in-one exited: ${stderr}`);
      return (await fetch(`${url}/api/health/ready`)).ok ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${stderr}`);
    });

    const bundle = await BundleReader.open(bundleDir);
    const items: string[] = [];
    for await (const points of bundle.items()) {
      for (const p of points) {
        items.push(
          JSON.stringify({
            ItemId: String(p.id),
            IsHidden: false,
            Categories: [p.payload.product_group_name],
            Timestamp: '2020-01-01T00:00:00Z',
            Labels: { product_type_name: p.payload.product_type_name },
            Comment: '',
          }),
        );
      }
    }
    const feedback: string[] = [];
    const buyers = new Set<number>();
    for await (const seeds of bundle.profiles()) {
      for (const seed of seeds) {
        for (const purchase of seed.recent) {
          buyers.add(seed.userIdx);
          feedback.push(
            JSON.stringify({
              FeedbackType: 'purchase',
              UserId: String(seed.userIdx),
              ItemId: String(purchase.item_idx),
              Value: 1,
              Timestamp: purchase.ts,
            }),
          );
        }
      }
    }
    console.log(
      `[gorse] loading ${items.length} items and ${feedback.length} purchases of ${buyers.size} users`,
    );
    await bulk(url, 'items', items);
    const trainStarted = Date.now();
    await bulk(url, 'feedback', feedback);
    // The bulk import starts Gorse's task loop: it trains MF and caches each user's list.
    const probeUsers = [...buyers].filter((_, i, all) => i === 0 || i === all.length - 1);
    await until('training and the per-user lists', options.trainTimeoutMs ?? 30 * 60_000, async () => {
      for (const user of probeUsers) {
        const res = await fetch(`${url}/api/collaborative-filtering/${user}?n=${options.k}`);
        const body = (await res.json()) as unknown[];
        if (!res.ok || !Array.isArray(body) || body.length < options.k) return undefined;
      }
      return true;
    });
    const trainSeconds = Math.round((Date.now() - trainStarted) / 1000);
    console.log(`[gorse] trained and cached in ${trainSeconds} s`);
    return {
      arm: {
        name: 'gorse',
        url,
        pid: child.pid!,
        path: (user) => `/api/recommend/${user}?n=${options.k}`,
        items: (body) => (Array.isArray(body) ? body : undefined),
        // Gorse filters by one category and cannot leave out types or ids per request.
        scenarios: ['default'],
        stop,
      },
      loaded: { items: items.length, feedback: feedback.length, users: buyers.size, trainSeconds },
      cleanup,
    };
  } catch (error) {
    const log = await readFile(join(runDir, 'gorse.log'), 'utf8').catch(() => '');
    await cleanup();
    throw new Error(
      `${(error as Error).message}\nlast lines of gorse.log:\n${log.split('\n').slice(-15).join('\n')}`,
    );
  }
}
