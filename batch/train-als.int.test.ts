import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.ts';
import { SparkSession } from '../lib/spark-connect/index.ts';
import { alsBlocks, linearAlgebra } from './train-als.ts';

const config = loadConfig();

describe('ALS blocks and linear algebra, asked of a real Spark Connect server', () => {
  let spark: SparkSession;
  beforeAll(() => {
    spark = new SparkSession({ remote: config.spark.remote });
  });
  afterAll(async () => {
    await spark.stop();
  });

  it('sizes auto blocks to the task slots of the server', async () => {
    const master = config.spark.master.match(/^local\[(\d+|\*)\]$/);
    const blocks = await alsBlocks(spark, 'auto');
    if (master) {
      // The local launcher's server runs SPARK_MASTER: its slots are the N of local[N].
      expect(blocks).toBe(master[1] === '*' ? availableParallelism() : Number(master[1]));
    } else {
      expect(Number.isInteger(blocks) && blocks >= 1).toBe(true);
    }
  });

  it('names the BLAS and LAPACK the server loaded', async () => {
    const la = await linearAlgebra(spark);
    expect(la).not.toBeNull();
    expect(la!.blas).toMatch(/^(JNIBLAS|VectorBLAS|JavaBLAS)$/);
    expect(la!.lapack).toMatch(/^(JNILAPACK|F2jLAPACK|JavaLAPACK)$/);
    expect(la!.native).toBe(la!.blas === 'JNIBLAS' && la!.lapack === 'JNILAPACK');
  });
});
