/**
 * Hand-written TypeScript shapes of the Spark Connect messages this client builds and reads,
 * in protobufjs' plain-object form (camelCase fields, int64 as string or number, enums as
 * their names, a oneof is whichever field is set). Only the parts in use are declared.
 */

export type Int64 = number | string;

export interface DataTypeProto {
  null?: object;
  binary?: object;
  boolean?: object;
  byte?: object;
  short?: object;
  integer?: object;
  long?: object;
  float?: object;
  double?: object;
  decimal?: { scale?: number; precision?: number };
  string?: { collation?: string };
  char?: { length?: number };
  varChar?: { length?: number };
  date?: object;
  timestamp?: object;
  timestampNtz?: object;
  calendarInterval?: object;
  yearMonthInterval?: { startField?: number; endField?: number };
  dayTimeInterval?: { startField?: number; endField?: number };
  array?: { elementType?: DataTypeProto; containsNull?: boolean };
  struct?: { fields?: StructFieldProto[] };
  map?: { keyType?: DataTypeProto; valueType?: DataTypeProto; valueContainsNull?: boolean };
  variant?: object;
  udt?: { type?: string; jvmClass?: string; sqlType?: DataTypeProto };
  unparsed?: { dataTypeString?: string };
}

export interface StructFieldProto {
  name?: string;
  dataType?: DataTypeProto;
  nullable?: boolean;
  metadata?: string;
}

export interface LiteralProto {
  null?: DataTypeProto;
  binary?: Uint8Array;
  boolean?: boolean;
  byte?: number;
  short?: number;
  integer?: number;
  long?: Int64;
  float?: number;
  double?: number;
  decimal?: { value: string; precision?: number; scale?: number };
  string?: string;
  date?: number;
  timestamp?: Int64;
  timestampNtz?: Int64;
  array?: { elementType?: DataTypeProto; elements?: LiteralProto[] };
  map?: {
    keyType?: DataTypeProto;
    valueType?: DataTypeProto;
    keys?: LiteralProto[];
    values?: LiteralProto[];
  };
  struct?: { structType?: DataTypeProto; elements?: LiteralProto[] };
}

export interface SortOrderProto {
  child: ExpressionProto;
  direction: 'SORT_DIRECTION_ASCENDING' | 'SORT_DIRECTION_DESCENDING';
  nullOrdering: 'SORT_NULLS_FIRST' | 'SORT_NULLS_LAST';
}

export interface FrameBoundaryProto {
  currentRow?: boolean;
  unbounded?: boolean;
  value?: ExpressionProto;
}

export interface ExpressionProto {
  literal?: LiteralProto;
  unresolvedAttribute?: { unparsedIdentifier: string; planId?: Int64; isMetadataColumn?: boolean };
  unresolvedFunction?: {
    functionName: string;
    arguments?: ExpressionProto[];
    isDistinct?: boolean;
    isUserDefinedFunction?: boolean;
  };
  expressionString?: { expression: string };
  unresolvedStar?: { unparsedTarget?: string; planId?: Int64 };
  alias?: { expr: ExpressionProto; name: string[]; metadata?: string };
  cast?: { expr: ExpressionProto; type?: DataTypeProto; typeStr?: string };
  unresolvedRegex?: { colName: string; planId?: Int64 };
  sortOrder?: SortOrderProto;
  lambdaFunction?: { function: ExpressionProto; arguments: { nameParts: string[] }[] };
  window?: {
    windowFunction: ExpressionProto;
    partitionSpec?: ExpressionProto[];
    orderSpec?: SortOrderProto[];
    frameSpec?: {
      frameType: 'FRAME_TYPE_ROW' | 'FRAME_TYPE_RANGE';
      lower: FrameBoundaryProto;
      upper: FrameBoundaryProto;
    };
  };
  unresolvedExtractValue?: { child: ExpressionProto; extraction: ExpressionProto };
  unresolvedNamedLambdaVariable?: { nameParts: string[] };
  callFunction?: { functionName: string; arguments?: ExpressionProto[] };
}

