import { describe, expect, it } from 'vitest';
import { AGE_BANDS, ageSegment, ageSegmentSql, SEGMENTS } from './segments.ts';

describe('customer segments', () => {
  it('puts an age into its band, inclusive at both ends, the last one open', () => {
    expect(ageSegment(16)).toBe('age:16-24');
    expect(ageSegment(24.9)).toBe('age:16-24');
    expect(ageSegment(25)).toBe('age:25-34');
    expect(ageSegment(64)).toBe('age:55-64');
    expect(ageSegment(99)).toBe('age:65+');
    for (const unknown of [null, undefined, Number.NaN, 15]) expect(ageSegment(unknown)).toBeNull();
    expect(SEGMENTS).toHaveLength(AGE_BANDS.length);
  });

  it('writes the same bands as SQL', () => {
    const sql = ageSegmentSql('age');
    expect(sql).toContain("WHEN age >= 25 AND age < 35 THEN 'age:25-34'");
    expect(sql).toContain("WHEN age >= 65 THEN 'age:65+'");
    expect(sql.endsWith('ELSE NULL END')).toBe(true);
  });
});
