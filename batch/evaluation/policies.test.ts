import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors.ts';
import { K, parsePolicy, policyRequest, policySet, STANDARD_POLICIES } from './policies.ts';

const byName = (name: string) => STANDARD_POLICIES.find((p) => p.name === name)!;

describe('serving policies', () => {
  it('the default policy is the API default at k = 12', () => {
    const request = policyRequest(byName('default'), { excludePurchased: true }, 7);
    expect(request).toMatchObject({
      userIdx: 7,
      k: K,
      diversityLambda: 0.8,
      excludePurchased: true,
      explain: false,
    });
  });

  it('follows the configured exclusion unless the query sets it', () => {
    expect(policyRequest(byName('default'), { excludePurchased: false }, 7).excludePurchased).toBe(false);
    expect(policyRequest(byName('no_exclusion'), { excludePurchased: true }, 7).excludePurchased).toBe(false);
    expect(policyRequest(byName('relevance'), { excludePurchased: true }, 7).diversityLambda).toBe(1);
  });

  it('asks as an unknown customer for the trending policy', () => {
    expect(policyRequest(byName('trending'), { excludePurchased: true }, 7).userIdx).toBeNull();
  });

  it('parses NAME=QUERY and NAME=@anonymous', () => {
    const p = parsePolicy('groups=product_group=Shoes,Accessories&k=5');
    expect(p.name).toBe('groups');
    const request = policyRequest(p, { excludePurchased: true }, 3);
    expect(request.k).toBe(5);
    expect(request.filters.productGroups).toEqual(['Shoes', 'Accessories']);
    expect(parsePolicy('cold=@anonymous').anonymous).toBe(true);
  });

  it('refuses a bad name, an unknown parameter and an out-of-range value, naming them', () => {
    expect(() => parsePolicy('Bad Name=k=3')).toThrow(ValidationError);
    expect(() => parsePolicy('x=colour=red')).toThrow(/policy x/);
    expect(() => parsePolicy('x=diversity_lambda=2')).toThrow(/diversity_lambda/);
  });

  it('refuses a policy named twice', () => {
    expect(() => policySet([parsePolicy('default=k=12')])).toThrow(/given twice/);
  });
});
