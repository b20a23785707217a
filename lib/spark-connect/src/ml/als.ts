/**
 * Alternating Least Squares over Spark Connect ML (Spark ≥ 4.0): `new ALS({...}).fit(df)` trains
 * on the server and returns an `ALSModel` handle. The model lives on the server until
 * `dispose()` (or the end of the session); its factors are DataFrames.
 */
import { randomBytes } from 'node:crypto';
import { toLiteral } from '../column.ts';
import { DataFrame } from '../dataframe.ts';
import { SparkConnectArgumentError } from '../errors.ts';
import type {
  CommandProto,
  LiteralProto,
  MlOperatorProto,
  MlParamsProto,
  RelationProto,
} from '../proto-types.ts';
import type { SparkSession } from '../session.ts';

const ESTIMATOR = 'org.apache.spark.ml.recommendation.ALS';
const MODEL = 'org.apache.spark.ml.recommendation.ALSModel';

/** Every ALS parameter; unset ones keep Spark's defaults (shown). */
export interface ALSParams {
  /** Latent factors. @default 10 */
  rank?: number;
  /** @default 10 */
  maxIter?: number;
  /** @default 0.1 */
  regParam?: number;
  /** Confidence scale for implicit feedback. @default 1.0 */
  alpha?: number;
  /** @default false */
  implicitPrefs?: boolean;
  /** @default false */
  nonnegative?: boolean;
  /** `'nan'` or `'drop'` (rows of unknown users/items at transform). @default 'nan' */
  coldStartStrategy?: 'nan' | 'drop';
  seed?: number;
  /** @default 'user' */
  userCol?: string;
  /** @default 'item' */
  itemCol?: string;
  /** @default 'rating' */
  ratingCol?: string;
  /** @default 'prediction' */
  predictionCol?: string;
  /** @default 10 */
  numUserBlocks?: number;
  /** @default 10 */
  numItemBlocks?: number;
  /** @default 10 */
  checkpointInterval?: number;
  /** @default 4096 */
  blockSize?: number;
  /** @default 'MEMORY_AND_DISK' */
  intermediateStorageLevel?: string;
  /** @default 'MEMORY_AND_DISK' */
  finalStorageLevel?: string;
}

const uid = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

function toParams(params: Record<string, unknown>): MlParamsProto {
  const out: Record<string, LiteralProto> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    // Spark casts numbers to the param's declared type; doubles must stay doubles.
    out[key] =
      typeof value === 'number' && DOUBLE_PARAMS.has(key) ? { double: value } : toLiteral(value as never);
  }
  return { params: out };
}
const DOUBLE_PARAMS = new Set(['regParam', 'alpha']);

async function mlCommand(session: SparkSession, command: NonNullable<CommandProto['mlCommand']>) {
  const responses = await session.executeCommand({ mlCommand: command });
  const result = responses.find((r) => r.mlCommandResult)?.mlCommandResult;
  if (!result) throw new SparkConnectArgumentError('the server sent no ML result');
  return result;
}

function literalValue(literal: LiteralProto | undefined): unknown {
  if (!literal) return undefined;
  const [key, value] = Object.entries(literal).find(([k]) => k !== 'literalType') ?? [];
  if (key === 'long' || key === 'timestamp') return Number(value);
  return value;
}

/** The ALS estimator. Parameters are set in the constructor or with `setParams`. */
export class ALS {
  readonly uid: string;
  readonly params: Readonly<ALSParams>;

  constructor(params: ALSParams = {}, estimatorUid: string = uid('ALS')) {
    this.params = { ...params };
    this.uid = estimatorUid;
  }

  setParams(params: ALSParams): ALS {
    return new ALS({ ...this.params, ...params }, this.uid);
  }

  private operator(): MlOperatorProto {
    return { name: ESTIMATOR, uid: this.uid, type: 'OPERATOR_TYPE_ESTIMATOR' };
  }

