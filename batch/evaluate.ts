/**
 * Step `evaluate`: the quality of what the API serves, measured by asking it.
 *
 * The model version's outputs are written to an evaluation bundle that holds only what was known
 * at the end of the training period (user vectors, histories and profile counters up to the last
 * training day, trending lists of the TRENDING_DAYS before it), for the evaluated users. The
 * bundle is published into in-process stores by the serving loader, and every evaluated user is
 * asked through the API's own `Recommender` once per serving policy (policies.ts) — users without
 * a vector included, answered by the trending fallback as the API answers them. No second
 * ranking implementation.
 *
 * Protocols (EVAL_PROTOCOL, `--protocol`; docs/batch.md):
 * - `holdout`: test on the HOLDOUT_DAYS after the training period.
 * - `prequential`: the first EVAL_STREAM_DAYS of the hold-out are a stream window, the rest the
 *   test days. `static` asks the batch state; `online` first replays the window's purchases (and
 *   archived clicks and add-to-carts) through the online updater (replay.ts), as the live system
 *   would have applied them, then asks.
 *
 * Metrics (metrics.ts): MAP@12 (Kaggle), Recall@12, NDCG@12, coverage, over all test users, warm
 * users (a vector in the batch state) and cold users; the prequential tables add `streamed` (cold
 * users with events in the stream window). Users are the test days' buyers, a stable sample above
 * EVAL_MAX_USERS. Rows go to `gold/metrics`, replacing the version's earlier rows of the same
 * protocol.
 *
 * Quality gate (`--min-map-ratio R`): fails when the served default's MAP@12 (hold-out, all users)
 * is below R × that of the trending policy.
 */

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../lib/errors.ts';
import { col, type DataFrame, functions as F, lit } from '../lib/spark-connect/index.ts';
import { serveOptionsFromConfig } from '../serve/deps.ts';
import {
  type RepurchasePlan,
  repurchasePlans,
  tunedRepurchase,
  windowPolicyName,
} from '../serve/pipeline/repurchase.ts';
import { tunedSegments } from '../serve/services/recommendations.ts';
import { type BatchContext, BatchError, type BatchStep, type StepResult } from './context.ts';
import { K, policySet, type ServingPolicy } from './evaluation/policies.ts';
import { type ReplayEvent, replayThroughUpdater } from './evaluation/replay.ts';
import { type EvaluationUser, type PolicyMetrics, scorePolicies } from './evaluation/served.ts';
import { openEvaluationStores } from './evaluation/stores.ts';
import { hasScheme, joinLocation } from './lake.ts';
import { writeBundle } from './load.ts';
import { addDays, archivedEvents, readSplit } from './preprocess.ts';
import { delta, deltaIfExists, sqlString } from './spark.ts';
import { computeTrending } from './trending.ts';
import { currentVersion, readVersion } from './versions.ts';

export { K };

export const EVAL_PROTOCOLS = ['holdout', 'prequential'] as const;
export type EvalProtocol = (typeof EVAL_PROTOCOLS)[number];
export type EvalVariant = 'static' | 'online';

export interface MetricRow {
  version: string;
  protocol: EvalProtocol;
  variant: EvalVariant;
  policy: string;
  query: string;
  segment: string;
  map_at_12: number;
  recall_at_12: number;
  ndcg_at_12: number;
  coverage: number;
  trending_share: number;
  users: number;
  test_from: string;
  test_to: string;
  evaluated_at: string;
}

const METRICS_DDL =
  'version STRING, protocol STRING, variant STRING, policy STRING, query STRING, segment STRING, ' +
  'map_at_12 DOUBLE, recall_at_12 DOUBLE, ndcg_at_12 DOUBLE, coverage DOUBLE, trending_share DOUBLE, ' +
  'users BIGINT, test_from STRING, test_to STRING, evaluated_at STRING';

/** Days of one protocol: the stream window (prequential) and the test days, both inclusive. */
export interface EvalWindow {
  protocol: EvalProtocol;
  stream?: { from: string; to: string };
  test: { from: string; to: string };
}

