/**
 * Bounds how many new ids the API numbers (`POST /events…` naming a customer or article it has
 * never seen), so a client cannot inflate the id space: at most `perClient` new ids per minute
 * for one client (its API key, or its address when no keys are configured) and `total` for the
 * whole API process. Fixed one-minute windows; a request that would go over is refused whole
 * (429 with `Retry-After`: the seconds until the window turns) and numbers nothing.
 */
export interface IdLimits {
  /** New ids per minute for one client; 0 refuses every new id (they are answered 422). */
  perClient: number;
  /** New ids per minute for the process. */
  total: number;
}

export type IdLimitVerdict =
  | { ok: true }
  | { ok: false; scope: 'client' | 'total'; retryAfterSeconds: number };

const WINDOW_MS = 60_000;

export class NewIdLimiter {
  private window = -1;
  private totalUsed = 0;
  private readonly used = new Map<string, number>();

  constructor(
    readonly limits: IdLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `count` new ids for `client` when both limits allow it; otherwise takes nothing. */
  take(client: string, count: number): IdLimitVerdict {
    const now = this.now();
    const window = Math.floor(now / WINDOW_MS);
    if (window !== this.window) {
      this.window = window;
      this.totalUsed = 0;
      this.used.clear();
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    const mine = this.used.get(client) ?? 0;
    if (mine + count > this.limits.perClient) return { ok: false, scope: 'client', retryAfterSeconds };
    if (this.totalUsed + count > this.limits.total) return { ok: false, scope: 'total', retryAfterSeconds };
    this.used.set(client, mine + count);
    this.totalUsed += count;
    return { ok: true };
  }

  /** Gives back ids taken for a request that then numbered fewer (or failed). */
  giveBack(client: string, count: number): void {
    const mine = this.used.get(client);
    if (mine === undefined || count <= 0) return;
    this.used.set(client, Math.max(0, mine - count));
    this.totalUsed = Math.max(0, this.totalUsed - count);
  }
}
