/**
 * An immutable, search-ready snapshot of one collection: item vectors in one contiguous
 * Float32Array (row-major), payloads, an id → row map, and one bitset per payload value of each
 * filterable field. Filters become bitset algebra before the scan, so the scan itself only tests
 * one bit per candidate and `k` results come back whenever `k` eligible items exist.
 */

import { createSimdKernel, type SimdKernel } from '../../simd-kernel.ts';
import type { FilterField, ItemMetadata } from '../types.ts';
import type { SearchFilter } from '../vector-index.ts';
import {
  andInto,
  andNotInto,
  type Bitset,
  clearBit,
  createBitset,
  fillBitset,
  hasBit,
  orInto,
  setBit,
} from './bitset.ts';
import type { Partitioning } from './partitions.ts';

export const FILTER_FIELDS: readonly FilterField[] = ['product_group_name', 'product_type_name'];

/** Value-filter bitsets an ItemTable keeps (13 KB each for 105,000 items). */
const VALUE_FILTERS_KEPT = 64;

export interface TableRows {
  ids: Int32Array;
  vectors: Float32Array;
  payloads: ItemMetadata[];
}

export class ItemTable {
  readonly size: number;
  readonly dimension: number;
  readonly ids: Int32Array;
  /** Row vectors, n × dimension; the SIMD kernel's memory when it holds them unpadded. */
  readonly vectors: Float32Array;
  readonly payloads: ItemMetadata[];
  /** Cells for pruned search (rows are stored cell by cell), or null for a plain scan. */
  readonly partitions: Partitioning | null;
  /** Largest item norm, for float rounding slack in bounds. */
  readonly maxNorm: number;
  /** |x| of every row. */
  readonly norms: Float64Array;
  /** float32 SIMD first-pass scorer (partitioned tables on hosts with WebAssembly SIMD). */
  readonly kernel: SimdKernel | null;
  private readonly rowById = new Map<number, number>();
  private readonly valueBits = new Map<FilterField, Map<string, Bitset>>();

  /**
   * `rows` must already be in the partitions' order (see `permuteRows`) when `partitions` is
   * given.
   */
  constructor(dimension: number, rows: TableRows, partitions: Partitioning | null = null) {
    this.dimension = dimension;
    this.size = rows.ids.length;
    this.ids = rows.ids;
    this.payloads = rows.payloads;
    this.partitions = partitions;
    this.kernel = partitions ? createSimdKernel(rows.vectors, this.size, dimension, { partitions }) : null;
    this.vectors = this.kernel?.vectors ?? rows.vectors;
    this.norms = new Float64Array(this.size);
    let maxNorm = 0;
    for (let row = 0; row < this.size; row++) {
      let s = 0;
      for (let j = 0; j < dimension; j++) s += this.vectors[row * dimension + j]! ** 2;
      this.norms[row] = Math.sqrt(s);
      if (s > maxNorm) maxNorm = s;
    }
    this.maxNorm = Math.sqrt(maxNorm);
    for (let row = 0; row < this.size; row++) this.rowById.set(this.ids[row]!, row);
    for (const field of FILTER_FIELDS) {
      const byValue = new Map<string, Bitset>();
      for (let row = 0; row < this.size; row++) {
        const value = this.payloads[row]![field];
        let bits = byValue.get(value);
        if (!bits) {
          bits = createBitset(this.size);
          byValue.set(value, bits);
        }
        setBit(bits, row);
      }
      this.valueBits.set(field, byValue);
    }
  }

  rowOf(id: number): number | undefined {
    return this.rowById.get(id);
  }

  /**
   * A view of the row's vector, not a copy: a copy allocates a buffer outside the JS heap, which
   * cost more than the search itself when every hit of a request took one. Callers must not write.
   */
  vectorAt(row: number): Float32Array {
    const start = row * this.dimension;
    return this.vectors.subarray(start, start + this.dimension);
  }

