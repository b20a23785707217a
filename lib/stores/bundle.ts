/**
 * The on-disk model bundle: everything one model version needs for serving, in
 * `<MODELS_DIR>/<version>/`. The batch writes it; `publishVersion` streams it into the feature
 * store and vector index (Redis/Qdrant or the in-process adapters).
 *
 * Files (Arrow IPC file format, explicit column types, no dictionaries):
 * - `items.arrow`     item_idx Int32, vector FixedSizeList<Float32>(rank), then every ItemMetadata
 *                     string field as Utf8
 * - `users.arrow`     user_idx Int32, vector FixedSizeList<Float32>(rank)
 * - `user_ids.arrow`  customer_id Utf8, user_idx Int32
 * - `user_segments.arrow` segment Utf8, user_idx Int32 (each customer's segment, e.g. its age band)
 * - `item_ids.arrow`  article_id Utf8, item_idx Int32
 * - `profiles.arrow`  user_idx, recent purchases (newest first) and profile counters
 * - `trending.json`   `{ global: number[], groups: { [productGroup]: number[] }, segments?: { [segment]: number[] } }`
 * - `manifest.json`   format, ModelVersionInfo, row and byte counts per file. Written last
 *                     (write-then-rename), so a directory is a complete bundle iff it has one.
 *
 * Readers accept List<Float32> vectors as well as FixedSizeList, so a bundle written by other
 * tools (Spark, pyarrow) loads too.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Data, Schema } from 'apache-arrow';
import { ValidationError } from '../errors.ts';
import {
  ArrowFileWriter,
  int32Column,
  int32Field,
  int32ListColumn,
  int32ListField,
  readArrowFile,
  readInt32,
  readLists,
  readStrings,
  readVectors,
  utf8Column,
  utf8Field,
  utf8ListColumn,
  utf8ListField,
  vectorColumn,
  vectorField,
} from './arrow-file.ts';
import type { UserProfileSeed } from './feature-store.ts';
import type { ItemMetadata, ModelVersionInfo, ProfileCounters } from './types.ts';
import type { ItemPoint } from './vector-index.ts';
import { assertVersionName } from './version-name.ts';

export const BUNDLE_FORMAT = 1;

export const BUNDLE_FILES = {
  manifest: 'manifest.json',
  items: 'items.arrow',
  users: 'users.arrow',
  userIds: 'user_ids.arrow',
  userSegments: 'user_segments.arrow',
  itemIds: 'item_ids.arrow',
  profiles: 'profiles.arrow',
  trending: 'trending.json',
} as const;

type TableName = 'items' | 'users' | 'userIds' | 'userSegments' | 'itemIds' | 'profiles';

export interface TrendingLists {
  global: number[];
  /** One list per product group name. */
  groups: Record<string, number[]>;
  /** One list per customer segment (e.g. `age:25-34`); absent in older bundles. */
  segments?: Record<string, number[]>;
}

export interface BundleManifest {
  format: number;
  info: ModelVersionInfo;
  /** Row and byte counts per file name. */
  files: Record<string, { rows: number; bytes: number }>;
  completed_at: string;
}

/**
 * Item payload string fields, in their column order in `items.arrow` (and in the batch's item
 * metadata table, which fills them).
 */
export const ITEM_STRING_FIELDS = [
  'article_id',
  'prod_name',
  'product_type_name',
  'product_group_name',
  'colour_group_name',
  'section_name',
  'garment_group_name',
  'index_name',
] as const satisfies ReadonlyArray<keyof ItemMetadata>;

function schemas(rank: number): Record<TableName, Schema> {
  return {
    items: new Schema([
      int32Field('item_idx'),
      vectorField('vector', rank),
      ...ITEM_STRING_FIELDS.map((f) => utf8Field(f)),
    ]),
    users: new Schema([int32Field('user_idx'), vectorField('vector', rank)]),
    userIds: new Schema([utf8Field('customer_id'), int32Field('user_idx')]),
    userSegments: new Schema([utf8Field('segment'), int32Field('user_idx')]),
    itemIds: new Schema([utf8Field('article_id'), int32Field('item_idx')]),
    profiles: new Schema([
      int32Field('user_idx'),
      int32ListField('recent_item_idx'),
      utf8ListField('recent_ts'),
      int32Field('total_purchases'),
      utf8Field('first_purchase_at', true),
      utf8Field('last_purchase_at', true),
      utf8ListField('group_names'),
      int32ListField('group_counts'),
      utf8ListField('type_names'),
      int32ListField('type_counts'),
    ]),
  };
}

