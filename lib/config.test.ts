import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs on documented defaults with no variables set', () => {
    const config = loadConfig({});
    expect(config.spark.remote).toBe('sc://localhost:15002');
    expect(config.spark.endpoint).toEqual({ host: 'localhost', port: 15002 });
    expect(config.kafka.brokers).toEqual(['localhost:9092']);
    expect(config.redis.endpoint).toEqual({ host: 'localhost', port: 6379 });
    expect(config.api.port).toBe(8000);
    expect(config.adapters).toEqual({
      featureStore: 'memory',
      vectorIndex: 'embedded',
      eventBus: 'memory',
      batchSearches: true,
    });
    expect(config.paths).toEqual({
      raw: 'data/raw',
      lake: 'data/lake',
      models: 'data/models',
      checkpoints: 'data/checkpoints',
    });
  });

  it('batches embedded searches when user state is read in process unless told otherwise', () => {
    // Plain Redis: requests already wait on I/O between stages.
    expect(loadConfig({ FEATURE_STORE: 'redis', REDIS_CLIENT_CACHE: '0' }).adapters.batchSearches).toBe(
      false,
    );
    expect(loadConfig({ FEATURE_STORE: 'redis', VECTOR_INDEX_BATCH: 'on' }).adapters.batchSearches).toBe(
      true,
    );
    expect(loadConfig({ VECTOR_INDEX_BATCH: 'off' }).adapters.batchSearches).toBe(false);
    // With the API's client cache of Redis reads, users held are read in process too.
    expect(loadConfig({ FEATURE_STORE: 'redis', REDIS_CLIENT_CACHE: '50000' }).adapters.batchSearches).toBe(
      true,
    );
    expect(
      loadConfig({ FEATURE_STORE: 'redis', REDIS_CLIENT_CACHE: '50000', REDIS_CLUSTER_NODES: 'a:1,b:2' })
        .adapters.batchSearches,
    ).toBe(false);
    expect(() => loadConfig({ VECTOR_INDEX_BATCH: 'sometimes' })).toThrow(/VECTOR_INDEX_BATCH/);
  });

  it('turns the Redis client cache off on a cluster', () => {
    expect(loadConfig({ REDIS_CLIENT_CACHE: '1000' }).redis.clientCacheEntries).toBe(1000);
    expect(
      loadConfig({ REDIS_CLIENT_CACHE: '1000', REDIS_CLUSTER_NODES: 'a:1,b:2' }).redis.clientCacheEntries,
    ).toBe(0);
  });

  it('reads typed values', () => {
    const config = loadConfig({
      PORT: '9000',
      KAFKA_BROKERS: 'a:1, b:2',
      EXCLUDE_PURCHASED: 'false',
      ALS_REG_PARAM: '0.5',
      SPARK_REMOTE: 'sc://spark.example:443/;token=abc',
    });
    expect(config.api.port).toBe(9000);
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.api.repurchase).toBe('include');
    expect(config.model.regParam).toBe(0.5);
    expect(config.spark.endpoint).toEqual({ host: 'spark.example', port: 443 });
  });

  it.each([
    [{ KAFKA_BROKERS: '' }, 'KAFKA_BROKERS'],
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ SPARK_REMOTE: 'http://localhost:15002' }, 'SPARK_REMOTE'],
    [{ FEATURE_STORE: 'mongo' }, 'FEATURE_STORE'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ EXCLUDE_PURCHASED: 'maybe' }, 'EXCLUDE_PURCHASED'],
    [{ EXCLUDE_PURCHASED: 'true', REPURCHASE: 'auto' }, 'EXCLUDE_PURCHASED'],
    [{ REPURCHASE: 'sometimes' }, 'REPURCHASE'],
    [{ REPURCHASE_MAX_ITEMS: '51' }, 'REPURCHASE_MAX_ITEMS'],
    [{ REPURCHASE_WINDOW_DAYS: 'always' }, 'REPURCHASE_WINDOW_DAYS'],
    [{ REPURCHASE_WINDOW_DAYS: '-7' }, 'REPURCHASE_WINDOW_DAYS'],
    [{ REPURCHASE_BOOST: 'last' }, 'REPURCHASE_BOOST'],
    [{ REPURCHASE_BOOST: '-1' }, 'REPURCHASE_BOOST'],
    [{ REPURCHASE_FILL: 'popular' }, 'REPURCHASE_FILL'],
    [{ TRENDING_SEGMENTS: 'age' }, 'TRENDING_SEGMENTS'],
    [{ NEW_IDS_PER_MINUTE: '-1' }, 'NEW_IDS_PER_MINUTE'],
    [{ NEW_IDS_PER_MINUTE_PER_CLIENT: 'many' }, 'NEW_IDS_PER_MINUTE_PER_CLIENT'],
    [{ KAFKA_BROKERS: 'host:99999' }, 'KAFKA_BROKERS'],
    [{ ALS_BLOCKS: '0' }, 'ALS_BLOCKS'],
    [{ ALS_BLOCKS: 'cores' }, 'ALS_BLOCKS'],
    [{ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME'],
  ])('rejects %j naming %s', (env, variable) => {
    const error = errorOf(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.code).toBe('CONFIG_INVALID');
  });

  it('reads REPURCHASE_WINDOW_DAYS, REPURCHASE_BOOST and REPURCHASE_FILL (auto by default), and the new-id limits', () => {
    expect(loadConfig({}).api.repurchaseStage.windowDays).toBe('auto');
    expect(loadConfig({ REPURCHASE_WINDOW_DAYS: 'auto' }).api.repurchaseStage.windowDays).toBe('auto');
    expect(loadConfig({ REPURCHASE_WINDOW_DAYS: '14' }).api.repurchaseStage.windowDays).toBe(14);
    expect(loadConfig({}).api.repurchaseStage.boost).toBe('auto');
    expect(loadConfig({ REPURCHASE_BOOST: 'first' }).api.repurchaseStage.boost).toBe('first');
    expect(loadConfig({ REPURCHASE_BOOST: '0.3' }).api.repurchaseStage.boost).toBe(0.3);
    expect(loadConfig({}).api.repurchaseStage.fill).toBe('auto');
    expect(loadConfig({ REPURCHASE_FILL: 'trending' }).api.repurchaseStage.fill).toBe('trending');
    expect(loadConfig({}).model.blocks).toBe('auto');
    expect(loadConfig({ ALS_BLOCKS: '4' }).model.blocks).toBe(4);
    expect(loadConfig({}).api.trendingSegments).toBe('auto');
    expect(loadConfig({ TRENDING_SEGMENTS: 'on' }).api.trendingSegments).toBe('on');
    expect(loadConfig({}).api.newIds).toEqual({ perClient: 600, total: 6000 });
    expect(loadConfig({ NEW_IDS_PER_MINUTE: '0' }).api.newIds.total).toBe(0);
  });

  it('documents every variable in docs/configuration.md', () => {
    const docs = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const undocumented = CONFIG_VARIABLES.filter((name) => !docs.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('lists every variable it reads', () => {
    expect(CONFIG_VARIABLES).toContain('SPARK_REMOTE');
    expect(CONFIG_VARIABLES).toContain('QDRANT_URL');
    expect(new Set(CONFIG_VARIABLES).size).toBe(CONFIG_VARIABLES.length);
  });
});
