/**
 * Helpers for tests that run the project's own commands and clean up what they wrote.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';

export interface CommandResult {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  ms: number;
}

/** Starts `command` with `env` over this process's environment; `output()` is what it wrote so far. */
export function startCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => {
    output += d;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, output: () => output };
}

/** `npm run --silent <script> -- <args>` with `env` over this process's environment, to its end. */
export function runNpm(script: string, args: string[], env: Record<string, string>): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const { child, output } = startCommand('npm', ['run', '--silent', script, '--', ...args], env);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output(), ms: Date.now() - started }));
  });
}

/** Deletes every Redis key under `prefix` (SCAN, never KEYS). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