export interface BundleWriterOptions {
  /** Rows per Arrow record batch (memory held per table while writing). @default 8192 */
  batchRows?: number;
}

export const BUNDLE_BATCH_ROWS = 8192;

/** Rows buffered for one table, written as a record batch every `batchRows`. */
class TableBuffer<Row> {
  private rows: Row[] = [];
  private writer: ArrowFileWriter | null = null;

  constructor(
    private readonly path: string,
    private readonly schema: Schema,
    private readonly batchRows: number,
    private readonly toColumns: (rows: Row[]) => Data[],
  ) {}

  async append(rows: Iterable<Row>): Promise<void> {
    for (const row of rows) {
      this.rows.push(row);
      if (this.rows.length >= this.batchRows) await this.flush();
    }
  }

  async close(): Promise<{ rows: number; bytes: number }> {
    await this.flush();
    const writer = await this.ensureWriter();
    await writer.close();
    return { rows: writer.rows, bytes: writer.bytes };
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }

  private async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    const writer = await this.ensureWriter();
    await writer.write(this.toColumns(rows), rows.length);
  }

  private async ensureWriter(): Promise<ArrowFileWriter> {
    if (!this.writer) this.writer = await ArrowFileWriter.create(this.path, this.schema);
    return this.writer;
  }
}

export type BundleInfoInput = Omit<ModelVersionInfo, 'users' | 'items'> &
  Partial<Pick<ModelVersionInfo, 'users' | 'items'>>;

/**
 * Streams a bundle to disk. Append in any chunk sizes, in any order between tables; memory per
 * table stays at one record batch. `finish()` closes every file and writes the manifest; a
 * bundle without `finish()` is never picked up by `latestBundle`.
 */
export class BundleWriter {
  readonly dir: string;
  private info: BundleInfoInput;
  private readonly items: TableBuffer<ItemPoint>;
  private readonly users: TableBuffer<[number, Float32Array]>;
  private readonly userIds: TableBuffer<[string, number]>;
  private readonly userSegments: TableBuffer<[string, number]>;
  private readonly itemIds: TableBuffer<[string, number]>;
  private readonly profiles: TableBuffer<UserProfileSeed>;
  private trending: TrendingLists = { global: [], groups: {} };
  private state: 'open' | 'finished' | 'aborted' = 'open';

  private constructor(dir: string, info: BundleInfoInput, batchRows: number) {
    this.dir = dir;
    this.info = info;
    const s = schemas(info.rank);
    const path = (table: TableName) => join(dir, BUNDLE_FILES[table]);
    this.items = new TableBuffer(path('items'), s.items, batchRows, (rows) => itemColumns(rows, info.rank));
    this.users = new TableBuffer(path('users'), s.users, batchRows, (rows) => [
      int32Column(rows.map(([u]) => u)),
      vectorColumn(
        rows.map(([, v]) => v),
        info.rank,
      ),
    ]);
    this.userIds = new TableBuffer(path('userIds'), s.userIds, batchRows, (rows) => [
      utf8Column(rows.map(([c]) => c)),
      int32Column(rows.map(([, u]) => u)),
    ]);
    this.userSegments = new TableBuffer(path('userSegments'), s.userSegments, batchRows, (rows) => [
      utf8Column(rows.map(([segment]) => segment)),
      int32Column(rows.map(([, u]) => u)),
    ]);
    this.itemIds = new TableBuffer(path('itemIds'), s.itemIds, batchRows, (rows) => [
      utf8Column(rows.map(([a]) => a)),
      int32Column(rows.map(([, i]) => i)),
    ]);
    this.profiles = new TableBuffer(path('profiles'), s.profiles, batchRows, profileColumns);
  }

