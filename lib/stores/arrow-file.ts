/**
 * Arrow IPC file I/O in bounded memory: a writer that flushes each record batch to disk before
 * accepting the next, and a reader that yields one batch at a time, plus column builders with
 * explicit types (no type inference, no dictionaries) and column readers that accept both
 * FixedSizeList<Float32> and List<Float32> vectors.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import {
  type Data,
  Field,
  FixedSizeList,
  Float32,
  Int32,
  List,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  type Schema,
  Struct,
  Type,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { ValidationError } from '../errors.ts';

/** Exposes how many bytes the writer has produced, so the sink can drain exactly that much. */
class CountingFileWriter extends RecordBatchFileWriter {
  get bytesProduced(): number {
    return this._position;
  }
}

/**
 * Writes one `.arrow` file. Each `write` serialises a batch and awaits its bytes reaching the
 * file, so memory stays at one batch however large the table. The file appears under its final
 * name only on `close()` (written as `<name>.partial` first).
 */
export class ArrowFileWriter {
  readonly path: string;
  readonly schema: Schema;
  rows = 0;
  bytes = 0;
  private readonly writer = new CountingFileWriter();
  private readonly chunks: AsyncIterator<Uint8Array>;
  private readonly file: FileHandle;
  private finished = false;

  private constructor(path: string, schema: Schema, file: FileHandle) {
    this.path = path;
    this.schema = schema;
    this.file = file;
    this.writer.reset(undefined, schema);
    this.chunks = this.writer[Symbol.asyncIterator]();
  }

  static async create(path: string, schema: Schema): Promise<ArrowFileWriter> {
    const file = await open(`${path}.partial`, 'w');
    return new ArrowFileWriter(path, schema, file);
  }

  async write(columns: Data[], length: number): Promise<void> {
    if (this.finished) throw new Error(`arrow writer for ${this.path} is closed`);
    if (length === 0) return;
    const data = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children: columns });
    this.writer.write(new RecordBatch(this.schema, data));
    this.rows += length;
    await this.drain(false);
  }

  /** Writes the footer, flushes, and moves the file to its final name. */
  async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.rows === 0) {
      // An empty table still needs its schema in the file.
      const empty = this.schema.fields.map((f) => vectorFromArray([], f.type).data[0]!);
      this.writer.write(
        new RecordBatch(
          this.schema,
          makeData({ type: new Struct(this.schema.fields), length: 0, nullCount: 0, children: empty }),
        ),
      );
    }
    this.writer.close();
    await this.drain(true);
    await this.file.sync();
    await this.file.close();
    await rename(`${this.path}.partial`, this.path);
  }

  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.writer.abort();
    await this.file.close().catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
  }

  private async drain(toEnd: boolean): Promise<void> {
    while (toEnd || this.bytes < this.writer.bytesProduced) {
      const chunk = await this.chunks.next();
      if (chunk.done) return;
      await this.file.write(chunk.value);
      this.bytes += chunk.value.byteLength;
    }
  }
}

/** Yields the record batches of an `.arrow` file one at a time. */
export async function* readArrowFile(path: string): AsyncGenerator<RecordBatch> {
  const file = await open(path, 'r');
  try {
    const reader = await (await RecordBatchReader.from(file)).open();
    for await (const batch of reader) yield batch;
  } finally {
    await file.close();
  }
}

// --- column types and builders --------------------------------------------------------------

export const int32Field = (name: string) => new Field(name, new Int32(), false);
export const utf8Field = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
export const int32ListField = (name: string) =>
  new Field(name, new List(new Field('item', new Int32(), false)), false);
export const utf8ListField = (name: string) =>
  new Field(name, new List(new Field('item', new Utf8(), false)), false);
export const vectorField = (name: string, dimension: number) =>
  new Field(name, new FixedSizeList(dimension, new Field('item', new Float32(), false)), false);

