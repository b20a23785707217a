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
import type { RelationProto } from './proto-types.ts';
import { type StructType, toJsonType } from './types.ts';

export interface UploadOptions {
  /** Rows per Arrow record batch. @default 8192 */
  rowsPerBatch: number;
  /** Largest Arrow IPC payload sent as one local relation, in bytes. @default 16 MiB */
  chunkBytes: number;
}

export const DEFAULT_UPLOAD_OPTIONS: UploadOptions = { rowsPerBatch: 8192, chunkBytes: 16 * 2 ** 20 };

const ARTIFACT_CHUNK_BYTES = 4 * 2 ** 20;

/** Splits rows or an Arrow table into record batches typed for `schema`. */
export function toBatches(
  data: readonly unknown[] | arrow.Table,
  schema: StructType | undefined,
  rowsPerBatch: number,
): { schema: StructType; batches: arrow.RecordBatch[] } {
  if (data instanceof arrow.Table) {
    const target = schema ?? sparkSchemaOfArrow(data.schema);
    return { schema: target, batches: data.batches.map((b) => conformBatch(b, target)) };
  }
  if (!schema) throw new Error('a schema is required for rows');
  const batches: arrow.RecordBatch[] = [];
  for (let start = 0; start < data.length; start += rowsPerBatch) {
    batches.push(rowsToBatch(data.slice(start, start + rowsPerBatch), schema));
  }
  return { schema, batches };
}

/** Groups batches so each group's IPC stays under `chunkBytes` (a single larger batch stays alone). */
export function groupBatches(batches: arrow.RecordBatch[], chunkBytes: number): arrow.RecordBatch[][] {
  const groups: arrow.RecordBatch[][] = [];
  let current: arrow.RecordBatch[] = [];
  let size = 0;
  for (const batch of batches) {
    const bytes = batch.data.byteLength;
    if (current.length > 0 && size + bytes > chunkBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(batch);
    size += bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
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
    throw new Error(`the server rejected the CRC of artifact ${name}`);
  }
  return hash;
}

/** Balanced UNION ALL of the parts, so a many-chunk plan stays shallow. */
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

/** The relation carrying `batches`: inline when small, cached artifact chunks when large. */
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
  const groups = groupBatches(nonEmpty, options.chunkBytes);
  if (groups.length === 1) {
    const data = encodeIpc(groups[0]!);
    if (data.length <= options.chunkBytes) return { localRelation: { data, schema: schemaJson } };
  }
  const relationType = client.type('spark.connect.LocalRelation');
  const parts: RelationProto[] = [];
  for (const group of groups) {
    const blob = relationType
      .encode(relationType.fromObject({ data: encodeIpc(group), schema: schemaJson }))
      .finish();
    const hash = await uploadCachedRelation(client, blob);
    parts.push({ common: { planId: nextPlanId() }, cachedLocalRelation: { hash } });
  }
  return unionAll(parts, nextPlanId);
}