export interface MlOperatorProto {
  name: string;
  uid: string;
  type:
    | 'OPERATOR_TYPE_ESTIMATOR'
    | 'OPERATOR_TYPE_TRANSFORMER'
    | 'OPERATOR_TYPE_EVALUATOR'
    | 'OPERATOR_TYPE_MODEL';
}

export interface MlParamsProto {
  params: Record<string, LiteralProto>;
}

/** A relation: exactly one of the optional plan nodes is set. */
export interface RelationProto {
  common?: { planId?: Int64 };
  read?: {
    namedTable?: { unparsedIdentifier: string; options?: Record<string, string> };
    dataSource?: { format?: string; schema?: string; options?: Record<string, string>; paths?: string[] };
    isStreaming?: boolean;
  };
  project?: { input?: RelationProto; expressions: ExpressionProto[] };
  filter?: { input: RelationProto; condition: ExpressionProto };
  join?: {
    left: RelationProto;
    right: RelationProto;
    joinCondition?: ExpressionProto;
    joinType: string;
    usingColumns?: string[];
  };
  setOp?: {
    leftInput: RelationProto;
    rightInput: RelationProto;
    setOpType: 'SET_OP_TYPE_UNION' | 'SET_OP_TYPE_INTERSECT' | 'SET_OP_TYPE_EXCEPT';
    isAll?: boolean;
    byName?: boolean;
    allowMissingColumns?: boolean;
  };
  sort?: { input: RelationProto; order: SortOrderProto[]; isGlobal?: boolean };
  limit?: { input: RelationProto; limit: number };
  offset?: { input: RelationProto; offset: number };
  aggregate?: {
    input: RelationProto;
    groupType: string;
    groupingExpressions: ExpressionProto[];
    aggregateExpressions: ExpressionProto[];
    pivot?: { col: ExpressionProto; values?: LiteralProto[] };
  };
  sql?: {
    query: string;
    namedArguments?: Record<string, ExpressionProto>;
    posArguments?: ExpressionProto[];
  };
  localRelation?: { data?: Uint8Array; schema?: string };
  cachedLocalRelation?: { hash: string };
  sample?: {
    input: RelationProto;
    lowerBound: number;
    upperBound: number;
    withReplacement?: boolean;
    seed?: Int64;
    deterministicOrder?: boolean;
  };
  deduplicate?: { input: RelationProto; columnNames?: string[]; allColumnsAsKeys?: boolean };
  range?: { start?: Int64; end: Int64; step: Int64; numPartitions?: number };
  subqueryAlias?: { input: RelationProto; alias: string };
  repartition?: { input: RelationProto; numPartitions: number; shuffle?: boolean };
  repartitionByExpression?: {
    input: RelationProto;
    partitionExprs: ExpressionProto[];
    numPartitions?: number;
  };
  toDf?: { input: RelationProto; columnNames: string[] };
  withColumnsRenamed?: { input: RelationProto; renames: { colName: string; newColName: string }[] };
  showString?: { input: RelationProto; numRows: number; truncate: number; vertical: boolean };
  drop?: { input: RelationProto; columns?: ExpressionProto[]; columnNames?: string[] };
  tail?: { input: RelationProto; limit: number };
  withColumns?: { input: RelationProto; aliases: { expr: ExpressionProto; name: string[] }[] };
  hint?: { input: RelationProto; name: string; parameters: ExpressionProto[] };
  withWatermark?: { input: RelationProto; eventTime: string; delayThreshold: string };
  fillNa?: { input: RelationProto; cols?: string[]; values: LiteralProto[] };
  dropNa?: { input: RelationProto; cols?: string[]; minNonNulls?: number };
  describe?: { input: RelationProto; cols?: string[] };
  mlRelation?: {
    transform?: {
      objRef?: { id: string };
      transformer?: MlOperatorProto;
      input: RelationProto;
      params?: MlParamsProto;
    };
    fetch?: FetchProto;
  };
}

