import { describe, expect, it } from 'vitest';
import { col, expr, functions as F, lit, Window } from '../index.ts';

describe('Column expressions', () => {
  it('turns JS values into typed literals', () => {
    expect(lit(1).expr).toEqual({ literal: { integer: 1 } });
    expect(lit(2 ** 40).expr).toEqual({ literal: { long: String(2 ** 40) } });
    expect(lit(2n ** 62n).expr).toEqual({ literal: { long: (2n ** 62n).toString() } });
    expect(lit(0.5).expr).toEqual({ literal: { double: 0.5 } });
    expect(lit('x').expr).toEqual({ literal: { string: 'x' } });
    expect(lit(null).expr).toEqual({ literal: { null: { null: {} } } });
    expect(lit(new Date(1)).expr).toEqual({ literal: { timestamp: '1000' } });
    expect(lit([1, 2]).expr.literal?.array?.elements).toHaveLength(2);
  });

  it('builds operators as Spark functions', () => {
    expect(col('a').plus(1).expr).toEqual({
      unresolvedFunction: {
        functionName: '+',
        arguments: [{ unresolvedAttribute: { unparsedIdentifier: 'a' } }, { literal: { integer: 1 } }],
      },
    });
    expect(col('a').neq(1).expr.unresolvedFunction?.functionName).toBe('not');
    expect(col('a').isin(1, 2, 3).expr.unresolvedFunction?.arguments).toHaveLength(4);
    expect(col('a').isin([1, 2]).expr.unresolvedFunction?.arguments).toHaveLength(3);
    expect(col('*').expr).toEqual({ unresolvedStar: {} });
    expect(col('t.*').expr).toEqual({ unresolvedStar: { unparsedTarget: 't.*' } });
    expect(expr('a + 1').expr).toEqual({ expressionString: { expression: 'a + 1' } });
    expect(col('a').cast('bigint').expr.cast?.typeStr).toBe('bigint');
    expect(col('a').alias('b').toString()).toBe('a AS b');
  });

  it('chains when/otherwise and refuses misuse', () => {
    const c = F.when(col('a').gt(1), 'big').when(col('a').gt(0), 'small').otherwise('none');
    expect(c.expr.unresolvedFunction?.functionName).toBe('when');
    expect(c.expr.unresolvedFunction?.arguments).toHaveLength(5);
    expect(() => col('a').otherwise(1)).toThrow(/when/);
    expect(() => c.otherwise('again')).toThrow(/only once/);
  });

  it('sorts and windows', () => {
    expect(col('a').desc().expr.sortOrder).toMatchObject({
      direction: 'SORT_DIRECTION_DESCENDING',
      nullOrdering: 'SORT_NULLS_LAST',
    });
    expect(col('a').desc().asc().expr.sortOrder?.child).toEqual({
      unresolvedAttribute: { unparsedIdentifier: 'a' },
    });
    const w = Window.partitionBy('u')
      .orderBy(col('t').desc())
      .rowsBetween(Window.unboundedPreceding, Window.currentRow);
    const over = F.row_number().over(w).expr.window!;
    expect(over.partitionSpec).toHaveLength(1);
    expect(over.orderSpec?.[0]?.direction).toBe('SORT_DIRECTION_DESCENDING');
    expect(over.frameSpec).toEqual({
      frameType: 'FRAME_TYPE_ROW',
      lower: { unbounded: true },
      upper: { currentRow: true },
    });
    expect(Window.rangeBetween(-3, 2).toProto().frameSpec?.lower).toEqual({
      value: { literal: { integer: -3 } },
    });
  });

  it('calls any function by name: strings are columns, other values literals', () => {
    const c = F.fn('concat_ws', lit('-'), 'a', 3);
    expect(c.expr.unresolvedFunction?.arguments).toEqual([
      { literal: { string: '-' } },
      { unresolvedAttribute: { unparsedIdentifier: 'a' } },
      { literal: { integer: 3 } },
    ]);
    expect(F.countDistinct('a').expr.unresolvedFunction?.isDistinct).toBe(true);
    expect(F.count().expr.unresolvedFunction?.arguments).toEqual([{ literal: { integer: 1 } }]);
  });
});
