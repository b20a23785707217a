/**
 * `DataFrame`: an immutable logical plan plus the session that runs it. Transformations
 * return new DataFrames without talking to the server; actions (`collect`, `toArrow`,
 * `count`, `show`...) execute the plan.
 */
import type * as arrow from 'apache-arrow';
import { batchToRows, decodeIpc, type Row } from './arrow.ts';
import type { ExecuteOptions } from './client.ts';
import { Column, type ColumnOrName, col, lit, toColumn } from './column.ts';
import { SparkConnectArgumentError } from './errors.ts';
import type { ExpressionProto, LiteralProto, RelationProto, SortOrderProto } from './proto-types.ts';
import type { SparkSession } from './session.ts';
import { emptyTable, tableFromBatches } from './table.ts';
import { fromProtoType, type StructType, toDDL } from './types.ts';
import { DataFrameWriter, DataStreamWriter } from './writer.ts';

export type JoinType =
  | 'inner'
  | 'cross'
  | 'outer'
  | 'full'
  | 'fullouter'
  | 'full_outer'
  | 'left'
  | 'leftouter'
  | 'left_outer'
  | 'right'
  | 'rightouter'
  | 'right_outer'
  | 'semi'
  | 'leftsemi'
  | 'left_semi'
  | 'anti'
  | 'leftanti'
  | 'left_anti';

const JOIN_TYPES: Record<JoinType, string> = {
  inner: 'JOIN_TYPE_INNER',
  cross: 'JOIN_TYPE_CROSS',
  outer: 'JOIN_TYPE_FULL_OUTER',
  full: 'JOIN_TYPE_FULL_OUTER',
  fullouter: 'JOIN_TYPE_FULL_OUTER',
  full_outer: 'JOIN_TYPE_FULL_OUTER',
  left: 'JOIN_TYPE_LEFT_OUTER',
  leftouter: 'JOIN_TYPE_LEFT_OUTER',
  left_outer: 'JOIN_TYPE_LEFT_OUTER',
  right: 'JOIN_TYPE_RIGHT_OUTER',
  rightouter: 'JOIN_TYPE_RIGHT_OUTER',
  right_outer: 'JOIN_TYPE_RIGHT_OUTER',
  semi: 'JOIN_TYPE_LEFT_SEMI',
  leftsemi: 'JOIN_TYPE_LEFT_SEMI',
  left_semi: 'JOIN_TYPE_LEFT_SEMI',
  anti: 'JOIN_TYPE_LEFT_ANTI',
  leftanti: 'JOIN_TYPE_LEFT_ANTI',
  left_anti: 'JOIN_TYPE_LEFT_ANTI',
};

export type ExplainMode = 'simple' | 'extended' | 'codegen' | 'cost' | 'formatted';

/** Storage level for `persist()`; `cache()` uses memory and disk. */
export interface StorageLevel {
  useDisk: boolean;
  useMemory: boolean;
  useOffHeap: boolean;
  deserialized: boolean;
  replication: number;
}

export const StorageLevels = {
  MEMORY_AND_DISK: { useDisk: true, useMemory: true, useOffHeap: false, deserialized: true, replication: 1 },
  MEMORY_ONLY: { useDisk: false, useMemory: true, useOffHeap: false, deserialized: true, replication: 1 },
  DISK_ONLY: { useDisk: true, useMemory: false, useOffHeap: false, deserialized: false, replication: 1 },
} satisfies Record<string, StorageLevel>;

function sortOrder(c: ColumnOrName): SortOrderProto {
  const column = toColumn(c);
  return column.expr.sortOrder ?? column.asc().expr.sortOrder!;
}

const exprs = (cols: ColumnOrName[]): ExpressionProto[] => cols.map((c) => toColumn(c).expr);

export class DataFrame {
  /** The session that runs this plan. */
  readonly session: SparkSession;
  /** The protocol relation (with its plan id). */
  readonly relation: RelationProto;

  constructor(session: SparkSession, relation: RelationProto) {
    this.session = session;
    this.relation =
      relation.common?.planId === undefined
        ? { ...relation, common: { planId: session.nextPlanId() } }
        : relation;
  }

