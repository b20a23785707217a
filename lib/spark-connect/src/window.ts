/**
 * Window specifications: `Window.partitionBy('user').orderBy(col('ts').desc())`, then
 * `row_number().over(spec)`. Frames: `rowsBetween` / `rangeBetween` with
 * `Window.unboundedPreceding`, `Window.currentRow`, `Window.unboundedFollowing` or offsets.
 */
import { type ColumnOrName, lit, toColumn } from './column.ts';
import type { ExpressionProto, FrameBoundaryProto, SortOrderProto } from './proto-types.ts';

interface Frame {
  type: 'FRAME_TYPE_ROW' | 'FRAME_TYPE_RANGE';
  start: number;
  end: number;
}

function sortOrder(c: ColumnOrName): SortOrderProto {
  const column = toColumn(c);
  return column.expr.sortOrder ?? column.asc().expr.sortOrder!;
}

function boundary(value: number): FrameBoundaryProto {
  if (value === 0) return { currentRow: true };
  if (!Number.isFinite(value)) return { unbounded: true };
  return { value: lit(value).expr };
}

export class WindowSpec {
  private readonly partitions: ExpressionProto[];
  private readonly orders: SortOrderProto[];
  private readonly frame: Frame | undefined;

  constructor(partitions: ExpressionProto[] = [], orders: SortOrderProto[] = [], frame?: Frame) {
    this.partitions = partitions;
    this.orders = orders;
    this.frame = frame;
  }

  partitionBy(...cols: ColumnOrName[]): WindowSpec {
    return new WindowSpec(
      cols.map((c) => toColumn(c).expr),
      this.orders,
      this.frame,
    );
  }
  orderBy(...cols: ColumnOrName[]): WindowSpec {
    return new WindowSpec(this.partitions, cols.map(sortOrder), this.frame);
  }
  rowsBetween(start: number, end: number): WindowSpec {
    return new WindowSpec(this.partitions, this.orders, { type: 'FRAME_TYPE_ROW', start, end });
  }
  rangeBetween(start: number, end: number): WindowSpec {
    return new WindowSpec(this.partitions, this.orders, { type: 'FRAME_TYPE_RANGE', start, end });
  }

  toProto(): {
    partitionSpec: ExpressionProto[];
    orderSpec: SortOrderProto[];
    frameSpec?: NonNullable<ExpressionProto['window']>['frameSpec'];
  } {
    return {
      partitionSpec: this.partitions,
      orderSpec: this.orders,
      ...(this.frame
        ? {
            frameSpec: {
              frameType: this.frame.type,
              lower: boundary(this.frame.start),
              upper: boundary(this.frame.end),
            },
          }
        : {}),
    };
  }
}

export const Window = {
  unboundedPreceding: Number.NEGATIVE_INFINITY,
  unboundedFollowing: Number.POSITIVE_INFINITY,
  currentRow: 0,
  partitionBy: (...cols: ColumnOrName[]): WindowSpec => new WindowSpec().partitionBy(...cols),
  orderBy: (...cols: ColumnOrName[]): WindowSpec => new WindowSpec().orderBy(...cols),
  rowsBetween: (start: number, end: number): WindowSpec => new WindowSpec().rowsBetween(start, end),
  rangeBetween: (start: number, end: number): WindowSpec => new WindowSpec().rangeBetween(start, end),
};