/** The protocols' windows for a split, or why one cannot run. */
export function evaluationWindows(
  split: { trainEnd: string; lastDay: string; holdoutDays: number },
  protocols: readonly EvalProtocol[],
  streamDays: number,
): { windows: EvalWindow[]; skipped: string[] } {
  const windows: EvalWindow[] = [];
  const skipped: string[] = [];
  const firstTest = addDays(split.trainEnd, 1);
  for (const protocol of protocols) {
    if (protocol === 'holdout') {
      windows.push({ protocol, test: { from: firstTest, to: split.lastDay } });
    } else if (streamDays >= split.holdoutDays) {
      skipped.push(
        `prequential needs EVAL_STREAM_DAYS (${streamDays}) < HOLDOUT_DAYS (${split.holdoutDays}) to leave test days`,
      );
    } else {
      windows.push({
        protocol,
        stream: { from: firstTest, to: addDays(split.trainEnd, streamDays) },
        test: { from: addDays(split.trainEnd, streamDays + 1), to: split.lastDay },
      });
    }
  }
  return { windows, skipped };
}

const dayRange = (column: string, range: { from: string; to: string }) =>
  col(column)
    .geq(F.to_date(lit(range.from)))
    .and(col(column).leq(F.to_date(lit(range.to))));

/** The buyers of the test days, sampled by a stable hash when there are more than `max`. */
export function testUsers(ctx: BatchContext, test: { from: string; to: string }, max: number): DataFrame {
  const buyers = delta(ctx.spark, ctx.lake.silver.purchases)
    .where(dayRange('t_dat', test))
    .select('user_idx')
    .distinct();
  if (max <= 0) return buyers;
  return buyers.orderBy(F.hash(col('user_idx'), lit(ctx.config.model.seed)), col('user_idx')).limit(max);
}

/** Each sampled user's distinct test-day purchases. */
async function truths(
  ctx: BatchContext,
  test: { from: string; to: string },
  users: DataFrame,
): Promise<Map<number, number[]>> {
  const rows = await delta(ctx.spark, ctx.lake.silver.purchases)
    .where(dayRange('t_dat', test))
    .join(users, 'user_idx', 'semi')
    .groupBy('user_idx')
    .agg(F.collect_set('item_idx').alias('actual'))
    .collect();
  return new Map(rows.map((r) => [Number(r['user_idx']), (r['actual'] as number[]).map(Number)]));
}

/** The stream window's events of `users`, oldest first (purchases of a day before its clicks). */
async function streamEvents(
  ctx: BatchContext,
  window: { from: string; to: string },
  users: DataFrame,
): Promise<ReplayEvent[]> {
  const purchases = delta(ctx.spark, ctx.lake.silver.purchases)
    .where(dayRange('t_dat', window))
    .select(
      col('user_idx'),
      col('item_idx'),
      lit('purchase').alias('event_type'),
      F.to_timestamp(col('t_dat')).alias('ts'),
      lit(0).alias('kind'),
    );
  const archived = await archivedEvents(ctx);
  const others = archived
    ?.where(col('event_type').isin('click', 'add_to_cart'))
    .where(dayRange('t_dat', window))
    .select(col('user_idx'), col('item_idx'), col('event_type'), col('ts'), lit(1).alias('kind'));
  const all = (others ? purchases.union(others) : purchases).join(users, 'user_idx', 'semi');
  const rows = await all
    .orderBy(col('user_idx'), col('ts'), col('kind'), col('item_idx'))
    .select('user_idx', 'item_idx', 'event_type', 'ts')
    .collect();
  return rows.map((r) => ({
    userIdx: Number(r['user_idx']),
    itemIdx: Number(r['item_idx']),
    eventType: r['event_type'] as ReplayEvent['eventType'],
    ts: (r['ts'] as Date).toISOString(),
  }));
}

/**
 * The batch state at the end of `through` (the last training day) as a model bundle: the
 * version's vectors, the histories and profile counters of purchases up to that day, and the
 * trending lists of the TRENDING_DAYS before it — for `users` only. Nothing of a later day.
 */
