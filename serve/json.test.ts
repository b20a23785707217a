import { describe, expect, it } from 'vitest';
import { toJson } from './json.ts';

describe('toJson', () => {
  const metadata = Object.freeze({ item_idx: 3, article_id: '0108775015', prod_name: 'Strap "top"\n' });

  it('writes what JSON.stringify writes for response data', () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -0,
      1.5e-7,
      -123.456,
      'plain',
      'quotes " and \\ and \u2028 and é',
      [],
      {},
      [1, 'a', null, [2, [3]], { x: 1 }],
      [undefined, () => 1],
      { a: undefined, b: () => 1, c: 1, 'odd key"': 2 },
      {
        user_idx: null,
        source: 'personalized',
        model_version: 'v20200922-000000',
        items: [
          { item_idx: 3, score: 0.123456789, metadata },
          {
            item_idx: 3,
            score: 1,
            metadata,
            explanation: [{ item_idx: 9, similarity: 0.5, contribution_pct: 100 }],
          },
        ],
        fallback_reason: undefined,
      },
      { when: new Date(0) },
    ];
    for (const value of values) expect(toJson(value)).toBe(JSON.stringify(value));
  });

  it('reuses the text of a frozen object, which cannot change', () => {
    const first = toJson({ metadata });
    expect(toJson({ metadata })).toBe(first);
    expect(() => {
      (metadata as { item_idx: number }).item_idx = 4;
    }).toThrow(TypeError);
  });

  it('serializes unfrozen objects afresh every time', () => {
    const mutable = { n: 1 };
    expect(toJson(mutable)).toBe('{"n":1}');
    mutable.n = 2;
    expect(toJson(mutable)).toBe('{"n":2}');
  });
});