  /**
   * Starts `<modelsDir>/<version>/`. An existing complete bundle of that version is an error
   * (bundles are immutable); leftovers of an unfinished one are removed.
   */
  static async create(
    modelsDir: string,
    info: BundleInfoInput,
    options: BundleWriterOptions = {},
  ): Promise<BundleWriter> {
    assertVersionName(info.version);
    if (!Number.isInteger(info.rank) || info.rank < 1) {
      throw new ValidationError(`bundle rank must be a positive integer, got ${info.rank}`);
    }
    const dir = join(modelsDir, info.version);
    if (await exists(join(dir, BUNDLE_FILES.manifest))) {
      throw new ValidationError(
        `a complete bundle for version ${info.version} already exists in ${modelsDir}`,
      );
    }
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return new BundleWriter(dir, { ...info }, options.batchRows ?? BUNDLE_BATCH_ROWS);
  }

  async appendItems(points: Iterable<ItemPoint>): Promise<void> {
    this.assertOpen();
    await this.items.append(points);
  }

  async appendUserVectors(entries: Iterable<[userIdx: number, vector: Float32Array]>): Promise<void> {
    this.assertOpen();
    await this.users.append(entries);
  }

  async appendUserIds(entries: Iterable<[customerId: string, userIdx: number]>): Promise<void> {
    this.assertOpen();
    await this.userIds.append(entries);
  }

  /** The customer segment of each user that has one (what segment trending serves them). */
  async appendUserSegments(entries: Iterable<[segment: string, userIdx: number]>): Promise<void> {
    this.assertOpen();
    await this.userSegments.append(entries);
  }

  async appendItemIds(entries: Iterable<[articleId: string, itemIdx: number]>): Promise<void> {
    this.assertOpen();
    await this.itemIds.append(entries);
  }

  async appendProfiles(seeds: Iterable<UserProfileSeed>): Promise<void> {
    this.assertOpen();
    await this.profiles.append(seeds);
  }

  setTrending(lists: TrendingLists): void {
    this.assertOpen();
    this.trending = {
      global: [...lists.global],
      groups: { ...lists.groups },
      ...(lists.segments && Object.keys(lists.segments).length > 0
        ? { segments: { ...lists.segments } }
        : {}),
    };
  }

  /**
   * Closes every table and writes the manifest. `users` and `items` in the info default to the
   * row counts of `users.arrow` and `items.arrow`; `patch` can add late facts such as metrics.
   */
  async finish(patch: Partial<Omit<ModelVersionInfo, 'version' | 'rank'>> = {}): Promise<BundleManifest> {
    this.assertOpen();
    this.state = 'finished';
    const files: BundleManifest['files'] = {};
    const items = await this.items.close();
    const users = await this.users.close();
    files[BUNDLE_FILES.items] = items;
    files[BUNDLE_FILES.users] = users;
    files[BUNDLE_FILES.userIds] = await this.userIds.close();
    files[BUNDLE_FILES.userSegments] = await this.userSegments.close();
    files[BUNDLE_FILES.itemIds] = await this.itemIds.close();
    files[BUNDLE_FILES.profiles] = await this.profiles.close();
    const trendingText = `${JSON.stringify(this.trending)}\n`;
    await writeFile(join(this.dir, BUNDLE_FILES.trending), trendingText);
    files[BUNDLE_FILES.trending] = {
      rows:
        this.trending.global.length +
        [...Object.values(this.trending.groups), ...Object.values(this.trending.segments ?? {})].reduce(
          (n, l) => n + l.length,
          0,
        ),
      bytes: Buffer.byteLength(trendingText),
    };
    const info: ModelVersionInfo = {
      ...this.info,
      users: this.info.users ?? users.rows,
      items: this.info.items ?? items.rows,
      ...patch,
    };
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      info,
      files,
      completed_at: new Date().toISOString(),
    };
    const manifestPath = join(this.dir, BUNDLE_FILES.manifest);
    await writeFile(`${manifestPath}.partial`, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(`${manifestPath}.partial`, manifestPath);
    return manifest;
  }

