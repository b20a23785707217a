/**
 * Protocol-level readiness checks: a service is ready when it answers its own protocol, not
 * when its port opens. Each probe resolves to a short description or throws.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';

export async function probeRedis(host: string, port: number, timeoutMs = 2000): Promise<string> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
    const info = await client.info('server');
    return `redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}`;
  } finally {
    client.disconnect();
  }
}

export async function probeKafka(brokers: string[], timeoutMs = 3000): Promise<string> {
  const kafka = new Kafka({
    clientId: 'infra-probe',
    brokers,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return `kafka cluster ${cluster.clusterId} (${cluster.brokers.length} broker)`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// Spark Connect: AnalyzePlan { session_id = 1, user_context = 2 { user_id = 1 }, spark_version = 10 {} }.
// A hand-encoded request keeps the launcher independent of generated protobuf code.
function encodeString(field: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(bytes.length), bytes]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function sparkVersionRequest(): Buffer {
  const userContext = encodeString(1, 'infra-probe');
  return Buffer.concat([
    encodeString(1, randomUUID()),
    Buffer.from([(2 << 3) | 2]),
    varint(userContext.length),
    userContext,
    Buffer.from([(10 << 3) | 2, 0]),
  ]);
}

/** Reads AnalyzePlanResponse.spark_version (field 8) .version (field 1). */
function readSparkVersion(buf: Buffer): string | null {
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[pos++];
      if (byte === undefined) throw new Error('truncated response');
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2) {
      const len = readVarint();
      const body = buf.subarray(pos, pos + len);
      pos += len;
      if (field === 8) {
        const inner = body;
        if (inner[0] === 0x0a) {
          const strLen = inner[1] ?? 0;
          return inner.subarray(2, 2 + strLen).toString('utf8');
        }
      }
    } else if (wire === 0) {
      readVarint();
    } else {
      return null;
    }
  }
  return null;
}

export function probeSparkConnect(host: string, port: number, timeoutMs = 5000): Promise<string> {
  const client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      '/spark.connect.SparkConnectService/AnalyzePlan',
      (b: Buffer) => b,
      (b: Buffer) => b,
      sparkVersionRequest(),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error, response) => {
        client.close();
        if (error) reject(error);
        else resolve(`spark ${readSparkVersion(response ?? Buffer.alloc(0)) ?? '?'}`);
      },
    );
  });
}

async function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

interface MasterState {
  url: string;
  status: string;
  aliveworkers?: number;
  workers: { id: string; host: string; port: number; state: string; cores: number; memory: number }[];
  activeapps: { id: string; name: string; cores: number }[];
}

/** A Spark standalone master is ready when its UI's `/json/` reports status ALIVE. */
export async function probeStandaloneMaster(jsonUrl: string, timeoutMs = 2000): Promise<string> {
  const state = await getJson<MasterState>(jsonUrl, timeoutMs);
  if (state.status !== 'ALIVE') throw new Error(`master status ${state.status}`);
  const alive = state.workers.filter((w) => w.state === 'ALIVE').length;
  return `master ${state.url} ALIVE, ${alive} worker(s), ${state.activeapps.length} app(s)`;
}

/** A worker is ready when the master lists it (by its RPC port) as ALIVE. */
export async function probeStandaloneWorker(
  masterJsonUrl: string,
  workerPort: number,
  timeoutMs = 2000,
): Promise<string> {
  const state = await getJson<MasterState>(masterJsonUrl, timeoutMs);
  const worker = state.workers.find((w) => w.port === workerPort && w.state === 'ALIVE');
  if (!worker) throw new Error(`no ALIVE worker on port ${workerPort} registered at ${state.url}`);
  return `${worker.id} ALIVE (${worker.cores} core, ${worker.memory} MiB)`;
}

export interface ExecutorSummary {
  id: string;
  hostPort: string;
  isActive: boolean;
  totalCores: number;
  completedTasks: number;
}

/** A driver's application and its executors (the driver included), from its UI's REST API. */
export async function sparkExecutors(
  uiUrl: string,
  timeoutMs = 2000,
): Promise<{ app: string; executors: ExecutorSummary[] }> {
  const apps = await getJson<{ id: string }[]>(`${uiUrl}/api/v1/applications`, timeoutMs);
  const app = apps[0];
  if (!app) throw new Error(`no application at ${uiUrl}`);
  const executors = await getJson<ExecutorSummary[]>(
    `${uiUrl}/api/v1/applications/${app.id}/executors`,
    timeoutMs,
  );
  return { app: app.id, executors };
}

/**
 * Asks a driver's UI REST API (`/api/v1/applications/<id>/executors`) for its executors; ready
 * when at least `expected` executors (besides the driver) are active.
 */
export async function probeSparkExecutors(
  uiUrl: string,
  expected: number,
  timeoutMs = 2000,
): Promise<string> {
  const { app, executors } = await sparkExecutors(uiUrl, timeoutMs);
  const active = executors.filter((e) => e.id !== 'driver' && e.isActive);
  if (active.length < expected) {
    throw new Error(`${app}: ${active.length} of ${expected} executors registered`);
  }
  return `${app}, executors ${active.map((e) => `${e.id}@${e.hostPort}`).join(' ')}`;
}
