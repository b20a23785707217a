/**
 * Bounded top-k selection: a min-heap of (score, row) pairs in typed arrays, so the hot search loop
 * allocates nothing. The heap root is the current k-th best score, the threshold a candidate must
 * beat. Equal scores prefer the smaller tie-break key (the item id), which keeps results
 * deterministic and equal to a sort by (score desc, id asc).
 */
export class TopK {
  readonly capacity: number;
  private readonly scores: Float64Array;
  private readonly rows: Int32Array;
  private readonly keys: Float64Array;
  size = 0;
  /**
   * The score a new candidate must beat once the heap is full (-Infinity before): a field, kept
   * current by every change, because the search reads it after every push.
   */
  threshold = Number.NEGATIVE_INFINITY;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.scores = new Float64Array(capacity);
    this.rows = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  /**
   * An emptied heap of this capacity shared by all callers: for synchronous searches that are done
   * with it before the next one starts (saves three typed-array allocations per query).
   */
  static shared(capacity: number): TopK {
    let heap = pool.get(capacity);
    if (heap === undefined) {
      if (pool.size >= POOL_LIMIT) pool.clear();
      heap = new TopK(capacity);
      pool.set(capacity, heap);
    }
    heap.reset();
    return heap;
  }

  /** Empties the heap so the instance can be reused by the next query. */
  reset(): void {
    this.size = 0;
    this.threshold = Number.NEGATIVE_INFINITY;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** Offers a candidate; `key` breaks ties (smaller wins). */
  push(score: number, row: number, key: number): void {
    if (this.capacity === 0) return;
    if (this.size < this.capacity) {
      let i = this.size++;
      // sift up
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, key, this.scores[parent]!, this.keys[parent]!)) break;
        this.scores[i] = this.scores[parent]!;
        this.rows[i] = this.rows[parent]!;
        this.keys[i] = this.keys[parent]!;
        i = parent;
      }
      this.scores[i] = score;
      this.rows[i] = row;
      this.keys[i] = key;
      if (this.size === this.capacity) this.threshold = this.scores[0]!;
      return;
    }
    if (!this.worse(this.scores[0]!, this.keys[0]!, score, key)) return;
    this.siftDownFrom(score, row, key, this.size);
    this.threshold = this.scores[0]!;
  }

  /** The kept (score, row) pairs, best first. Empties the heap. */
  sorted(): Array<{ score: number; row: number }> {
    // Heap-sort in place: popping the worst entry each time fills the output from the back.
    const out: Array<{ score: number; row: number }> = new Array(this.size);
    this.threshold = Number.NEGATIVE_INFINITY;
    while (this.size > 0) {
      const last = --this.size;
      out[last] = { score: this.scores[0]!, row: this.rows[0]! };
      if (last > 0) this.siftDownFrom(this.scores[last]!, this.rows[last]!, this.keys[last]!, last);
    }
    return out;
  }

  /** Places (score, row, key) at the root and sifts it down within the first `n` entries. */
  private siftDownFrom(score: number, row: number, key: number, n: number): void {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (
        right < n &&
        this.worse(this.scores[right]!, this.keys[right]!, this.scores[left]!, this.keys[left]!)
      ) {
        child = right;
      }
      if (!this.worse(this.scores[child]!, this.keys[child]!, score, key)) break;
      this.scores[i] = this.scores[child]!;
      this.rows[i] = this.rows[child]!;
      this.keys[i] = this.keys[child]!;
      i = child;
    }
    this.scores[i] = score;
    this.rows[i] = row;
    this.keys[i] = key;
  }

  /** True when (s1, k1) ranks below (s2, k2). */
  private worse(s1: number, k1: number, s2: number, k2: number): boolean {
    return s1 < s2 || (s1 === s2 && k1 > k2);
  }
}

/** Shared heaps by capacity (requests use a handful of k values; the pool is capped anyway). */
const pool = new Map<number, TopK>();
const POOL_LIMIT = 16;
