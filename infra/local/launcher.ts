/**
 * Starts, stops and reports the local services. A service that already answers its protocol is
 * reused and never stopped by us; one we start gets a pid file, and only those are stopped.
 */
import { join } from 'node:path';
import type { Config } from '../../lib/config.ts';
import { describeError } from '../../lib/errors.ts';
import { sleep } from '../../lib/retry.ts';
import { isAlive, launchDetached, portOpen, readPid, removeFile, stopProcess, tailFile } from './process.ts';
import {
  DEFAULT_SERVICES,
  SERVICE_GROUPS,
  SERVICE_NAMES,
  type ServiceName,
  type ServiceSpec,
  serviceSpecs,
} from './services.ts';

export class LaunchError extends Error {
  constructor(
    readonly service: ServiceName,
    message: string,
  ) {
    super(`${service}: ${message}`);
    this.name = 'LaunchError';
  }
}

export interface UpResult {
  name: ServiceName;
  /** `started` by this call, or `reused` because it already answered. */
  outcome: 'started' | 'reused';
  description: string;
  readyMs: number;
}

type Log = (line: string) => void;

function files(spec: ServiceSpec) {
  return { pidFile: join(spec.dir, `${spec.name}.pid`), logFile: join(spec.dir, `${spec.name}.log`) };
}

async function probeQuietly(spec: ServiceSpec): Promise<string | null> {
  try {
    return await spec.probe();
  } catch {
    return null;
  }
}

/**
 * Service names from the command line, groups (`spark-cluster`) expanded, duplicates dropped;
 * `defaults` when none are given.
 */
export function parseServices(
  args: string[],
  defaults: readonly ServiceName[] = DEFAULT_SERVICES,
): ServiceName[] {
  if (args.length === 0) return [...defaults];
  const names: ServiceName[] = [];
  for (const arg of args) {
    const group = SERVICE_GROUPS[arg];
    if (group) names.push(...group);
    else if ((SERVICE_NAMES as readonly string[]).includes(arg)) names.push(arg as ServiceName);
    else {
      const valid = [
        ...DEFAULT_SERVICES,
        ...Object.keys(SERVICE_GROUPS),
        ...SERVICE_NAMES.slice(DEFAULT_SERVICES.length),
      ];
      throw new Error(`unknown service "${arg}"; expected one of ${valid.join(', ')}`);
    }
  }
  return [...new Set(names)];
}

export async function upService(config: Config, name: ServiceName, log: Log = () => {}): Promise<UpResult> {
  const spec = serviceSpecs(config)[name];
  const started = Date.now();
  const existing = await probeQuietly(spec);
  if (existing) {
    log(`${name}: already running at ${spec.host}:${spec.port} (${existing}), reusing it`);
    return { name, outcome: 'reused', description: existing, readyMs: 0 };
  }
  const reason = spec.unavailable();
  if (reason) throw new LaunchError(name, reason);
  for (const port of [spec.port, ...spec.extraPorts]) {
    if (await portOpen(spec.host, port)) {
      throw new LaunchError(
        name,
        `port ${port} on ${spec.host} is already in use by a process that does not answer as ${name}; ` +
          'stop it or change the port in the configuration',
      );
    }
  }
  const { pidFile, logFile } = files(spec);
  const stale = readPid(pidFile);
  if (stale !== null && isAlive(stale)) {
    throw new LaunchError(
      name,
      `a process we started earlier (pid ${stale}) is alive but not answering; run infra:down`,
    );
  }
  try {
    spec.prepare();
  } catch (error) {
    throw new LaunchError(name, `preparation failed: ${describeError(error)}`);
  }
  const { command, args, env } = spec.command();
  log(`${name}: starting (log: ${logFile})`);
  const pid = launchDetached({ command, args, env, cwd: spec.dir, logFile, pidFile });
  const deadline = started + spec.readyTimeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      removeFile(pidFile);
      throw new LaunchError(name, `exited during start-up; last lines of ${logFile}:\n${tailFile(logFile)}`);
    }
    try {
      const description = await spec.probe();
      const readyMs = Date.now() - started;
      log(`${name}: ready in ${(readyMs / 1000).toFixed(1)} s (${description}, pid ${pid})`);
      return { name, outcome: 'started', description, readyMs };
    } catch (error) {
      lastError = describeError(error);
    }
    await sleep(250);
  }
  await stopProcess(pid, 5000);
  removeFile(pidFile);
  throw new LaunchError(
    name,
    `not ready after ${spec.readyTimeoutMs / 1000} s (${lastError}); see ${logFile}:\n${tailFile(logFile)}`,
  );
}

export async function downService(config: Config, name: ServiceName, log: Log = () => {}): Promise<void> {
  const spec = serviceSpecs(config)[name];
  const { pidFile } = files(spec);
  const pid = readPid(pidFile);
  if (pid === null) {
    const running = await probeQuietly(spec);
    log(running ? `${name}: running but not started by infra:up, left alone` : `${name}: not running`);
    return;
  }
  const outcome = await stopProcess(pid);
  removeFile(pidFile);
  log(`${name}: ${outcome === 'not-running' ? 'was not running' : outcome} (pid ${pid})`);
}

/** True when a process infra:up started for `name` is alive (its pid file names it). */
export function isManaged(config: Config, name: ServiceName): boolean {
  const pid = readPid(files(serviceSpecs(config)[name]).pidFile);
  return pid !== null && isAlive(pid);
}

export interface ServiceStatus {
  name: ServiceName;
  endpoint: string;
  ready: boolean;
  description: string;
  managedPid: number | null;
}

export async function statusOf(config: Config, name: ServiceName): Promise<ServiceStatus> {
  const spec = serviceSpecs(config)[name];
  const { pidFile } = files(spec);
  const pid = readPid(pidFile);
  const managedPid = pid !== null && isAlive(pid) ? pid : null;
  let description: string;
  let ready = false;
  try {
    description = await spec.probe();
    ready = true;
  } catch (error) {
    description = `not answering: ${describeError(error)}`;
  }
  return { name, endpoint: `${spec.host}:${spec.port}`, ready, description, managedPid };
}

/** Starts services in order; on failure stops the ones this call started, then rethrows. */
export async function upServices(
  config: Config,
  names: ServiceName[],
  log: Log = () => {},
): Promise<UpResult[]> {
  const results: UpResult[] = [];
  try {
    for (const name of names) results.push(await upService(config, name, log));
  } catch (error) {
    for (const r of results.filter((x) => x.outcome === 'started').reverse()) {
      await downService(config, r.name, log);
    }
    throw error;
  }
  return results;
}