  private get planId(): number {
    return Number(this.relation.common!.planId);
  }

  /** A new DataFrame on top of this one. */
  private derive(relation: RelationProto): DataFrame {
    return new DataFrame(this.session, relation);
  }

  // ------------------------------------------------------------------ columns

  /** A column of this DataFrame, resolved against this plan (disambiguates joins). */
  col(name: string): Column {
    if (name === '*') return new Column({ unresolvedStar: { planId: this.planId } });
    return new Column({ unresolvedAttribute: { unparsedIdentifier: name, planId: this.planId } });
  }

  // ------------------------------------------------------------------ transformations

  select(...cols: (ColumnOrName | ColumnOrName[])[]): DataFrame {
    const flat = cols.flat();
    return this.derive({ project: { input: this.relation, expressions: exprs(flat) } });
  }

  /** Projection by SQL expressions: `selectExpr('a', 'b * 2 AS c')`. */
  selectExpr(...expressions: string[]): DataFrame {
    return this.derive({
      project: {
        input: this.relation,
        expressions: expressions.map((e) => ({ expressionString: { expression: e } })),
      },
    });
  }

  filter(condition: Column | string): DataFrame {
    const expr =
      typeof condition === 'string' ? { expressionString: { expression: condition } } : condition.expr;
    return this.derive({ filter: { input: this.relation, condition: expr } });
  }
  where(condition: Column | string): DataFrame {
    return this.filter(condition);
  }

  withColumn(name: string, value: Column): DataFrame {
    return this.withColumns({ [name]: value });
  }
  withColumns(columns: Record<string, Column>): DataFrame {
    return this.derive({
      withColumns: {
        input: this.relation,
        aliases: Object.entries(columns).map(([name, c]) => ({ expr: c.expr, name: [name] })),
      },
    });
  }

  withColumnRenamed(existing: string, renamed: string): DataFrame {
    return this.withColumnsRenamed({ [existing]: renamed });
  }
  withColumnsRenamed(renames: Record<string, string>): DataFrame {
    return this.derive({
      withColumnsRenamed: {
        input: this.relation,
        renames: Object.entries(renames).map(([colName, newColName]) => ({ colName, newColName })),
      },
    });
  }

  drop(...cols: ColumnOrName[]): DataFrame {
    const names = cols.filter((c): c is string => typeof c === 'string');
    const columns = cols.filter((c): c is Column => c instanceof Column).map((c) => c.expr);
    return this.derive({ drop: { input: this.relation, columnNames: names, columns } });
  }

  /** Renames every column in order. */
  toDF(...names: string[]): DataFrame {
    return this.derive({ toDf: { input: this.relation, columnNames: names } });
  }

  alias(name: string): DataFrame {
    return this.derive({ subqueryAlias: { input: this.relation, alias: name } });
  }

  groupBy(...cols: (ColumnOrName | ColumnOrName[])[]): GroupedData {
    return new GroupedData(this, 'GROUP_TYPE_GROUPBY', exprs(cols.flat()));
  }
  groupby(...cols: (ColumnOrName | ColumnOrName[])[]): GroupedData {
    return this.groupBy(...cols);
  }
  rollup(...cols: ColumnOrName[]): GroupedData {
    return new GroupedData(this, 'GROUP_TYPE_ROLLUP', exprs(cols));
  }
  cube(...cols: ColumnOrName[]): GroupedData {
    return new GroupedData(this, 'GROUP_TYPE_CUBE', exprs(cols));
  }
  /** Aggregates over the whole DataFrame: `df.agg(max('a'), count())`. */
  agg(...aggregates: Column[]): DataFrame {
    return this.groupBy().agg(...aggregates);
  }

