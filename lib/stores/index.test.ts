import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createLogger } from '../observability/logger.ts';
import { createFeatureStore, createVectorIndex } from './index.ts';

describe('store factories', () => {
  const logger = createLogger({ level: 'silent' });

  it('pick the adapters named by the configuration', async () => {
    expect(createFeatureStore(loadConfig({}), logger).kind).toBe('memory');
    expect(createVectorIndex(loadConfig({}), logger).kind).toBe('embedded');
    const redis = createFeatureStore(
      loadConfig({ FEATURE_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' }),
      logger,
    );
    expect(redis.kind).toBe('redis');
    await redis.close();
    expect(createVectorIndex(loadConfig({ VECTOR_INDEX: 'qdrant' }), logger).kind).toBe('qdrant');
  });
});
