import { afterEach, describe, expect, it } from 'vitest';
import { SparkSession } from '../lib/spark-connect/index.ts';
import { freePort } from '../test/support/net.ts';
import { alsBlocks, linearAlgebra, linearAlgebraLabel } from './train-als.ts';

describe('ALS blocks and linear algebra', () => {
  let spark: SparkSession | undefined;
  afterEach(async () => {
    await spark?.stop();
    spark = undefined;
  });

  it('takes an explicit block count as it is, without asking the server', async () => {
    spark = new SparkSession({ remote: `sc://127.0.0.1:${await freePort()}`, retryPolicy: { attempts: 1 } });
    expect(await alsBlocks(spark, 3)).toBe(3);
  });

  it("falls back to Spark's 10 blocks and an unknown linear algebra when the server does not answer", async () => {
    spark = new SparkSession({ remote: `sc://127.0.0.1:${await freePort()}`, retryPolicy: { attempts: 1 } });
    expect(await alsBlocks(spark, 'auto')).toBe(10);
    const la = await linearAlgebra(spark);
    expect(la).toBeNull();
    expect(linearAlgebraLabel(la)).toBe('unknown');
  });

  it('names native and fallback linear algebra the same way everywhere', () => {
    expect(linearAlgebraLabel({ blas: 'JNIBLAS', lapack: 'JNILAPACK', native: true })).toBe(
      'native (JNIBLAS, JNILAPACK)',
    );
    expect(linearAlgebraLabel({ blas: 'VectorBLAS', lapack: 'F2jLAPACK', native: false })).toBe(
      'Java fallback (VectorBLAS, F2jLAPACK)',
    );
  });
});