  /** Stops writing and removes the directory; safe to call after a failure, or twice. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    for (const table of [
      this.items,
      this.users,
      this.userIds,
      this.userSegments,
      this.itemIds,
      this.profiles,
    ]) {
      await table.abort().catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`bundle writer for ${this.dir} is ${this.state}`);
  }
}

function itemColumns(points: ItemPoint[], rank: number): Data[] {
  for (const p of points) {
    if (p.payload.item_idx !== p.id) {
      throw new ValidationError(`item ${p.id} has payload.item_idx ${p.payload.item_idx}; they must match`);
    }
  }
  return [
    int32Column(points.map((p) => p.id)),
    vectorColumn(
      points.map((p) => p.vector),
      rank,
    ),
    ...ITEM_STRING_FIELDS.map((field) => utf8Column(points.map((p) => p.payload[field]))),
  ];
}

function profileColumns(seeds: UserProfileSeed[]): Data[] {
  const groups = seeds.map((s) => Object.entries(s.counters.product_groups));
  const types = seeds.map((s) => Object.entries(s.counters.product_types));
  return [
    int32Column(seeds.map((s) => s.userIdx)),
    int32ListColumn(seeds.map((s) => s.recent.map((p) => p.item_idx))),
    utf8ListColumn(seeds.map((s) => s.recent.map((p) => p.ts))),
    int32Column(seeds.map((s) => s.counters.total_purchases)),
    utf8Column(seeds.map((s) => s.counters.first_purchase_at)),
    utf8Column(seeds.map((s) => s.counters.last_purchase_at)),
    utf8ListColumn(groups.map((g) => g.map(([name]) => name))),
    int32ListColumn(groups.map((g) => g.map(([, n]) => n))),
    utf8ListColumn(types.map((t) => t.map(([name]) => name))),
    int32ListColumn(types.map((t) => t.map(([, n]) => n))),
  ];
}

// --- reading ------------------------------------------------------------------------------------

/** Reads a complete bundle; every table is yielded as one array per Arrow record batch. */
export class BundleReader {
  readonly dir: string;
  readonly manifest: BundleManifest;

  private constructor(dir: string, manifest: BundleManifest) {
    this.dir = dir;
    this.manifest = manifest;
  }

  /** Opens `dir` (a version directory); throws a ValidationError unless it is a complete bundle. */
  static async open(dir: string): Promise<BundleReader> {
    const manifestPath = join(dir, BUNDLE_FILES.manifest);
    let manifest: BundleManifest;
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as BundleManifest;
    } catch (error) {
      throw new ValidationError(
        `${dir} is not a complete model bundle (no readable ${BUNDLE_FILES.manifest})`,
        {
          cause: error,
        },
      );
    }
    if (manifest.format !== BUNDLE_FORMAT) {
      throw new ValidationError(
        `${manifestPath} has bundle format ${manifest.format}; this code reads ${BUNDLE_FORMAT}`,
      );
    }
    assertVersionName(manifest.info?.version ?? '');
    return new BundleReader(dir, manifest);
  }

  get info(): ModelVersionInfo {
    return this.manifest.info;
  }

  /** Rows in one of the bundle's files (0 when it is absent). */
  rows(file: (typeof BUNDLE_FILES)[TableName]): number {
    return this.manifest.files[file]?.rows ?? 0;
  }

  async *items(): AsyncGenerator<ItemPoint[]> {
    for await (const batch of this.batches('items')) {
      const ids = readInt32(batch, 'item_idx');
      const vectors = readVectors(batch, 'vector');
      const strings = ITEM_STRING_FIELDS.map((f) => readStrings(batch, f));
      const points: ItemPoint[] = new Array(ids.length);
      for (let i = 0; i < ids.length; i++) {
        const payload = { item_idx: ids[i]! } as Record<string, string | number>;
        ITEM_STRING_FIELDS.forEach((field, f) => {
          payload[field] = strings[f]![i] ?? '';
        });
        points[i] = { id: ids[i]!, vector: vectors[i]!, payload: payload as unknown as ItemMetadata };
      }
      yield points;
    }
  }