export async function writeEvaluationBundle(
  ctx: BatchContext,
  target: {
    modelsDir: string;
    version: string;
    rank: number;
    createdAt: string;
    through: string;
    users: DataFrame;
  },
): Promise<string> {
  const trending = await computeTrending(ctx, target.version, target.through);
  return writeBundle(ctx, { ...target, trending }, { through: target.through, users: target.users });
}

export interface EvaluationResult {
  rows: MetricRow[];
  /** Replay counters of the prequential protocol. */
  replay?: { events: number; applied: number; deadLettered: number; users: number };
  windows: EvalWindow[];
  users: Record<EvalProtocol, number>;
}

/**
 * Evaluates `version` under the given protocols and policies. Writes nothing to the lake (the
 * step does); the evaluation bundle lives under STAGING_DIR while it runs.
 */
export async function evaluateServed(
  ctx: BatchContext,
  options: {
    version: string;
    rank: number;
    createdAt: string;
    protocols: readonly EvalProtocol[];
    policies: readonly ServingPolicy[];
  },
): Promise<EvaluationResult & { skipped: string[] }> {
  const { config, spark, lake } = ctx;
  const { version } = options;
  const split = await readSplit(ctx);
  const { windows, skipped } = evaluationWindows(split, options.protocols, config.batch.evalStreamDays);
  const serve = serveOptionsFromConfig(config);
  const catalogue = await delta(spark, lake.silver.items).count();
  const sampled = new Map(
    windows.map((w) => [w.protocol, testUsers(ctx, w.test, config.batch.evalMaxUsers)] as const),
  );
  const union = [...sampled.values()].reduce((a, b) => a.union(b)).distinct();

  // The evaluation bundle: the batch state at the end of the training period, evaluated users only.
  ctx.note(`evaluation bundle: state at ${split.trainEnd}`);
  // This run's own folders, removed whole afterwards: the bundle, written here (STAGING_DIR is
  // this process's scratch space), and the users table, written by Spark in the lake's `_work`.
  const workDir = join(ctx.paths.staging, 'evaluation', `${version}-${process.pid}`);
  const sparkWorkDir = joinLocation(ctx.paths.lake, '_work', 'evaluation', `${version}-${process.pid}`);
  const modelsDir = join(workDir, 'bundle');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(modelsDir, { recursive: true });
  const evaluatedAt = new Date().toISOString();
  const rows: MetricRow[] = [];
  const users: Record<EvalProtocol, number> = { holdout: 0, prequential: 0 };
  let replay: EvaluationResult['replay'];
  try {
    const usersTable = joinLocation(sparkWorkDir, 'users');
    // Materialised once: the sample is used by several reads and must be the same in each.
    await union.write.format('delta').mode('overwrite').save(usersTable);
    const evaluated = delta(spark, usersTable);
    const bundleDir = await writeEvaluationBundle(ctx, {
      modelsDir,
      version,
      rank: options.rank,
      createdAt: options.createdAt,
      through: split.trainEnd,
      users: evaluated,
    });
    // Each protocol is asked at the start of its first test day (the repurchase stage's "now").
    let askedAt = 0;
    const stores = await openEvaluationStores({ bundleDir, serve, logger: ctx.logger, now: () => askedAt });
    try {
      const hasVector = async (u: number) => (await stores.featureStore.getUserVector(version, u)) !== null;
      const plans: Array<{ window: EvalWindow; users: EvaluationUser[]; events: ReplayEvent[] }> = [];
      for (const window of windows) {
        const sample = sampled.get(window.protocol)!.join(evaluated, 'user_idx', 'semi');
        const actual = await truths(ctx, window.test, sample);
        const events = window.stream ? await streamEvents(ctx, window.stream, sample) : [];
        const streamed = new Set(events.map((e) => e.userIdx));
        const list: EvaluationUser[] = [];
        for (const [userIdx, items] of [...actual].sort((a, b) => a[0] - b[0])) {
          const warm = await hasVector(userIdx);
          const segments = warm ? ['warm'] : ['cold'];
          if (!warm && window.stream && streamed.has(userIdx)) segments.push('streamed');
          list.push({ userIdx, actual: items, segments });
        }
        users[window.protocol] = list.length;
        plans.push({ window, users: list, events });
      }
      const score = async (
        plan: (typeof plans)[number],
        variant: EvalVariant,
        policies: readonly ServingPolicy[] = options.policies,
      ) => {
        const { window } = plan;
        askedAt = Date.parse(`${window.test.from}T00:00:00.000Z`);
        const label = `${window.protocol}${window.stream ? ` ${variant}` : ''}`;
        const metrics = await scorePolicies({
          recommender: stores.recommender,
          policies,
          users: plan.users,
          serve,
          catalogueSize: catalogue,
          segments: window.stream ? ['warm', 'cold', 'streamed'] : ['warm', 'cold'],
          onPolicy: (policy, done) =>
            ctx.note(`${label}: ${policy.name} scored (${done}/${policies.length})`),
          signal: ctx.signal,
        });
        for (const m of metrics) {
          const policy = policies.find((p) => p.name === m.policy)!;
          rows.push(metricRow(version, window, variant, policy, m, evaluatedAt));
        }
      };
      // Tuning: policies scored on the first protocol (the hold-out) before everything else, their
      // figures recorded in the evaluated version's info, where the recommender reads them — so
      // every policy below, like serving, uses what they chose. Their rows are listed after the
      // standard policies (the tables lead with `default`).
      const tuningRows: MetricRow[] = [];
      const tune = async (policies: readonly ServingPolicy[]): Promise<Record<string, number>> => {
        const before = rows.length;
        await score(plans[0]!, 'static', policies);
        const measured = rows.splice(before);
        tuningRows.push(...measured);
        const figures = metricsOf(measured);
        const info = await stores.featureStore.getVersionInfo(version);
        if (info)
          await stores.featureStore.putVersionInfo({ ...info, metrics: { ...info.metrics, ...figures } });
        // The recommender chose a plan from the figures before these: choose again.
        stores.recommender.forgetPlans();
        return figures;
      };
      // REPURCHASE_WINDOW_DAYS / REPURCHASE_BOOST / REPURCHASE_FILL auto: every window × boost with
      // the model's items, then the trending fill at the window those chose.
      const stage = serve.repurchaseStage;
      const candidates = repurchasePlans(stage);
      if (candidates.length > 1 && plans.length > 0) {
        const policyOf = (p: RepurchasePlan): ServingPolicy => ({
          name: windowPolicyName(p.windowDays, p.boost, p.fill),
          query: `repurchase_window_days=${p.windowDays}&repurchase_boost=${p.boost}&repurchase_fill=${p.fill}`,
          description: `the API defaults with a ${p.windowDays}-day repurchase window, boost ${p.boost}, ${p.fill} fill`,
        });
        const withModel = candidates.filter((p) => p.fill === 'model');
        const measured = await tune((withModel.length > 0 ? withModel : candidates).map(policyOf));
        if (withModel.length > 0 && withModel.length < candidates.length) {
          const { windowDays } = tunedRepurchase(measured, { ...stage, fill: 'model' });
          const trending = candidates.filter((p) => p.fill === 'trending' && p.windowDays === windowDays);
          Object.assign(measured, await tune(trending.map(policyOf)));
        }
        const chosen = tunedRepurchase(measured, stage);
        ctx.print(
          `  repurchase window (REPURCHASE_WINDOW_DAYS=${stage.windowDays}): ${chosen.windowDays} days, ` +
            `boost (REPURCHASE_BOOST=${stage.boost}): ${chosen.boost}, fill (REPURCHASE_FILL=${stage.fill}): ${chosen.fill}`,
        );
      }
      // TRENDING_SEGMENTS=auto: the default list with and without the segment lists for cold
      // users (`segments_on`, `segments_off`).
      if (serve.trendingSegments === 'auto' && plans.length > 0) {
        const measured = await tune(
          (['on', 'off'] as const).map(
            (v): ServingPolicy => ({
              name: `segments_${v}`,
              query: `trending_segments=${v}`,
              description: `the API defaults, segment trending ${v} for cold users`,
            }),
          ),
        );
        ctx.print(
          `  cold-start lists (TRENDING_SEGMENTS=auto): ${tunedSegments(measured, 'auto') ? 'per customer segment' : 'global'}`,
        );
      }
      // Static first for every protocol: the replay then changes the stores.
      for (const plan of plans) await score(plan, 'static');
      for (const plan of plans) {
        if (!plan.window.stream) continue;
        ctx.note(`prequential: replaying ${plan.events.length} stream events through the updater`);
        const stats = await replayThroughUpdater({
          featureStore: stores.featureStore,
          vectorIndex: stores.vectorIndex,
          events: plan.events,
          config,
          logger: ctx.logger,
          signal: ctx.signal,
        });
        replay = {
          events: plan.events.length,
          applied: stats.applied,
          deadLettered: stats.deadLettered,
          users: new Set(plan.events.map((e) => e.userIdx)).size,
        };
        await score(plan, 'online');
      }
      rows.push(...tuningRows);
    } finally {
      await stores.close();
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
    // On object storage or HDFS this process cannot delete it: `_work/` holds only such scratch.
    if (!hasScheme(sparkWorkDir)) await rm(sparkWorkDir, { recursive: true, force: true });
  }
  return { rows, windows, users, skipped, ...(replay ? { replay } : {}) };
}

function metricRow(
  version: string,
  window: EvalWindow,
  variant: EvalVariant,
  policy: ServingPolicy,
  m: PolicyMetrics,
  evaluatedAt: string,
): MetricRow {
  return {
    version,
    protocol: window.protocol,
    variant,
    policy: policy.name,
    query: policy.anonymous
      ? '(anonymous)'
      : policy.repurchasesOnly
        ? `${policy.query} (repurchases only)`
        : policy.query,
    segment: m.segment,
    map_at_12: m.map,
    recall_at_12: m.recall,
    ndcg_at_12: m.ndcg,
    coverage: m.coverage,
    trending_share: m.trendingShare,
    users: m.users,
    test_from: window.test.from,
    test_to: window.test.to,
    evaluated_at: evaluatedAt,
  };
}

/** Writes the rows to `gold/metrics`, replacing the version's earlier rows of these protocols. */
async function saveMetrics(ctx: BatchContext, version: string, rows: MetricRow[]): Promise<void> {
  if (rows.length === 0) return;
  const protocols = [...new Set(rows.map((r) => r.protocol))];
  const df = await ctx.spark.createDataFrame(rows, METRICS_DDL);
  const existing = await deltaIfExists(ctx.spark, ctx.lake.gold.metrics);
  const current = existing ? await existing.columns() : [];
  if (existing && !current.includes('protocol')) {
    // A table of the earlier layout (Spark-side ranking): its figures are not comparable.
    ctx.print(`  ${ctx.lake.gold.metrics} had the earlier layout; replaced by the served-pipeline table`);
    await df.write
      .format('delta')
      .mode('overwrite')
      .option('overwriteSchema', true)
      .save(ctx.lake.gold.metrics);
    return;
  }
  await df.write
    .format('delta')
    .mode('overwrite')
    .option(
      'replaceWhere',
      `version = ${sqlString(version)} AND protocol IN (${protocols.map(sqlString).join(', ')})`,
    )
    .save(ctx.lake.gold.metrics);
}

const f4 = (x: number | undefined) => (x === undefined ? '     -' : x.toFixed(4));

/** The hold-out table: one line per policy, MAP@12 per segment, the other metrics over all users. */
export function holdoutTable(rows: readonly MetricRow[], window: EvalWindow): string {
  const own = rows.filter((r) => r.protocol === window.protocol && r.variant === 'static');
  const at = (policy: string, segment: string) =>
    own.find((r) => r.policy === policy && r.segment === segment);
  const policies = [...new Set(own.map((r) => r.policy))];
  const all0 = at(policies[0]!, 'all');
  const lines = [
    `served pipeline, hold-out: test ${window.test.from}..${window.test.to}, batch state at the day before; ` +
      `users all ${all0?.users ?? 0} / warm ${at(policies[0]!, 'warm')?.users ?? 0} / cold ${at(policies[0]!, 'cold')?.users ?? 0}`,
    'policy          MAP@12 all    warm    cold   Recall@12  NDCG@12  coverage  trending',
  ];
  for (const p of policies) {
    const all = at(p, 'all');
    lines.push(
      `${p.padEnd(15)} ${f4(all?.map_at_12).padStart(10)}  ${f4(at(p, 'warm')?.map_at_12)}  ${f4(at(p, 'cold')?.map_at_12)}` +
        `   ${f4(all?.recall_at_12).padStart(9)}  ${f4(all?.ndcg_at_12).padStart(7)}  ${f4(all?.coverage).padStart(8)}` +
        `  ${`${Math.round((all?.trending_share ?? 0) * 100)} %`.padStart(8)}`,
    );
  }
  return lines.join('\n');
}

/** The prequential table: MAP@12 static → online per segment, one line per policy. */
export function prequentialTable(rows: readonly MetricRow[], window: EvalWindow): string {
  const own = rows.filter((r) => r.protocol === window.protocol);
  const at = (variant: EvalVariant, policy: string, segment: string) =>
    own.find((r) => r.variant === variant && r.policy === policy && r.segment === segment);
  const policies = [...new Set(own.map((r) => r.policy))];
  const first = policies[0]!;
  const count = (segment: string) => at('static', first, segment)?.users ?? 0;
  const pair = (p: string, segment: string) =>
    `${f4(at('static', p, segment)?.map_at_12)} → ${f4(at('online', p, segment)?.map_at_12)}`;
  const lines = [
    `served pipeline, prequential: stream ${window.stream!.from}..${window.stream!.to} replayed through the updater, ` +
      `test ${window.test.from}..${window.test.to}; users all ${count('all')} / warm ${count('warm')} / cold ${count('cold')} ` +
      `(streamed ${count('streamed')})`,
    'policy          MAP@12 static → online: all          warm               cold               streamed',
  ];
  for (const p of policies) {
    lines.push(
      `${p.padEnd(15)} ${pair(p, 'all').padStart(26)}  ${pair(p, 'warm')}  ${pair(p, 'cold')}  ${pair(p, 'streamed')}`,
    );
  }
  return lines.join('\n');
}

/**
 * The metrics of `version` (of its evaluated twin, for a refit) over all users, keyed
 * `<protocol>[_<variant>]_<policy>_<metric>`.
 */
export async function readMetrics(ctx: BatchContext, version: string): Promise<Record<string, number>> {
  // A refit carries the figures of its evaluated twin.
  const record = await readVersion(ctx, version).catch(() => undefined);
  if (record?.evaluated_version) version = record.evaluated_version;
  // No metrics table yet (evaluate skipped): the version simply carries none.
  const table = await deltaIfExists(ctx.spark, ctx.lake.gold.metrics);
  if (!table || !(await table.columns()).includes('protocol')) return {};
  const rows = await table.where(col('version').eq(version)).where(col('segment').eq('all')).collect();
  return metricsOf(rows as unknown as MetricRow[]);
}

/** Figures of the `all` rows by name, as a version's info carries them (`holdout_default_map_at_12` …). */
export function metricsOf(rows: readonly MetricRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    if (r.segment !== 'all') continue;
    const variant = r.protocol === 'prequential' ? `_${r.variant}` : '';
    for (const metric of ['map_at_12', 'recall_at_12', 'ndcg_at_12', 'coverage'] as const) {
      out[`${r.protocol}${variant}_${r.policy}_${metric}`] = Number(r[metric]);
    }
  }
  return out;
}

