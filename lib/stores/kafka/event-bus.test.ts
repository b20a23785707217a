import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isMetadataLag } from './event-bus.ts';

// What kafkajs builds from a broker's error code (its typings only name the Error side).
const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError({
    type,
    code,
    retriable: true,
    message: `broker said ${type}`,
  } as unknown as Error);

describe('isMetadataLag', () => {
  it('knows the errors of metadata that does not know a fresh topic yet, wrapped or not', () => {
    expect(isMetadataLag(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3))).toBe(true);
    expect(isMetadataLag(protocolError('LEADER_NOT_AVAILABLE', 5))).toBe(true);
    const wrapped = new KafkaJSNumberOfRetriesExceeded(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3), {
      retryCount: 5,
      retryTime: 100,
    });
    expect(isMetadataLag(wrapped)).toBe(true);
  });

  it('leaves every other failure alone', () => {
    expect(isMetadataLag(protocolError('TOPIC_AUTHORIZATION_FAILED', 29))).toBe(false);
    expect(isMetadataLag(protocolError('INVALID_REPLICATION_FACTOR', 38))).toBe(false);
    expect(isMetadataLag(new Error('Connection error: ECONNREFUSED'))).toBe(false);
    expect(isMetadataLag(undefined)).toBe(false);
  });
});