  async *userVectors(): AsyncGenerator<Array<[number, Float32Array]>> {
    for await (const batch of this.batches('users')) {
      const ids = readInt32(batch, 'user_idx');
      const vectors = readVectors(batch, 'vector');
      yield Array.from(ids, (u, i): [number, Float32Array] => [u, vectors[i]!]);
    }
  }

  async *userIds(): AsyncGenerator<Array<[string, number]>> {
    yield* this.idPairs('userIds', 'customer_id', 'user_idx');
  }

  /** (segment, user_idx) pairs; none in bundles written before segments existed. */
  async *userSegments(): AsyncGenerator<Array<[string, number]>> {
    yield* this.idPairs('userSegments', 'segment', 'user_idx');
  }

  async *itemIds(): AsyncGenerator<Array<[string, number]>> {
    yield* this.idPairs('itemIds', 'article_id', 'item_idx');
  }

  async *profiles(): AsyncGenerator<UserProfileSeed[]> {
    for await (const batch of this.batches('profiles')) {
      const users = readInt32(batch, 'user_idx');
      const recentItems = readLists<number>(batch, 'recent_item_idx');
      const recentTs = readLists<string>(batch, 'recent_ts');
      const totals = readInt32(batch, 'total_purchases');
      const first = readStrings(batch, 'first_purchase_at');
      const last = readStrings(batch, 'last_purchase_at');
      const groupNames = readLists<string>(batch, 'group_names');
      const groupCounts = readLists<number>(batch, 'group_counts');
      const typeNames = readLists<string>(batch, 'type_names');
      const typeCounts = readLists<number>(batch, 'type_counts');
      const seeds: UserProfileSeed[] = new Array(users.length);
      for (let i = 0; i < users.length; i++) {
        const counters: ProfileCounters = {
          total_purchases: totals[i]!,
          first_purchase_at: first[i] ?? null,
          last_purchase_at: last[i] ?? null,
          product_groups: zipCounts(groupNames[i]!, groupCounts[i]!),
          product_types: zipCounts(typeNames[i]!, typeCounts[i]!),
        };
        const items = recentItems[i]!;
        const ts = recentTs[i]!;
        seeds[i] = {
          userIdx: users[i]!,
          recent: items.map((item_idx, j) => ({ item_idx, ts: ts[j] ?? '' })),
          counters,
        };
      }
      yield seeds;
    }
  }

  async trending(): Promise<TrendingLists> {
    const path = join(this.dir, BUNDLE_FILES.trending);
    if (!(await exists(path))) return { global: [], groups: {} };
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<TrendingLists>;
    return {
      global: parsed.global ?? [],
      groups: parsed.groups ?? {},
      ...(parsed.segments ? { segments: parsed.segments } : {}),
    };
  }

  private async *idPairs(
    table: TableName,
    idColumn: string,
    idxColumn: string,
  ): AsyncGenerator<Array<[string, number]>> {
    for await (const batch of this.batches(table)) {
      const ids = readStrings(batch, idColumn);
      const idxs = readInt32(batch, idxColumn);
      yield Array.from(idxs, (idx, i): [string, number] => [ids[i] ?? '', idx]);
    }
  }

  private async *batches(table: TableName) {
    const path = join(this.dir, BUNDLE_FILES[table]);
    if (!(await exists(path))) return;
    for await (const batch of readArrowFile(path)) {
      if (batch.numRows > 0) yield batch;
    }
  }
}

function zipCounts(names: string[], counts: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, i) => {
    out[name] = counts[i] ?? 0;
  });
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Complete bundle versions under `modelsDir`, oldest first (version names sort by time). */
export async function listBundles(modelsDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(modelsDir);
  } catch {
    return [];
  }
  const complete: string[] = [];
  for (const name of entries.sort()) {
    if (await exists(join(modelsDir, name, BUNDLE_FILES.manifest))) complete.push(name);
  }
  return complete;
}

/** The directory of the newest complete bundle under `modelsDir`, or null when there is none. */
export async function latestBundle(modelsDir: string): Promise<string | null> {
  const versions = await listBundles(modelsDir);
  const newest = versions[versions.length - 1];
  return newest === undefined ? null : join(modelsDir, newest);
}
