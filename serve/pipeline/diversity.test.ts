import { describe, expect, it } from 'vitest';
import { intraListDiversity } from './diversity.ts';

describe('intraListDiversity', () => {
  it('is 0 for identical directions, 1 for orthogonal ones, undefined below two items', () => {
    expect(
      intraListDiversity([
        [1, 0],
        [2, 0],
        [3, 0],
      ]),
    ).toBeCloseTo(0);
    expect(
      intraListDiversity([
        [1, 0],
        [0, 1],
      ]),
    ).toBeCloseTo(1);
    expect(
      intraListDiversity([
        [1, 0],
        [-1, 0],
      ]),
    ).toBeCloseTo(2);
    expect(intraListDiversity([[1, 0]])).toBeUndefined();
  });

  it('averages over all pairs', () => {
    // pairs: (a,b) = 0, (a,c) = 1, (b,c) = 1 -> 2/3
    expect(
      intraListDiversity([
        [1, 0],
        [1, 0],
        [0, 1],
      ]),
    ).toBeCloseTo(2 / 3);
  });
});
