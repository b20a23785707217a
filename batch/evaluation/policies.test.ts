import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors.ts';
import { K, parsePolicy, policyRequest, policySet, STANDARD_POLICIES } from './policies.ts';

const byName = (name: string) => STANDARD_POLICIES.find((p) => p.name === name)!;

describe('serving policies', () => {
  it('the default policy is the API default at k = 12', () => {
    const request = policyRequest(byName('default'), { repurchase: 'auto' }, 7);
    expect(request).toMatchObject({
      userIdx: 7,
      k: K,
      diversityLambda: 0.8,
      repurchase: 'auto',
      explain: false,
    });
  });

  it('follows the configured exclusion unless the query sets it', () => {
    expect(policyRequest(byName('default'), { repurchase: 'include' }, 7).repurchase).toBe('include');
    expect(policyRequest(byName('no_exclusion'), { repurchase: 'auto' }, 7).repurchase).toBe('include');
    expect(policyRequest(byName('relevance'), { repurchase: 'auto' }, 7).diversityLambda).toBe(1);
  });

  it('asks as an unknown customer for the trending policy', () => {
    expect(policyRequest(byName('trending'), { repurchase: 'auto' }, 7).userIdx).toBeNull();
  });

  it('parses NAME=QUERY and NAME=@anonymous', () => {
    const p = parsePolicy('groups=product_group=Shoes,Accessories&k=5');
    expect(p.name).toBe('groups');
    const request = policyRequest(p, { repurchase: 'auto' }, 3);
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
