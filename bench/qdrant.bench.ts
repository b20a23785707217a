/**
 * Qdrant at full size, against the embedded index on the same vectors (`bench/results/qdrant.json`):
 *
 * - **Load**: one version of `--items` (default 105,542, the H&M catalogue) × 64 dims published into
 *   each index through the VectorIndex port (create, upserts, activate), `--runs` times alternating,
 *   Qdrant with several upsert batch sizes × requests in flight; for Qdrant the upserts alone and
 *   the whole publish (`activateVersion` waits until the HNSW index is built: status green).
 * - **Recall@k** (k = 40, what MMR asks for at the default k = 10) of Qdrant's HNSW search against
 *   the embedded exact search, for each HNSW build (`--builds m/ef_construct,…`) and `hnsw_ef` of
 *   64, 128, 256 and 512 (the default), and for exact search, over `--queries` user vectors,
 *   without and with the serving bench's filters; with the build's index time.
 * - **REST vs gRPC client**: the same k = 40 searches with vectors and payloads, 8 at a time,
 *   through the adapter's REST client (@qdrant/js-client-rest) and through @qdrant/js-client-grpc
 *   turned into the same hits; client CPU and Qdrant CPU per search, alternating runs.
 *
 *   npm run bench -- qdrant [--parts load,recall,clients] [--items N] [--queries N] [--runs N]
 *                           [--builds 16/100,32/256] [--searches N] [--grpc-port 6334]
 *
 * Needs a Qdrant server at QDRANT_URL; records a skip saying why otherwise.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QdrantClient as QdrantGrpcClient, toDenseVector } from '@qdrant/js-client-grpc';
import { loadConfig } from '../lib/config.ts';
import { BundleReader, latestBundle } from '../lib/stores/bundle.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { syntheticBundle } from '../lib/stores/fixtures.ts';
import { QDRANT_DEFAULTS, QdrantVectorIndex } from '../lib/stores/qdrant/vector-index.ts';
import type { ItemPoint, SearchFilter, VectorIndex } from '../lib/stores/vector-index.ts';
import { option, pidOf, processTreeCpuMs, qdrantAnswers } from './api-load.ts';
import { median, recordResult } from './results.ts';

const ITEMS = Number(option('items', '105542'));
const QUERIES = Number(option('queries', '300'));
const RUNS = Number(option('runs', '3'));
const RANK = 64;
const K = 40;
const EFS = [64, 128, 256, 512];
const PARTS = new Set(option('parts', 'load,recall,clients').split(','));
const BUILDS = option('builds', '16/100,32/256,48/512')
  .split(',')
  .map((b) => {
    const [m, efConstruct] = b.split('/').map(Number);
    if (!m || !efConstruct) throw new Error(`--builds wants m/ef_construct pairs, got ${b}`);
    return { m, efConstruct };
  });
const LOADS = [
  { batch: 256, concurrency: 1 },
  { batch: 256, concurrency: 2 },
  { batch: 1024, concurrency: 4 },
];

const FILTERS: Record<string, SearchFilter | undefined> = {
  none: undefined,
  // The serving bench's filtered call: two product groups, two types left out.
  filters: {
    include: { product_group_name: ['Garment Upper body', 'Garment Lower body'] },
    exclude: { product_type_name: ['Socks', 'Bra'] },
  },
};

interface CollectionState {
  status: string;
  indexed: number;
  points: number;
}

async function collectionState(url: string, name: string): Promise<CollectionState> {
  const res = await fetch(`${url}/collections/${name}`);
  const body = (await res.json()) as {
    result: { status: string; indexed_vectors_count: number; points_count: number };
  };
  return {
    status: body.result.status,
    indexed: body.result.indexed_vectors_count,
    points: body.result.points_count,
  };
}

async function timedLoad(index: VectorIndex, version: string, points: ItemPoint[]) {
  const started = performance.now();
  await index.createVersion(version, RANK);
  for (let i = 0; i < points.length; i += 8192) await index.upsert(version, points.slice(i, i + 8192));
  const upserted = (performance.now() - started) / 1000;
  await index.activateVersion(version);
  return { upserted, published: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const skip = await qdrantAnswers(config.qdrant.url);
  if (skip) {
    console.log(`skipped: ${skip}`);
    recordResult('qdrant', { skipped: skip });
    return;
  }
  const version = await fetch(`${config.qdrant.url}/`).then((r) => r.json() as Promise<{ version: string }>);
  const alias = `bench_${randomUUID().slice(0, 8)}`;
  const modelsDir = await mkdtemp(join(tmpdir(), 'bench-qdrant-'));
  const open = (options: Partial<ConstructorParameters<typeof QdrantVectorIndex>[0]> = {}) =>
    new QdrantVectorIndex({
      url: config.qdrant.url,
      collection: alias,
      bulkTimeoutMs: 120_000,
      readTimeoutMs: 5000,
      ...options,
    });
  const qdrant = open();
  await qdrant.start();
  const result: Record<string, unknown> = {
    qdrant: version.version,
    items: ITEMS,
    rank: RANK,
    queries: QUERIES,
    k: K,
  };
  let served = '';
  let serial = 0;
  /** Publishes a new version (dropping the one served before), returns its timings and state. */
  const publish = async (index: QdrantVectorIndex, points: ItemPoint[]) => {
    const name = `v20200101-${String(++serial).padStart(6, '0')}`;
    const times = await timedLoad(index, name, points);
    const state = await collectionState(config.qdrant.url, index.collectionOf(name));
    if (served) await qdrant.dropVersion(served);
    served = name;
    return { ...times, state };
  };
  try {
    console.log(`Qdrant ${version.version} at ${config.qdrant.url}; synthetic ${ITEMS} items × ${RANK} dims`);
    await syntheticBundle({
      items: ITEMS,
      users: QUERIES,
      rank: RANK,
      seed: 7,
      outDir: modelsDir,
      lastDay: new Date(),
    });
    const bundle = await BundleReader.open((await latestBundle(modelsDir))!);
    const points: ItemPoint[] = [];
    for await (const batch of bundle.items()) points.push(...batch);
    const queries: Float32Array[] = [];
    for await (const batch of bundle.userVectors()) for (const [, v] of batch) queries.push(v);
    const embedded = new EmbeddedVectorIndex();
    await timedLoad(embedded, 'v1', points);

    // --- load ---------------------------------------------------------------------------------
    if (PARTS.has('load')) {
      const embeddedRuns: number[] = [];
      const qdrantRuns: Record<string, Array<{ upserted: number; published: number }>> = {};
      for (let run = 1; run <= RUNS; run++) {
        const e = new EmbeddedVectorIndex();
        const eTimes = await timedLoad(e, `v${run}`, points);
        embeddedRuns.push(eTimes.published);
        console.log(`  load run ${run}: embedded ${eTimes.published.toFixed(2)} s`);
        for (const { batch, concurrency } of LOADS) {
          const label = `batch ${batch} × ${concurrency} in flight`;
          const { upserted, published, state } = await publish(
            open({ upsertBatchSize: batch, upsertConcurrency: concurrency }),
            points,
          );
          qdrantRuns[label] = [...(qdrantRuns[label] ?? []), { upserted, published }];
          console.log(
            `  load run ${run}: Qdrant, ${label}: upserts ${upserted.toFixed(1)} s, published (indexed, ` +
              `${state.indexed} of ${state.points} vectors in HNSW) ${published.toFixed(1)} s`,
          );
        }
      }
      result['load_seconds'] = {
        embedded: Number(median(embeddedRuns).toFixed(2)),
        qdrant: Object.fromEntries(
          Object.entries(qdrantRuns).map(([label, runs]) => [
            label,
            {
              upserts: Number(median(runs.map((r) => r.upserted)).toFixed(2)),
              published: Number(median(runs.map((r) => r.published)).toFixed(2)),
            },
          ]),
        ),
        runs: { embedded: embeddedRuns, qdrant: qdrantRuns },
      };
    }

    // --- recall -------------------------------------------------------------------------------
    if (PARTS.has('recall')) {
      const truth = Object.fromEntries(
        await Promise.all(
          Object.entries(FILTERS).map(
            async ([name, filter]) =>
              [
                name,
                await Promise.all(
                  queries.map((vector) => embedded.search({ vector, k: K, ...(filter ? { filter } : {}) })),
                ),
              ] as const,
          ),
        ),
      );
      const builds: Record<string, unknown> = {};
      for (const { m, efConstruct } of BUILDS) {
        const build = `m ${m}, ef_construct ${efConstruct}`;
        const { published, state } = await publish(open({ hnswM: m, hnswEfConstruct: efConstruct }), points);
        console.log(
          `  ${build}: published and indexed in ${published.toFixed(1)} s (${state.indexed} of ${state.points} in HNSW)`,
        );
        const recall: Record<string, Record<string, { recall: number; min: number; ms: number }>> = {};
        for (const [filterName, filter] of Object.entries(FILTERS)) {
          recall[filterName] = {};
          const settings: Array<[string, QdrantVectorIndex]> = [
            ...EFS.map(
              (ef) =>
                [`hnsw_ef ${ef}`, open({ hnswEf: ef, exactSearch: 'never' })] as [string, QdrantVectorIndex],
            ),
            ['exact', open({ exactSearch: 'always' })],
          ];
          for (const [label, index] of settings) {
            const scores: number[] = [];
            const times: number[] = [];
            for (const [i, vector] of queries.entries()) {
              const started = performance.now();
              const hits = await index.search({ vector, k: K, ...(filter ? { filter } : {}) });
              times.push(performance.now() - started);
              const expected = new Set(truth[filterName]![i]!.map((h) => h.id));
              scores.push(
                expected.size === 0 ? 1 : hits.filter((h) => expected.has(h.id)).length / expected.size,
              );
            }
            const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
            recall[filterName]![label] = {
              recall: Number(mean.toFixed(4)),
              min: Number(Math.min(...scores).toFixed(3)),
              ms: Number(median(times).toFixed(2)),
            };
            console.log(
              `    recall@${K} ${filterName.padEnd(7)} ${label.padEnd(12)} ${mean.toFixed(4)} (worst query ${Math.min(...scores).toFixed(3)}), ` +
                `median ${median(times).toFixed(2)} ms per search, one at a time`,
            );
          }
        }
        builds[build] = {
          m,
          ef_construct: efConstruct,
          published_seconds: Number(published.toFixed(1)),
          indexed: state.indexed,
          recall,
        };
      }
      result['recall'] = builds;
    }

    if (PARTS.has('clients')) {
      if (!served) await publish(qdrant, points);
      // --- REST vs gRPC -------------------------------------------------------------------------
      const grpcPort = Number(option('grpc-port', '6334'));
      const grpc = new QdrantGrpcClient({
        host: new URL(config.qdrant.url).hostname,
        port: grpcPort,
        timeout: 5000,
      });
      const pointsApi = grpc.api('points');
      const restIndex = open();
      const payloadValue = (v: { kind: { case?: string; value?: unknown } }): unknown => v.kind.value;
      const viaGrpc = async (vector: Float32Array) => {
        const res = await pointsApi.query({
          collectionName: alias,
          query: {
            variant: {
              case: 'nearest',
              value: { variant: { case: 'dense', value: { data: Array.from(vector) } } },
            },
          },
          limit: BigInt(K),
          params: { hnswEf: BigInt(QDRANT_DEFAULTS.hnswEf) },
          withPayload: { selectorOptions: { case: 'enable', value: true } },
          withVectors: { selectorOptions: { case: 'enable', value: true } },
        });
        return res.result.map((p) => {
          const out =
            p.vectors?.vectorsOptions.case === 'vector'
              ? toDenseVector(p.vectors.vectorsOptions.value)
              : undefined;
          const payload: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(p.payload)) payload[key] = payloadValue(value as never);
          return {
            id: Number(p.id?.pointIdOptions.value),
            score: p.score,
            payload,
            vector: Float32Array.from(out?.data ?? []),
          };
        });
      };
      const viaRest = (vector: Float32Array) => restIndex.search({ vector, k: K, withVectors: true });
      const qdrantPid = pidOf('qdrant');
      const SEARCHES = Number(option('searches', '3000'));
      const drive = async (search: (v: Float32Array) => Promise<unknown[]>) => {
        let next = 0;
        const qBefore = qdrantPid === undefined ? undefined : await processTreeCpuMs(qdrantPid);
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < SEARCHES) {
              const i = next++;
              const hits = await search(queries[i % queries.length]!);
              if (hits.length !== K) throw new Error(`a search returned ${hits.length} hits, not ${K}`);
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const qAfter = qdrantPid === undefined ? undefined : await processTreeCpuMs(qdrantPid);
        return {
          searches_per_s: Math.round(SEARCHES / seconds),
          client_cpu_ms_per_search: Number(((cpu.user + cpu.system) / 1000 / SEARCHES).toFixed(3)),
          ...(qBefore !== undefined && qAfter !== undefined
            ? { qdrant_cpu_ms_per_search: Number(((qAfter - qBefore) / SEARCHES).toFixed(3)) }
            : {}),
        };
      };
      // Same answers first: the gRPC path must give the hits the adapter gives.
      {
        const [a, b] = await Promise.all([viaRest(queries[0]!), viaGrpc(queries[0]!)]);
        const same = a.every(
          (h, i) => h.id === b[i]!.id && h.payload.product_type_name === b[i]!.payload['product_type_name'],
        );
        if (!same) throw new Error('REST and gRPC searches disagree');
      }
      await drive(viaRest);
      await drive(viaGrpc);
      const clients = {
        rest: [] as Awaited<ReturnType<typeof drive>>[],
        grpc: [] as Awaited<ReturnType<typeof drive>>[],
      };
      for (let run = 1; run <= RUNS; run++) {
        for (const [name, search] of [
          ['rest', viaRest],
          ['grpc', viaGrpc],
        ] as const) {
          const m = await drive(search);
          clients[name].push(m);
          console.log(
            `  client ${name.padEnd(4)} run ${run}: ${m.searches_per_s} searches/s, client CPU ${m.client_cpu_ms_per_search} ms, ` +
              `Qdrant CPU ${m.qdrant_cpu_ms_per_search ?? '?'} ms per search`,
          );
        }
      }
      const summary = (runs: Awaited<ReturnType<typeof drive>>[]) => ({
        searches_per_s: median(runs.map((r) => r.searches_per_s)),
        client_cpu_ms_per_search: median(runs.map((r) => r.client_cpu_ms_per_search)),
        qdrant_cpu_ms_per_search: median(runs.map((r) => r.qdrant_cpu_ms_per_search ?? 0)),
        runs,
      });
      result['clients'] = {
        concurrency: 8,
        searches: SEARCHES,
        rest: summary(clients.rest),
        grpc: summary(clients.grpc),
      };
    }
    recordResult('qdrant', result);
  } finally {
    for (const v of await qdrant.listVersions()) {
      if ((await qdrant.activeVersion()) !== v) await qdrant.dropVersion(v);
    }
    await fetch(`${config.qdrant.url}/collections/aliases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actions: [{ delete_alias: { alias_name: alias } }] }),
    });
    for (const v of await qdrant.listVersions()) await qdrant.dropVersion(v);
    await rm(modelsDir, { recursive: true, force: true });
  }
}

await main();
