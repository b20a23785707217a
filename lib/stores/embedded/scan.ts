/**
 * Exhaustive exact scan: the reference every faster search is checked against, and the fallback
 * for small tables where building a partition index does not pay.
 */
import { hasBit } from './bitset.ts';
import type { ItemTable } from './item-table.ts';
import { TopK } from './top-k.ts';

export function scanTopK(
  table: ItemTable,
  query: Float32Array,
  k: number,
  eligible: Uint32Array | null,
): Array<{ score: number; row: number }> {
  const heap = new TopK(Math.min(k, table.size));
  const { vectors, dimension: d, ids } = table;
  for (let row = 0; row < table.size; row++) {
    if (eligible !== null && !hasBit(eligible, row)) continue;
    let s = 0;
    const base = row * d;
    for (let j = 0; j < d; j++) s += query[j]! * vectors[base + j]!;
    heap.push(s, row, ids[row]!);
  }
  return heap.sorted();
}
