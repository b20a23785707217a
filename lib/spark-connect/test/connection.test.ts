import { describe, expect, it } from 'vitest';
import { parseConnectionString, SparkConnectArgumentError } from '../index.ts';

describe('parseConnectionString', () => {
  it('reads host and port, with the default port', () => {
    expect(parseConnectionString('sc://spark.example:443')).toMatchObject({
      host: 'spark.example',
      port: 443,
    });
    expect(parseConnectionString('sc://localhost')).toMatchObject({
      host: 'localhost',
      port: 15002,
      useSsl: false,
    });
    expect(parseConnectionString('sc://[::1]:15003/')).toMatchObject({ host: '::1', port: 15003 });
  });

  it('reads the known parameters and keeps the others as headers', () => {
    const s = parseConnectionString(
      'sc://h:1/;user_id=ann;token=s3cr%3Dt;use_ssl=true;session_id=0b9f6a0e-9a0e-4d7e-9d43-3f1f0c7a1b2c;user_agent=batch;x-tenant=shop',
    );
    expect(s).toMatchObject({
      userId: 'ann',
      token: 's3cr=t',
      useSsl: true,
      sessionId: '0b9f6a0e-9a0e-4d7e-9d43-3f1f0c7a1b2c',
      userAgent: 'batch',
      headers: { 'x-tenant': 'shop' },
    });
  });

  it('turns TLS on with a token, as the Python client does', () => {
    expect(parseConnectionString('sc://h:443/;token=abc')).toMatchObject({ token: 'abc', useSsl: true });
    expect(parseConnectionString('sc://h:443/;token=abc;use_ssl=false').useSsl).toBe(true);
    expect(parseConnectionString('sc://h:443/;use_ssl=false').useSsl).toBe(false);
  });

  it('rejects malformed strings with a message naming the expected form', () => {
    expect(() => parseConnectionString('http://localhost:15002')).toThrow(SparkConnectArgumentError);
    expect(() => parseConnectionString('http://localhost:15002')).toThrow(/sc:\/\/host/);
    expect(() => parseConnectionString('sc://h/;novalue')).toThrow(/invalid parameter/);
    expect(() => parseConnectionString('sc://h/;session_id=abc')).toThrow(/UUID/);
  });
});