  /** Trains on `dataset` (columns `userCol`, `itemCol`, `ratingCol`) and returns the model handle. */
  async fit(dataset: DataFrame): Promise<ALSModel> {
    const result = await mlCommand(dataset.session, {
      fit: { estimator: this.operator(), params: toParams({ ...this.params }), dataset: dataset.relation },
    });
    const id = result.operatorInfo?.objRef?.id;
    if (!id) throw new SparkConnectArgumentError('the server returned no model reference for ALS.fit');
    return new ALSModel(dataset.session, id, result.operatorInfo?.uid ?? this.uid);
  }
}

/** A trained ALS model held on the server. */
export class ALSModel {
  readonly session: SparkSession;
  /** Server-side object id. */
  readonly ref: string;
  readonly uid: string;
  private disposed = false;

  constructor(session: SparkSession, ref: string, modelUid: string) {
    this.session = session;
    this.ref = ref;
    this.uid = modelUid;
  }

  /** Loads a model saved with `save()`. */
  static async load(session: SparkSession, path: string): Promise<ALSModel> {
    const result = await mlCommand(session, {
      read: { operator: { name: MODEL, uid: '', type: 'OPERATOR_TYPE_MODEL' }, path },
    });
    const id = result.operatorInfo?.objRef?.id;
    if (!id) throw new SparkConnectArgumentError(`the server returned no model for ${path}`);
    return new ALSModel(session, id, result.operatorInfo?.uid ?? '');
  }

  private check(): void {
    if (this.disposed) throw new SparkConnectArgumentError('this ALSModel was disposed');
  }

  private attribute(method: string, args: { param?: LiteralProto; input?: RelationProto }[] = []): DataFrame {
    this.check();
    return new DataFrame(this.session, {
      mlRelation: { fetch: { objRef: { id: this.ref }, methods: [{ method, args }] } },
    });
  }

  /** `id: int, features: array<float>` per user. */
  get userFactors(): DataFrame {
    return this.attribute('userFactors');
  }
  /** `id: int, features: array<float>` per item. */
  get itemFactors(): DataFrame {
    return this.attribute('itemFactors');
  }

  /** The number of latent factors. */
  async rank(): Promise<number> {
    this.check();
    const result = await mlCommand(this.session, {
      fetch: { objRef: { id: this.ref }, methods: [{ method: 'rank' }] },
    });
    return Number(literalValue(result.param));
  }

  /** Top `numItems` items for each user in `users` (a DataFrame with the user column). */
  recommendForUserSubset(users: DataFrame, numItems: number): DataFrame {
    return this.attribute('recommendForUserSubset', [
      { input: users.relation },
      { param: { integer: numItems } },
    ]);
  }
  recommendForItemSubset(items: DataFrame, numUsers: number): DataFrame {
    return this.attribute('recommendForItemSubset', [
      { input: items.relation },
      { param: { integer: numUsers } },
    ]);
  }
  recommendForAllUsers(numItems: number): DataFrame {
    return this.attribute('recommendForAllUsers', [{ param: { integer: numItems } }]);
  }
  recommendForAllItems(numUsers: number): DataFrame {
    return this.attribute('recommendForAllItems', [{ param: { integer: numUsers } }]);
  }

  /** Adds a prediction column to `dataset`. */
  transform(
    dataset: DataFrame,
    params: Pick<ALSParams, 'coldStartStrategy' | 'predictionCol'> = {},
  ): DataFrame {
    this.check();
    return new DataFrame(this.session, {
      mlRelation: {
        transform: { objRef: { id: this.ref }, input: dataset.relation, params: toParams({ ...params }) },
      },
    });
  }

  /** Saves the model (Spark's ML format) to `path`. */
  async save(path: string, overwrite = false): Promise<void> {
    this.check();
    await mlCommand(this.session, { write: { objRef: { id: this.ref }, path, shouldOverwrite: overwrite } });
  }

  /** Frees the server-side model; safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.session.isStopped) return;
    await mlCommand(this.session, { delete: { objRefs: [{ id: this.ref }] } }).catch(() => undefined);
  }
}
