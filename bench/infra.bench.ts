/**
 * Infrastructure timings: time from `infra:up` to ready for each service (median of 3 cold
 * starts on spare ports, so running services are not disturbed), and with `--cold-setup` the
 * time of a Maven resolution into an empty local repository (what a fresh machine pays once).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downService, upService } from '../infra/local/launcher.ts';
import { loadConfig } from '../lib/config.ts';
import { median, recordResult } from './results.ts';

const RUNS = 3;
const coldSetup = process.argv.includes('--cold-setup');

async function timeServices(): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = { redis: [], kafka: [], spark: [] };
  for (let run = 0; run < RUNS; run++) {
    const runDir = mkdtempSync(join(tmpdir(), 'infra-bench-'));
    process.env['INFRA_RUN_DIR'] = runDir;
    const config = loadConfig({
      REDIS_URL: 'redis://localhost:16379',
      KAFKA_BROKERS: 'localhost:19192',
      SPARK_REMOTE: 'sc://localhost:17002',
      SPARK_DRIVER_MEMORY: '2g',
    });
    for (const name of ['redis', 'kafka', 'spark'] as const) {
      const result = await upService(config, name);
      console.log(`run ${run + 1}: ${name} ready in ${(result.readyMs / 1000).toFixed(2)} s`);
      times[name]!.push(result.readyMs);
      await downService(config, name);
    }
    rmSync(runDir, { recursive: true, force: true });
  }
  return times;
}

function timeColdSetup(): number {
  const repo = mkdtempSync(join(tmpdir(), 'm2-cold-'));
  const started = Date.now();
  const result = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      `-Dmaven.repo.local=${repo}`,
      '-s',
      'infra/jvm/settings.xml',
      '-f',
      'infra/jvm/pom.xml',
      'package',
    ],
    { stdio: 'inherit' },
  );
  const elapsed = Date.now() - started;
  rmSync(repo, { recursive: true, force: true });
  if (result.status !== 0) throw new Error('cold Maven resolution failed');
  console.log(`cold infra:setup (Maven, empty local repository): ${(elapsed / 1000).toFixed(1)} s`);
  return elapsed;
}

const times = await timeServices();
const summary = Object.fromEntries(
  Object.entries(times).map(([k, v]) => [k, { runsMs: v, medianMs: median(v) }]),
);
const cold = coldSetup ? { coldSetupMs: timeColdSetup() } : {};
recordResult('infra', { readyTime: summary, ...cold });
for (const [name, s] of Object.entries(summary))
  console.log(`${name}: median ready ${(s.medianMs / 1000).toFixed(2)} s`);
