import { describe, expect, it } from 'vitest';
import { hasScheme, joinLocation, lakeTables, resolveLocation } from './lake.ts';

describe('resolveLocation', () => {
  it('makes local paths absolute against the working directory', () => {
    expect(resolveLocation('data/lake', '/srv/app')).toBe('/srv/app/data/lake');
    expect(resolveLocation('./data/lake/', '/srv/app')).toBe('/srv/app/data/lake');
    expect(resolveLocation('/mnt/lake', '/srv/app')).toBe('/mnt/lake');
  });

  it('leaves URIs with a scheme as they are', () => {
    expect(resolveLocation('s3a://bucket/lake/', '/srv/app')).toBe('s3a://bucket/lake');
    expect(resolveLocation('hdfs://nn:8020/lake', '/srv/app')).toBe('hdfs://nn:8020/lake');
    expect(resolveLocation('file:/tmp/lake', '/srv/app')).toBe('file:/tmp/lake');
  });

  it('does not mistake a drive letter or a relative path for a scheme', () => {
    expect(hasScheme('C:\\data')).toBe(false);
    expect(hasScheme('data/lake')).toBe(false);
    expect(hasScheme('s3a://b')).toBe(true);
  });
});

describe('lake tables', () => {
  it('joins segments onto any root', () => {
    expect(joinLocation('s3a://b/lake', 'silver', 'user_ids')).toBe('s3a://b/lake/silver/user_ids');
    expect(joinLocation('/lake/', '/gold/')).toBe('/lake/gold');
    const lake = lakeTables('/lake');
    expect(lake.bronze.events).toBe('/lake/bronze/events');
    expect(lake.gold.itemFactors('v20261126-051500')).toBe('/lake/gold/models/v20261126-051500/item_factors');
  });
});
