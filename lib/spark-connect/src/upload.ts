/**
 * Uploading local data: rows or Arrow tables become Arrow IPC inside local relations. Small
 * uploads travel inline in the plan; large ones are split into chunks, each uploaded once as
 * a `cache/<sha256>` artifact and referenced by hash, so no single gRPC message gets near the
 * server's size limit.
 */
import { createHash } from 'node:crypto';
import * as arrow from 'apache-arrow';
import { conformBatch, encodeIpc, rowsToBatch, sparkSchemaOfArrow } from './arrow.ts';
import type { SparkConnectClient } from './client.ts';
import { crc32 } from './crc32.ts';
import { SparkConnectArgumentError, SparkConnectError } from './errors.ts';
import type { RelationProto } from './proto-types.ts';
import { type StructType, toJsonType } from './types.ts';

export interface UploadOptions {
  /** Largest Arrow IPC payload sent as one local relation (one record batch), in bytes. @default 16 MiB */
  chunkBytes: number;
}

export const DEFAULT_UPLOAD_OPTIONS: UploadOptions = { chunkBytes: 16 * 2 ** 20 };

const ARTIFACT_CHUNK_BYTES = 4 * 2 ** 20;
/** Rows encoded first to measure the size of a row. */
const SAMPLE_ROWS = 1000;

/**
 * Splits rows or an Arrow table into record batches typed for `schema`, each about
 * `chunkBytes` at most. Spark 4.0 reads only the first record batch of a local relation's
 * IPC stream, so every chunk must be exactly one batch.
 */
export function toBatches(
  data: readonly unknown[] | arrow.Table,
  schema: StructType | undefined,
  chunkBytes: number,
): { schema: StructType; batches: arrow.RecordBatch[] } {
  if (data instanceof arrow.Table) {
    const target = schema ?? sparkSchemaOfArrow(data.schema);
    const batches: arrow.RecordBatch[] = [];
    for (const batch of data.batches) {
      const typed = conformBatch(batch, target);
      const rows = rowsPerChunk(typed.data.byteLength, typed.numRows, chunkBytes);
      for (let start = 0; start < typed.numRows; start += rows)
        batches.push(typed.slice(start, start + rows));
    }
    return { schema: target, batches };
  }
  if (!schema) throw new SparkConnectArgumentError('a schema is required for rows');
  const batches: arrow.RecordBatch[] = [];
  if (data.length === 0) return { schema, batches };
  const sample = rowsToBatch(data.slice(0, SAMPLE_ROWS), schema);
  const rows = rowsPerChunk(sample.data.byteLength, sample.numRows, chunkBytes);
  if (rows >= data.length && sample.numRows === data.length) return { schema, batches: [sample] };
  for (let start = 0; start < data.length; start += rows) {
    batches.push(rowsToBatch(data.slice(start, start + rows), schema));
  }
  return { schema, batches };
}

function rowsPerChunk(bytes: number, rows: number, chunkBytes: number): number {
  if (rows === 0) return 1;
  const perRow = Math.max(1, bytes / rows);
  return Math.max(1, Math.floor((chunkBytes * 0.9) / perRow));
}

async function uploadCachedRelation(client: SparkConnectClient, blob: Uint8Array): Promise<string> {
  const hash = createHash('sha256').update(blob).digest('hex');
  const name = `cache/${hash}`;
  const status = await client.artifactStatus([name]);
  if (status.statuses?.[name]?.exists) return hash;
  if (blob.length <= ARTIFACT_CHUNK_BYTES) {
    await client.addArtifacts([{ batch: { artifacts: [{ name, data: { data: blob, crc: crc32(blob) } }] } }]);
    return hash;
  }
  const numChunks = Math.ceil(blob.length / ARTIFACT_CHUNK_BYTES);
  const requests: object[] = [];
  for (let i = 0; i < numChunks; i++) {
    const chunk = blob.subarray(i * ARTIFACT_CHUNK_BYTES, (i + 1) * ARTIFACT_CHUNK_BYTES);
    const data = { data: chunk, crc: crc32(chunk) };
    requests.push(
      i === 0
        ? { beginChunk: { name, totalBytes: blob.length, numChunks, initialChunk: data } }
        : { chunk: data },
    );
  }
  const response = await client.addArtifacts(requests);
  if (response.artifacts?.some((a) => a.isCrcSuccessful === false)) {
    throw new SparkConnectError('SPARK_CONNECT_UPLOAD', `the server rejected the CRC of artifact ${name}`, {
      retriable: true,
    });
  }
  return hash;
}

/** Balanced UNION ALL (by position) of the parts, so a many-chunk plan stays shallow. */
function unionAll(parts: RelationProto[], nextPlanId: () => number): RelationProto {
  if (parts.length === 1) return parts[0]!;
  const mid = Math.ceil(parts.length / 2);
  return {
    common: { planId: nextPlanId() },
    setOp: {
      leftInput: unionAll(parts.slice(0, mid), nextPlanId),
      rightInput: unionAll(parts.slice(mid), nextPlanId),
      setOpType: 'SET_OP_TYPE_UNION',
      isAll: true,
      byName: false,
    },
  };
}

/** The relation carrying `batches`: inline when small, one cached artifact per batch when large. */
export async function localRelation(
  client: SparkConnectClient,
  schema: StructType,
  batches: arrow.RecordBatch[],
  options: UploadOptions,
  nextPlanId: () => number,
): Promise<RelationProto> {
  const schemaJson = JSON.stringify(toJsonType(schema));
  const nonEmpty = batches.filter((b) => b.numRows > 0);
  if (nonEmpty.length === 0) return { localRelation: { schema: schemaJson } };
  const payloads = nonEmpty.map((batch) => encodeIpc([batch]));
  const total = payloads.reduce((sum, p) => sum + p.length, 0);
  if (total <= options.chunkBytes) {
    const inline = payloads.map((data) => ({
      common: { planId: nextPlanId() },
      localRelation: { data, schema: schemaJson },
    }));
    return unionAll(inline, nextPlanId);
  }
  const relationType = client.type('spark.connect.LocalRelation');
  const parts: RelationProto[] = [];
  for (const data of payloads) {
    const blob = relationType.encode(relationType.fromObject({ data, schema: schemaJson })).finish();
    const hash = await uploadCachedRelation(client, blob);
    parts.push({ common: { planId: nextPlanId() }, cachedLocalRelation: { hash } });
  }
  return unionAll(parts, nextPlanId);
}
