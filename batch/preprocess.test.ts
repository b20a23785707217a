import { describe, expect, it } from 'vitest';
import { addDays, decayExpression } from './preprocess.ts';

describe('preprocess helpers', () => {
  it('adds days across month and year ends', () => {
    expect(addDays('2020-09-22', -7)).toBe('2020-09-15');
    expect(addDays('2020-03-01', -1)).toBe('2020-02-29');
    expect(addDays('2019-12-31', 1)).toBe('2020-01-01');
  });

  it('builds the recency decay as Spark SQL, or no decay for a half-life of 0', () => {
    expect(decayExpression('t_dat', '2020-09-15', 60)).toBe(
      "pow(0.5D, datediff(DATE '2020-09-15', t_dat) / 60.000000D)",
    );
    expect(decayExpression('t_dat', '2020-09-15', 0)).toBe('1.0D');
  });
});