export function int32Column(values: ArrayLike<number>): Data {
  return makeData({ type: new Int32(), data: Int32Array.from(values) });
}

export function utf8Column(values: Array<string | null>): Data {
  return vectorFromArray(values, new Utf8()).data[0]!;
}

export function int32ListColumn(values: number[][]): Data {
  return vectorFromArray(values, new List(new Field('item', new Int32(), false))).data[0]!;
}

export function utf8ListColumn(values: string[][]): Data {
  return vectorFromArray(values, new List(new Field('item', new Utf8(), false))).data[0]!;
}

/** A FixedSizeList<Float32> column from vectors that must all have `dimension` values. */
export function vectorColumn(vectors: Float32Array[], dimension: number): Data {
  const flat = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => {
    if (v.length !== dimension) {
      throw new ValidationError(`vector ${i} of this batch has length ${v.length}, expected ${dimension}`);
    }
    flat.set(v, i * dimension);
  });
  return makeData({
    type: new FixedSizeList(dimension, new Field('item', new Float32(), false)),
    length: vectors.length,
    nullCount: 0,
    child: makeData({ type: new Float32(), data: flat }),
  });
}

// --- column readers ------------------------------------------------------------------------------

function columnData(batch: RecordBatch, name: string): Data {
  const column = batch.getChild(name);
  if (!column) throw new ValidationError(`arrow batch has no column ${JSON.stringify(name)}`);
  const data = column.data[0];
  if (!data) throw new ValidationError(`arrow column ${JSON.stringify(name)} has no data`);
  return data;
}

export function readInt32(batch: RecordBatch, name: string): Int32Array {
  const data = columnData(batch, name);
  if (data.typeId !== Type.Int) throw new ValidationError(`arrow column ${name} is not an integer column`);
  return Int32Array.from(batch.getChild(name)!.toArray() as ArrayLike<number>);
}

export function readStrings(batch: RecordBatch, name: string): Array<string | null> {
  const column = batch.getChild(name);
  if (!column) throw new ValidationError(`arrow batch has no column ${JSON.stringify(name)}`);
  const out: Array<string | null> = new Array(column.length);
  for (let i = 0; i < column.length; i++) out[i] = (column.get(i) as string | null) ?? null;
  return out;
}

export function readLists<T>(batch: RecordBatch, name: string): T[][] {
  const column = batch.getChild(name);
  if (!column) throw new ValidationError(`arrow batch has no column ${JSON.stringify(name)}`);
  const out: T[][] = new Array(column.length);
  for (let i = 0; i < column.length; i++) {
    const list = column.get(i) as { toArray(): ArrayLike<T> } | null;
    out[i] = list ? Array.from(list.toArray()) : [];
  }
  return out;
}

/** Vectors of a FixedSizeList<Float32> or List<Float32> column, each a fresh Float32Array. */
export function readVectors(batch: RecordBatch, name: string): Float32Array[] {
  const data = columnData(batch, name);
  const values = data.children[0]?.values as Float32Array | undefined;
  if (!(values instanceof Float32Array)) {
    throw new ValidationError(`arrow column ${name} must be a list of float32 values`);
  }
  const childOffset = data.children[0]!.offset;
  const out: Float32Array[] = new Array(data.length);
  if (data.typeId === Type.FixedSizeList) {
    const size = (data.type as FixedSizeList).listSize;
    for (let i = 0; i < data.length; i++) {
      const start = childOffset + (data.offset + i) * size;
      out[i] = values.slice(start, start + size);
    }
  } else if (data.typeId === Type.List) {
    const offsets = data.valueOffsets as Int32Array;
    for (let i = 0; i < data.length; i++) {
      out[i] = values.slice(
        childOffset + offsets[data.offset + i]!,
        childOffset + offsets[data.offset + i + 1]!,
      );
    }
  } else {
    throw new ValidationError(`arrow column ${name} must be FixedSizeList<Float32> or List<Float32>`);
  }
  return out;
}