  /**
   * The rows a filter admits, or null when it admits every row (no work for plain queries).
   * Empty value lists impose no constraint. The bitset is scratch space of this table, valid
   * until the next call: use it before anything else can search (searches are synchronous).
   *
   * The common filter is a few excluded ids alone (the user's purchases): it gets a standing
   * all-rows bitset with those bits cleared, and the next call sets them again, so the cost is
   * the ids, not a pass over the whole table.
   */
  eligibleRows(filter: SearchFilter | undefined): Bitset | null {
    this.restoreAllRows();
    if (!filter) return null;
    const hasValues = FILTER_FIELDS.some(
      (field) => (filter.include?.[field]?.length ?? 0) > 0 || (filter.exclude?.[field]?.length ?? 0) > 0,
    );
    const excludeIds = filter.excludeIds ?? [];
    if (!hasValues) {
      if (excludeIds.length === 0) return null;
      const bits = this.allRows();
      for (const id of excludeIds) {
        const row = this.rowById.get(id);
        if (row !== undefined && hasBit(bits, row)) {
          clearBit(bits, row);
          this.clearedRows.push(row);
        }
      }
      return bits;
    }
    const bits = this.scratch(0);
    bits.set(this.valueFilterRows(filter));
    for (const id of excludeIds) {
      const row = this.rowById.get(id);
      if (row !== undefined) clearBit(bits, row);
    }
    return bits;
  }

  /**
   * The rows admitted by the value part of a filter (include/exclude by group and type), cached
   * by those values: a storefront sends the same few filter combinations over and over, and the
   * table never changes, so each combination is computed once (up to `VALUE_FILTERS_KEPT`).
   */
  private valueFilterRows(filter: SearchFilter): Bitset {
    const key = JSON.stringify(
      FILTER_FIELDS.map((field) => [filter.include?.[field] ?? [], filter.exclude?.[field] ?? []]),
    );
    const cached = this.valueFilters.get(key);
    if (cached !== undefined) {
      this.valueFilters.delete(key); // most recently used last
      this.valueFilters.set(key, cached);
      return cached;
    }
    const bits = fillBitset(createBitset(this.size), this.size);
    for (const field of FILTER_FIELDS) {
      const values = filter.include?.[field];
      if (!values || values.length === 0) continue;
      const union = this.scratch(1).fill(0);
      const byValue = this.valueBits.get(field)!;
      for (const value of values) {
        const valueBits = byValue.get(value);
        if (valueBits) orInto(union, valueBits);
      }
      andInto(bits, union);
    }
    for (const field of FILTER_FIELDS) {
      const values = filter.exclude?.[field];
      if (!values || values.length === 0) continue;
      const byValue = this.valueBits.get(field)!;
      for (const value of values) {
        const valueBits = byValue.get(value);
        if (valueBits) andNotInto(bits, valueBits);
      }
    }
    if (this.valueFilters.size >= VALUE_FILTERS_KEPT) {
      this.valueFilters.delete(this.valueFilters.keys().next().value!);
    }
    this.valueFilters.set(key, bits);
    return bits;
  }

  private readonly valueFilters = new Map<string, Bitset>();

  /** Every row set, except those the last exclusion-only filter cleared (see `restoreAllRows`). */
  private allRowsBits: Bitset | null = null;
  private readonly clearedRows: number[] = [];

  private allRows(): Bitset {
    this.allRowsBits ??= fillBitset(this.kernel?.bitsets[1] ?? createBitset(this.size), this.size);
    return this.allRowsBits;
  }

  private restoreAllRows(): void {
    if (this.clearedRows.length === 0) return;
    for (const row of this.clearedRows) setBit(this.allRowsBits!, row);
    this.clearedRows.length = 0;
  }

  /**
   * Reused bitsets: a fresh one per query cost an allocation outside the JS heap each time. Slot
   * 0 (the filter handed to the search) and the all-rows set live in the SIMD kernel's memory
   * when there is a kernel, so the search can run its row filter there.
   */
  private readonly scratchBits: Bitset[] = [];

  private scratch(slot: number): Bitset {
    let bits = this.scratchBits[slot];
    if (bits === undefined) {
      bits = (slot === 0 ? this.kernel?.bitsets[0] : undefined) ?? createBitset(this.size);
      this.scratchBits[slot] = bits;
    }
    return bits;
  }
}

/** Rows reordered so that `out[newRow] = rows[order[newRow]]`. */
export function permuteRows(rows: TableRows, order: Int32Array, dimension: number): TableRows {
  const n = order.length;
  const ids = new Int32Array(n);
  const vectors = new Float32Array(n * dimension);
  const payloads: ItemMetadata[] = new Array(n);
  for (let row = 0; row < n; row++) {
    const old = order[row]!;
    ids[row] = rows.ids[old]!;
    vectors.set(rows.vectors.subarray(old * dimension, (old + 1) * dimension), row * dimension);
    payloads[row] = rows.payloads[old]!;
  }
  return { ids, vectors, payloads };
}