  /**
   * Joins with `other`. `on` is a column name or names present on both sides (an equi-join
   * keeping one copy), or a boolean Column; `how` is any Spark join type.
   */
  join(other: DataFrame, on?: string | string[] | Column, how: JoinType = 'inner'): DataFrame {
    const joinType = JOIN_TYPES[how];
    if (!joinType) throw new SparkConnectArgumentError(`unknown join type ${how}`);
    const join: NonNullable<RelationProto['join']> = { left: this.relation, right: other.relation, joinType };
    if (typeof on === 'string') join.usingColumns = [on];
    else if (Array.isArray(on)) join.usingColumns = on;
    else if (on instanceof Column) join.joinCondition = on.expr;
    return this.derive({ join });
  }
  crossJoin(other: DataFrame): DataFrame {
    return this.join(other, undefined, 'cross');
  }

  orderBy(...cols: (ColumnOrName | ColumnOrName[])[]): DataFrame {
    return this.derive({ sort: { input: this.relation, order: cols.flat().map(sortOrder), isGlobal: true } });
  }
  sort(...cols: (ColumnOrName | ColumnOrName[])[]): DataFrame {
    return this.orderBy(...cols);
  }
  sortWithinPartitions(...cols: ColumnOrName[]): DataFrame {
    return this.derive({ sort: { input: this.relation, order: cols.map(sortOrder), isGlobal: false } });
  }

  limit(n: number): DataFrame {
    return this.derive({ limit: { input: this.relation, limit: n } });
  }
  offset(n: number): DataFrame {
    return this.derive({ offset: { input: this.relation, offset: n } });
  }

  distinct(): DataFrame {
    return this.derive({ deduplicate: { input: this.relation, allColumnsAsKeys: true } });
  }
  dropDuplicates(cols?: string[]): DataFrame {
    if (!cols || cols.length === 0) return this.distinct();
    return this.derive({ deduplicate: { input: this.relation, columnNames: cols } });
  }
  drop_duplicates(cols?: string[]): DataFrame {
    return this.dropDuplicates(cols);
  }

  /** UNION ALL by position (like PySpark's `union`; add `.distinct()` for SQL UNION). */
  union(other: DataFrame): DataFrame {
    return this.setOp(other, 'SET_OP_TYPE_UNION', true);
  }
  unionAll(other: DataFrame): DataFrame {
    return this.union(other);
  }
  /** UNION ALL by column name; missing columns become nulls when `allowMissingColumns`. */
  unionByName(other: DataFrame, allowMissingColumns = false): DataFrame {
    return this.setOp(other, 'SET_OP_TYPE_UNION', true, true, allowMissingColumns);
  }
  intersect(other: DataFrame): DataFrame {
    return this.setOp(other, 'SET_OP_TYPE_INTERSECT', false);
  }
  intersectAll(other: DataFrame): DataFrame {
    return this.setOp(other, 'SET_OP_TYPE_INTERSECT', true);
  }
  subtract(other: DataFrame): DataFrame {
    return this.setOp(other, 'SET_OP_TYPE_EXCEPT', false);
  }
  exceptAll(other: DataFrame): DataFrame {
    return this.setOp(other, 'SET_OP_TYPE_EXCEPT', true);
  }
  private setOp(
    other: DataFrame,
    setOpType: NonNullable<RelationProto['setOp']>['setOpType'],
    isAll: boolean,
    byName = false,
    allowMissingColumns = false,
  ): DataFrame {
    return this.derive({
      setOp: {
        leftInput: this.relation,
        rightInput: other.relation,
        setOpType,
        isAll,
        byName,
        allowMissingColumns,
      },
    });
  }

  /** A random sample of about `fraction` of the rows. */
  sample(fraction: number, seed?: number, withReplacement = false): DataFrame {
    if (fraction < 0) throw new SparkConnectArgumentError('fraction must be >= 0');
    return this.derive({
      sample: {
        input: this.relation,
        lowerBound: 0,
        upperBound: fraction,
        withReplacement,
        seed: seed ?? Math.floor(Math.random() * 2 ** 31),
      },
    });
  }

  /** Splits randomly by weights (normalized), deterministically for a given seed. */
  randomSplit(weights: number[], seed?: number): DataFrame[] {
    const total = weights.reduce((a, b) => a + b, 0);
    if (total <= 0 || weights.some((w) => w < 0))
      throw new SparkConnectArgumentError('weights must be >= 0 and sum > 0');
    const s = seed ?? Math.floor(Math.random() * 2 ** 31);
    let lower = 0;
    return weights.map((w) => {
      const upper = lower + w / total;
      const part = this.derive({
        sample: {
          input: this.relation,
          lowerBound: lower,
          upperBound: upper,
          withReplacement: false,
          seed: s,
          deterministicOrder: true,
        },
      });
      lower = upper;
      return part;
    });
  }

