import { describe, expect, it } from 'vitest';
import { dot } from '../../lib/vectors.ts';
import { type EventWeights, foldUserVector } from './fold.ts';

const weights: EventWeights = { click: 0.1, add_to_cart: 0.2, purchase: 0.5 };
const v = (...xs: number[]) => Float32Array.from(xs);

describe('foldUserVector', () => {
  it('moves the user vector towards the item by the event weight', () => {
    const out = foldUserVector(v(1, 0), [{ itemVector: v(0, 1), eventType: 'purchase' }], weights)!;
    expect(Array.from(out)).toEqual([0.5, 0.5]);
    const click = foldUserVector(v(1, 0), [{ itemVector: v(0, 1), eventType: 'click' }], weights)!;
    expect(click[0]).toBeCloseTo(0.9, 6);
    expect(click[1]).toBeCloseTo(0.1, 6);
  });

  it('orders the pull click < add_to_cart < purchase', () => {
    const user = v(1, 0, 0);
    const item = v(0, 0, 1);
    const score = (eventType: 'click' | 'add_to_cart' | 'purchase') =>
      dot(foldUserVector(user, [{ itemVector: item, eventType }], weights)!, item);
    expect(score('click')).toBeLessThan(score('add_to_cart'));
    expect(score('add_to_cart')).toBeLessThan(score('purchase'));
  });

  it('starts a user without a vector from the first item, then blends the rest', () => {
    const out = foldUserVector(
      null,
      [
        { itemVector: v(2, 0), eventType: 'click' },
        { itemVector: v(0, 2), eventType: 'purchase' },
      ],
      weights,
    )!;
    expect(Array.from(out)).toEqual([1, 1]);
  });

  it('folding a burst equals applying its events one at a time', () => {
    const steps = [
      { itemVector: v(0.3, -1, 2), eventType: 'click' as const },
      { itemVector: v(1, 1, 1), eventType: 'add_to_cart' as const },
      { itemVector: v(-2, 0.5, 0), eventType: 'purchase' as const },
    ];
    let oneByOne: Float32Array | null = v(1, 2, 3);
    for (const step of steps) oneByOne = foldUserVector(oneByOne, [step], weights);
    expect(foldUserVector(v(1, 2, 3), steps, weights)).toEqual(oneByOne);
  });

  it('does not mutate its inputs and returns null for nothing', () => {
    const start = v(1, 1);
    const item = v(3, 3);
    foldUserVector(start, [{ itemVector: item, eventType: 'purchase' }], weights);
    expect(Array.from(start)).toEqual([1, 1]);
    const fromItem = foldUserVector(null, [{ itemVector: item, eventType: 'click' }], weights)!;
    fromItem[0] = 99;
    expect(item[0]).toBe(3);
    expect(foldUserVector(null, [], weights)).toBeNull();
  });
});