export interface FetchProto {
  objRef: { id: string };
  methods: { method: string; args?: { param?: LiteralProto; input?: RelationProto }[] }[];
}

export interface CommandProto {
  writeOperation?: {
    input: RelationProto;
    source?: string;
    path?: string;
    table?: { tableName: string; saveMethod: string };
    mode: string;
    sortColumnNames?: string[];
    partitioningColumns?: string[];
    bucketBy?: { bucketColumnNames: string[]; numBuckets: number };
    options?: Record<string, string>;
    clusteringColumns?: string[];
  };
  createDataframeView?: { input: RelationProto; name: string; isGlobal: boolean; replace: boolean };
  sqlCommand?: { input: RelationProto };
  writeStreamOperationStart?: {
    input: RelationProto;
    format?: string;
    options?: Record<string, string>;
    partitioningColumnNames?: string[];
    processingTimeInterval?: string;
    availableNow?: boolean;
    once?: boolean;
    outputMode?: string;
    queryName?: string;
    path?: string;
    tableName?: string;
  };
  streamingQueryCommand?: {
    queryId: { id: string; runId: string };
    status?: boolean;
    lastProgress?: boolean;
    recentProgress?: boolean;
    stop?: boolean;
    processAllAvailable?: boolean;
    explain?: { extended: boolean };
    exception?: boolean;
    awaitTermination?: { timeoutMs?: Int64 };
  };
  streamingQueryManagerCommand?: { active?: boolean; getQuery?: string };
  mlCommand?: {
    fit?: { estimator: MlOperatorProto; params?: MlParamsProto; dataset: RelationProto };
    fetch?: FetchProto;
    delete?: { objRefs: { id: string }[] };
    write?: {
      operator?: MlOperatorProto;
      objRef?: { id: string };
      params?: MlParamsProto;
      path: string;
      shouldOverwrite?: boolean;
      options?: Record<string, string>;
    };
    read?: { operator: MlOperatorProto; path: string };
  };
}

export interface PlanProto {
  root?: RelationProto;
  command?: CommandProto;
}

export interface StageInfoProto {
  stageId?: string;
  numTasks?: string;
  numCompletedTasks?: string;
  inputBytesRead?: string;
  done?: boolean;
}

/** An ExecutePlanResponse decoded with `longs: String`. */
export interface ExecutePlanResponseProto {
  sessionId?: string;
  serverSideSessionId?: string;
  operationId?: string;
  responseId?: string;
  responseType?: string;
  arrowBatch?: { rowCount?: string; data?: Uint8Array; startOffset?: string };
  sqlCommandResult?: { relation?: RelationProto };
  writeStreamOperationStartResult?: { queryId?: { id: string; runId: string }; name?: string };
  streamingQueryCommandResult?: {
    queryId?: { id: string; runId: string };
    status?: {
      statusMessage?: string;
      isDataAvailable?: boolean;
      isTriggerActive?: boolean;
      isActive?: boolean;
    };
    recentProgress?: { recentProgressJson?: string[] };
    explain?: { result?: string };
    exception?: { exceptionMessage?: string; errorClass?: string; stackTrace?: string };
    awaitTermination?: { terminated?: boolean };
  };
  streamingQueryManagerCommandResult?: {
    active?: { activeQueries?: { id?: { id: string; runId: string }; name?: string }[] };
    query?: { id?: { id: string; runId: string }; name?: string };
  };
  resultComplete?: object;
  executionProgress?: { stages?: StageInfoProto[]; numInflightTasks?: string };
  mlCommandResult?: {
    param?: LiteralProto;
    summary?: string;
    operatorInfo?: { objRef?: { id: string }; name?: string; uid?: string };
  };
  schema?: DataTypeProto;
}