  /** Repartitions into `n` partitions, by the given columns when there are any. */
  repartition(n: number, ...cols: ColumnOrName[]): DataFrame {
    if (cols.length > 0) {
      return this.derive({
        repartitionByExpression: { input: this.relation, partitionExprs: exprs(cols), numPartitions: n },
      });
    }
    return this.derive({ repartition: { input: this.relation, numPartitions: n, shuffle: true } });
  }
  coalesce(n: number): DataFrame {
    return this.derive({ repartition: { input: this.relation, numPartitions: n, shuffle: false } });
  }

  hint(name: string, ...parameters: unknown[]): DataFrame {
    return this.derive({
      hint: { input: this.relation, name, parameters: parameters.map((p) => lit(p as never).expr) },
    });
  }

  withWatermark(eventTime: string, delayThreshold: string): DataFrame {
    return this.derive({ withWatermark: { input: this.relation, eventTime, delayThreshold } });
  }

  /** Replaces nulls with `value` (in `subset` columns, or all columns of a matching type). */
  fillna(value: string | number | boolean, subset?: string[]): DataFrame {
    return this.derive({
      fillNa: { input: this.relation, cols: subset ?? [], values: [lit(value).expr.literal as LiteralProto] },
    });
  }
  /** Drops rows with nulls (`how: 'any'`) or only all-null rows (`'all'`). */
  dropna(how: 'any' | 'all' = 'any', subset?: string[]): DataFrame {
    return this.derive({
      dropNa: { input: this.relation, cols: subset ?? [], ...(how === 'all' ? { minNonNulls: 1 } : {}) },
    });
  }

  // ------------------------------------------------------------------ caching and views

  /** Marks the DataFrame for caching (lazily, on first use). */
  async persist(level: StorageLevel = StorageLevels.MEMORY_AND_DISK): Promise<DataFrame> {
    await this.session.client.analyze({ persist: { relation: this.relation, storageLevel: level } });
    return this;
  }
  cache(): Promise<DataFrame> {
    return this.persist(StorageLevels.MEMORY_AND_DISK);
  }
  async unpersist(blocking = false): Promise<DataFrame> {
    await this.session.client.analyze({ unpersist: { relation: this.relation, blocking } });
    return this;
  }
  /** The storage level this DataFrame is cached with (all false when it is not). */
  async storageLevel(): Promise<StorageLevel> {
    const response = await this.session.client.analyze<{
      getStorageLevel?: { storageLevel?: Partial<StorageLevel> };
    }>({
      getStorageLevel: { relation: this.relation },
    });
    const s = response.getStorageLevel?.storageLevel ?? {};
    return {
      useDisk: s.useDisk ?? false,
      useMemory: s.useMemory ?? false,
      useOffHeap: s.useOffHeap ?? false,
      deserialized: s.deserialized ?? false,
      replication: s.replication ?? 0,
    };
  }

  createOrReplaceTempView(name: string): Promise<void> {
    return this.createView(name, false, true);
  }
  createTempView(name: string): Promise<void> {
    return this.createView(name, false, false);
  }
  createOrReplaceGlobalTempView(name: string): Promise<void> {
    return this.createView(name, true, true);
  }
  private async createView(name: string, isGlobal: boolean, replace: boolean): Promise<void> {
    await this.session.executeCommand({
      createDataframeView: { input: this.relation, name, isGlobal, replace },
    });
  }

  // ------------------------------------------------------------------ writers

  get write(): DataFrameWriter {
    return new DataFrameWriter(this);
  }
  get writeStream(): DataStreamWriter {
    return new DataStreamWriter(this);
  }

  // ------------------------------------------------------------------ actions

