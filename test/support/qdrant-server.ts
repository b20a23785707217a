/**
 * A Qdrant server of a test's own, for the tests that kill and restart one (the shared server at
 * QDRANT_URL is never touched). No registry ships a Qdrant binary, so the binary is found, in
 * order: `QDRANT_BIN`; a `qdrant` on PATH; the executable of a Qdrant server running on this
 * machine (the one QDRANT_URL points at, when it is local). `qdrantBinary()` answers null, and
 * the tests skip with the reason, when none is found.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, killServer } from './net.ts';

export interface QdrantBinary {
  path: string;
  /** Where it came from, for the test log. */
  source: 'QDRANT_BIN' | 'PATH' | 'running server';
}

function runningQdrant(): string | null {
  if (!existsSync('/proc')) return null;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'qdrant') continue;
      const exe = readlinkSync(`/proc/${pid}/exe`);
      if (existsSync(exe)) return exe;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return null;
}

/** The binary, or null after printing why the tests of `what` skip. */
export function qdrantBinaryOrSkip(what: string): QdrantBinary | null {
  const binary = qdrantBinary();
  if (!binary) {
    console.log(
      `skipping ${what}: no Qdrant binary (set QDRANT_BIN, put qdrant on PATH, or run a local Qdrant server)`,
    );
  }
  return binary;
}

export function qdrantBinary(): QdrantBinary | null {
  const fromEnv = process.env['QDRANT_BIN'];
  if (fromEnv) return existsSync(fromEnv) ? { path: fromEnv, source: 'QDRANT_BIN' } : null;
  if (spawnSync('qdrant', ['--version'], { stdio: 'ignore' }).status === 0) {
    return { path: 'qdrant', source: 'PATH' };
  }
  const running = runningQdrant();
  return running ? { path: running, source: 'running server' } : null;
}

export interface OwnQdrant {
  url: string;
  httpPort: number;
  grpcPort: number;
  dir: string;
  child: ChildProcess;
}

/** Starts (or restarts, on the same ports and storage) a Qdrant server; resolves when it is ready. */
export async function startQdrant(
  binary: QdrantBinary,
  dir: string,
  ports?: { httpPort: number; grpcPort: number },
): Promise<OwnQdrant> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  const httpPort = ports?.httpPort ?? (await freePort());
  const grpcPort = ports?.grpcPort ?? (await freePort());
  const child = spawn(binary.path, [], {
    cwd: dir,
    stdio: 'ignore',
    env: {
      ...process.env,
      QDRANT__STORAGE__STORAGE_PATH: join(dir, 'storage'),
      QDRANT__STORAGE__SNAPSHOTS_PATH: join(dir, 'snapshots'),
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: String(httpPort),
      QDRANT__SERVICE__GRPC_PORT: String(grpcPort),
      QDRANT__TELEMETRY_DISABLED: 'true',
      QDRANT__LOG_LEVEL: 'WARN',
    },
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`qdrant exited with code ${child.exitCode} at start`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`qdrant at ${url} not ready after 60 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, httpPort, grpcPort, dir, child };
}

/** Kills the server (SIGKILL, a crash) and resolves once it has exited. */
export function killQdrant(server: OwnQdrant): Promise<void> {
  return killServer(server.child);
}
