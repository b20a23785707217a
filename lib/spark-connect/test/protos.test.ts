import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extractProtos, findSparkConnectJar, loadProtocol, SparkConnectProtocolError } from '../index.ts';
import { resolveProtoDir } from '../src/protos.ts';

const jar = findSparkConnectJar();

describe('Spark Connect protos', () => {
  const saved = process.env['SPARK_CONNECT_PROTO_DIR'];
  afterEach(() => {
    if (saved === undefined) delete process.env['SPARK_CONNECT_PROTO_DIR'];
    else process.env['SPARK_CONNECT_PROTO_DIR'] = saved;
  });

  it.skipIf(!jar)('extracts spark/connect/*.proto from the jar (needs `npm run infra:setup`)', () => {
    const out = mkdtempSync(join(tmpdir(), 'protos-'));
    try {
      const written = extractProtos(jar!, out);
      expect(written).toContain('spark/connect/base.proto');
      expect(written).toContain('spark/connect/ml.proto');
      expect(readdirSync(join(out, 'spark', 'connect')).length).toBe(written.length);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not a Spark Connect jar, and a missing one', () => {
    expect(() => extractProtos(join(tmpdir(), 'no-such.jar'))).toThrow(SparkConnectProtocolError);
  });

  it('says what to do when SPARK_CONNECT_PROTO_DIR points nowhere', () => {
    process.env['SPARK_CONNECT_PROTO_DIR'] = join(tmpdir(), 'no-protos-here');
    expect(() => resolveProtoDir()).toThrow(/SPARK_CONNECT_PROTO_DIR=.*spark\/connect/);
  });

  it.skipIf(!jar)('loads every message type the client uses', () => {
    const protocol = loadProtocol();
    for (const name of [
      'spark.connect.ExecutePlanRequest',
      'spark.connect.ExecutePlanResponse',
      'spark.connect.Relation',
      'spark.connect.MlCommand',
      'spark.connect.ReattachExecuteRequest',
      'google.rpc.ErrorInfo',
    ]) {
      expect(protocol.type(name).name).toBe(name.split('.').pop());
    }
  });
});