  /**
   * The result as Arrow record batches, decoded as they arrive: memory stays bounded by a
   * few server batches however large the result.
   */
  async *toBatches(options: ExecuteOptions = {}): AsyncGenerator<arrow.RecordBatch> {
    for await (const response of this.session.execute({ root: this.relation }, options)) {
      const data = response.arrowBatch?.data;
      if (data && data.length > 0) yield* decodeIpc(data);
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<arrow.RecordBatch> {
    return this.toBatches();
  }

  /** The result rows one at a time, decoded batch by batch (bounded memory). */
  async *toLocalIterator<T extends Row = Row>(options: ExecuteOptions = {}): AsyncGenerator<T> {
    for await (const batch of this.toBatches(options)) {
      for (const row of batchToRows(batch)) yield row as T;
    }
  }

  /** The whole result as one Arrow table (zero rows still carry the schema). */
  async toArrow(options: ExecuteOptions = {}): Promise<arrow.Table> {
    const batches: arrow.RecordBatch[] = [];
    let schema: StructType | undefined;
    for await (const response of this.session.execute({ root: this.relation }, options)) {
      if (response.schema && !schema) schema = fromProtoType(response.schema) as StructType;
      const data = response.arrowBatch?.data;
      if (data && data.length > 0) batches.push(...decodeIpc(data));
    }
    if (batches.length > 0) return tableFromBatches(batches);
    return emptyTable(schema ?? (await this.schema()));
  }

  /**
   * Every row as a JS object. Values: int/float/double → number; long → number, or bigint
   * beyond 2^53; decimal → exact string; date and timestamp → Date; binary → Uint8Array;
   * arrays → arrays; structs → objects; maps → Map; null → null.
   */
  async collect<T extends Row = Row>(options: ExecuteOptions = {}): Promise<T[]> {
    const rows: Row[] = [];
    for await (const batch of this.toBatches(options)) batchToRows(batch, rows);
    return rows as T[];
  }

  async take<T extends Row = Row>(n: number): Promise<T[]> {
    return this.limit(n).collect<T>();
  }
  head<T extends Row = Row>(n = 1): Promise<T[]> {
    return this.take<T>(n);
  }
  async first<T extends Row = Row>(): Promise<T | undefined> {
    return (await this.take<T>(1))[0];
  }
  async isEmpty(): Promise<boolean> {
    return (await this.take(1)).length === 0;
  }

  /** Number of rows (a bigint only past 2^53). */
  async count(options: ExecuteOptions = {}): Promise<number> {
    const [row] = await this.groupBy().count().collect(options);
    return Number(row?.['count'] ?? 0);
  }

  /** The result schema, asked of the server without running the query. */
  async schema(): Promise<StructType> {
    const response = await this.session.client.analyze<{ schema?: { schema?: never } }>({
      schema: { plan: { root: this.relation } },
    });
    return fromProtoType(response.schema?.schema) as StructType;
  }
  async columns(): Promise<string[]> {
    return (await this.schema()).fields.map((f) => f.name);
  }
  /** `[name, ddlType]` pairs, like PySpark's `dtypes`. */
  async dtypes(): Promise<[string, string][]> {
    return (await this.schema()).fields.map((f) => [f.name, toDDL(f.dataType)]);
  }

  /** The schema as a tree string; also printed. */
  async printSchema(level?: number): Promise<string> {
    const response = await this.session.client.analyze<{ treeString?: { treeString?: string } }>({
      treeString: { plan: { root: this.relation }, ...(level === undefined ? {} : { level }) },
    });
    const text = response.treeString?.treeString ?? '';
    console.log(text);
    return text;
  }

  /** The query plan as Spark prints it; also printed. */
  async explain(mode: ExplainMode | boolean = 'simple', print = true): Promise<string> {
    const m = typeof mode === 'boolean' ? (mode ? 'extended' : 'simple') : mode;
    const response = await this.session.client.analyze<{ explain?: { explainString?: string } }>({
      explain: { plan: { root: this.relation }, explainMode: `EXPLAIN_MODE_${m.toUpperCase()}` },
    });
    const text = response.explain?.explainString ?? '';
    if (print) console.log(text);
    return text;
  }

  /** The first `n` rows as Spark's text table. */
  async showString(n = 20, truncate: boolean | number = true, vertical = false): Promise<string> {
    const t = typeof truncate === 'number' ? truncate : truncate ? 20 : 0;
    const rows = await this.derive({
      showString: { input: this.relation, numRows: n, truncate: t, vertical },
    }).collect();
    return String(rows[0]?.['show_string'] ?? '');
  }
  /** Prints the first `n` rows as a text table (and returns it). */
  async show(n = 20, truncate: boolean | number = true, vertical = false): Promise<string> {
    const text = await this.showString(n, truncate, vertical);
    console.log(text);
    return text;
  }

  async isStreaming(): Promise<boolean> {
    const response = await this.session.client.analyze<{ isStreaming?: { isStreaming?: boolean } }>({
      isStreaming: { plan: { root: this.relation } },
    });
    return response.isStreaming?.isStreaming ?? false;
  }

  async inputFiles(): Promise<string[]> {
    const response = await this.session.client.analyze<{ inputFiles?: { files?: string[] } }>({
      inputFiles: { plan: { root: this.relation } },
    });
    return response.inputFiles?.files ?? [];
  }
}

/** The result of `groupBy()`: aggregate it with `agg()` or a shortcut. */
export class GroupedData {
  private readonly df: DataFrame;
  private readonly groupType: string;
  private readonly grouping: ExpressionProto[];
  private readonly pivotSpec: { col: ExpressionProto; values?: LiteralProto[] } | undefined;

  constructor(
    df: DataFrame,
    groupType: string,
    grouping: ExpressionProto[],
    pivot?: { col: ExpressionProto; values?: LiteralProto[] },
  ) {
    this.df = df;
    this.groupType = groupType;
    this.grouping = grouping;
    this.pivotSpec = pivot;
  }

  /** Aggregates: Columns (`sum('x').alias('total')`) or a `{column: 'function'}` map. */
  agg(...aggregates: (Column | Record<string, string>)[]): DataFrame {
    const expressions: ExpressionProto[] = [];
    for (const a of aggregates) {
      if (a instanceof Column) expressions.push(a.expr);
      else {
        for (const [column, fn] of Object.entries(a)) {
          expressions.push({
            alias: {
              expr: { unresolvedFunction: { functionName: fn, arguments: [col(column).expr] } },
              name: [`${fn}(${column})`],
            },
          });
        }
      }
    }
    return new DataFrame(this.df.session, {
      aggregate: {
        input: this.df.relation,
        groupType: this.groupType,
        groupingExpressions: this.grouping,
        aggregateExpressions: expressions,
        ...(this.pivotSpec ? { pivot: this.pivotSpec } : {}),
      },
    });
  }

  /** Row count per group, in a column named `count`. */
  count(): DataFrame {
    return this.agg(
      new Column({ unresolvedFunction: { functionName: 'count', arguments: [lit(1).expr] } }).alias('count'),
    );
  }
  sum(...cols: string[]): DataFrame {
    return this.simple('sum', cols);
  }
  avg(...cols: string[]): DataFrame {
    return this.simple('avg', cols);
  }
  mean(...cols: string[]): DataFrame {
    return this.simple('avg', cols);
  }
  min(...cols: string[]): DataFrame {
    return this.simple('min', cols);
  }
  max(...cols: string[]): DataFrame {
    return this.simple('max', cols);
  }
  private simple(fn: string, cols: string[]): DataFrame {
    return this.agg(
      ...cols.map((c) =>
        new Column({ unresolvedFunction: { functionName: fn, arguments: [col(c).expr] } }).alias(
          `${fn}(${c})`,
        ),
      ),
    );
  }

  /** Pivots on a column (values listed, or discovered by Spark). */
  pivot(pivotCol: string, values?: unknown[]): GroupedData {
    return new GroupedData(this.df, 'GROUP_TYPE_PIVOT', this.grouping, {
      col: col(pivotCol).expr,
      ...(values ? { values: values.map((v) => lit(v as never).expr.literal as LiteralProto) } : {}),
    });
  }
}