/** The protocols a run evaluates: `--protocol`, else EVAL_PROTOCOL (`both` = hold-out and prequential). */
export function protocolsFor(value: string): EvalProtocol[] {
  if (value === 'both') return [...EVAL_PROTOCOLS];
  if ((EVAL_PROTOCOLS as readonly string[]).includes(value)) return [value as EvalProtocol];
  throw new ValidationError(`--protocol must be holdout, prequential or both (got "${value}")`);
}

async function run(ctx: BatchContext): Promise<StepResult> {
  const { config } = ctx;
  const split = await readSplit(ctx);
  if (split.holdoutDays === 0) {
    return { rows: 0, summary: 'skipped: no hold-out period (HOLDOUT_DAYS=0)' };
  }
  let record = await currentVersion(ctx);
  if (record.evaluated_version) {
    // A refit has seen the test days: its figures are those of its twin trained before them.
    ctx.print(
      `  ${record.version} is a refit on every day; evaluating ${record.evaluated_version}, its twin trained through ${split.trainEnd}`,
    );
    record = await readVersion(ctx, record.evaluated_version);
  }
  if (record.train_end > split.trainEnd) {
    throw new BatchError(
      `version ${record.version} was trained through ${record.train_end}, after the training period (to ${split.trainEnd}): ` +
        'it would be scored on days it has seen',
    );
  }
  const { version } = record;
  const protocols = protocolsFor(ctx.options.protocol ?? config.batch.evalProtocol);
  const policies = policySet(ctx.options.policies ?? []);
  const result = await evaluateServed(ctx, {
    version,
    rank: record.rank,
    createdAt: record.created_at,
    protocols,
    policies,
  });
  for (const reason of result.skipped) ctx.print(`  skipped: ${reason}`);
  if (result.rows.length === 0) throw new BatchError('no test user to evaluate');
  await saveMetrics(ctx, version, result.rows);

  const summary: string[] = [];
  for (const window of result.windows) {
    ctx.print(window.stream ? prequentialTable(result.rows, window) : holdoutTable(result.rows, window));
    const at = (variant: EvalVariant, policy: string) =>
      result.rows.find(
        (r) =>
          r.protocol === window.protocol &&
          r.variant === variant &&
          r.policy === policy &&
          r.segment === 'all',
      );
    if (window.stream) {
      const s = at('static', 'default')!;
      const o = at('online', 'default')!;
      summary.push(`prequential default ${f4(s.map_at_12)} static → ${f4(o.map_at_12)} online`);
    } else {
      const served = at('static', 'default')!;
      const trending = at('static', 'trending')!;
      const ratio = trending.map_at_12 > 0 ? served.map_at_12 / trending.map_at_12 : Number.POSITIVE_INFINITY;
      summary.push(
        `hold-out ${served.users} users: served default MAP@12 ${f4(served.map_at_12)} vs trending ` +
          `${f4(trending.map_at_12)} (${Number.isFinite(ratio) ? `×${ratio.toFixed(2)}` : 'baseline 0'})`,
      );
      const gate = ctx.options.minMapRatio;
      if (gate !== undefined && ratio < gate) {
        throw new BatchError(
          `quality gate failed: the served default's MAP@12 ${f4(served.map_at_12)} is ×${ratio.toFixed(2)} of ` +
            `trending ${f4(trending.map_at_12)}; --min-map-ratio asks for ×${gate}`,
        );
      }
    }
  }
  if (result.replay) {
    const r = result.replay;
    ctx.print(
      `  replay: ${r.events} events of ${r.users} users, ${r.applied} applied, ${r.deadLettered} dead-lettered`,
    );
  }
  return { rows: result.users.holdout + result.users.prequential, summary: summary.join('; ') };
}

export const evaluateStep: BatchStep = {
  name: 'evaluate',
  description:
    'what the API serves, per serving policy: MAP@12, Recall@12, NDCG@12, coverage (hold-out, prequential)',
  run,
};
