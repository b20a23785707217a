/**
 * Exhaustive exact scan: the reference every faster search is checked against, and the fallback
 * for small tables where building a partition index does not pay.
 */

import { dotAt } from '../../vectors.ts';
import { hasBit } from './bitset.ts';
import type { ItemTable } from './item-table.ts';
import { TopK } from './top-k.ts';
import { widenQuery } from './widen.ts';

export function scanTopK(
  table: ItemTable,
  query: Float32Array,
  k: number,
  eligible: Uint32Array | null,
): Array<{ score: number; row: number }> {
  const heap = new TopK(Math.min(k, table.size));
  const { vectors, dimension: d, ids } = table;
  const q = widenQuery(query);
  for (let row = 0; row < table.size; row++) {
    if (eligible !== null && !hasBit(eligible, row)) continue;
    heap.push(dotAt(q, 0, vectors, row * d, d), row, ids[row]!);
  }
  return heap.sorted();
}
