import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { canonicalTimestamp } from './common.ts';

describe('canonicalTimestamp', () => {
  it('keeps canonical timestamps and normalises other ISO forms', () => {
    expect(canonicalTimestamp('2026-03-04T05:06:07.089Z')).toBe('2026-03-04T05:06:07.089Z');
    expect(canonicalTimestamp('2026-03-04T05:06:07Z')).toBe('2026-03-04T05:06:07.000Z');
    expect(canonicalTimestamp('2026-03-04')).toBe('2026-03-04T00:00:00.000Z');
    expect(canonicalTimestamp('2026-03-04T06:06:07+01:00')).toBe('2026-03-04T05:06:07.000Z');
  });

  it('rejects what is not a timestamp', () => {
    expect(() => canonicalTimestamp('yesterday')).toThrow(ValidationError);
    expect(() => canonicalTimestamp('2026-13-04T05:06:07.000Z')).toThrow(ValidationError);
  });
});
