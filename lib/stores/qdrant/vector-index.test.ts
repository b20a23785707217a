import { QdrantClientTimeoutError } from '@qdrant/js-client-rest';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DependencyError, NotFoundError, TimeoutError, ValidationError } from '../../errors.ts';
import { QdrantVectorIndex, translateQdrantError } from './vector-index.ts';

describe('QdrantVectorIndex without a server', () => {
  it('names one collection per version under the alias', () => {
    const index = new QdrantVectorIndex({ url: 'http://127.0.0.1:1', collection: 'items' });
    expect(index.alias).toBe('items');
    expect(index.collectionOf('v20260101-000000')).toBe('items_v20260101-000000');
    expect(() => index.collectionOf('bad name')).toThrow(ValidationError);
    expect(() => new QdrantVectorIndex({ url: 'http://x', collection: 'a b' })).toThrow(/QDRANT_COLLECTION/);
  });

  it('fails start() with a retriable DependencyError when nothing listens', async () => {
    const index = new QdrantVectorIndex({ url: 'http://127.0.0.1:1', bulkTimeoutMs: 2000 });
    const error = await index.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retriable).toBe(true);
    expect(error).not.toBeInstanceOf(TimeoutError);
  });

  it('translates client failures into project errors', () => {
    expect(translateQdrantError(new QdrantClientTimeoutError('aborted'), 'search', 250)).toBeInstanceOf(
      TimeoutError,
    );
    expect(
      translateQdrantError(Object.assign(new Error('Not Found'), { status: 404 }), 'count', 1),
    ).toBeInstanceOf(NotFoundError);
    const bad = translateQdrantError(Object.assign(new Error('Bad Request'), { status: 400 }), 'upsert', 1);
    expect(bad).toBeInstanceOf(DependencyError);
    expect(bad.retriable).toBe(false);
    const busy = translateQdrantError(
      Object.assign(new Error('Service Unavailable'), { status: 503 }),
      'upsert',
      1,
    );
    expect(busy.retriable).toBe(true);
    expect(translateQdrantError(new TypeError('fetch failed'), 'ping', 1).retriable).toBe(true);
  });

  it('retries bulk calls on network failures for bulkRetryMs, then fails with the last error', async () => {
    const lines: Array<{ msg: string; operation?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const index = new QdrantVectorIndex({
      url: 'http://127.0.0.1:1',
      bulkTimeoutMs: 500,
      bulkRetryMs: 1200,
      logger,
    });
    const started = Date.now();
    const error = await index.createVersion('v20200101-000000', 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as Error).message).toMatch(/^qdrant: getCollection: /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const retries = lines.filter((l) => l.msg === 'qdrant call failed; retrying');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0]?.operation).toBe('getCollection');
  });

  it('refuses settings that are not positive integers, naming them', () => {
    expect(() => new QdrantVectorIndex({ url: 'http://x', hnswM: 0 })).toThrow(
      /hnswM must be a positive integer/,
    );
    expect(() => new QdrantVectorIndex({ url: 'http://x', hnswEf: 1.5 })).toThrow(/hnswEf/);
    expect(() => new QdrantVectorIndex({ url: 'http://x', upsertConcurrency: -1 })).toThrow(
      /upsertConcurrency/,
    );
  });
});
