/**
 * A circuit breaker per dependency on the request path.
 *
 * A dependency that is down costs every request a failure, and one that hangs costs every
 * request its whole time budget. The circuit opens after `failureThreshold` consecutive retriable
 * failures (a retriable `DependencyError`: refused, disconnected, timed out), or at once when a
 * ping fails (the dependency is known down). While it is open, calls are refused at once with a
 * `DependencyError` ("feature store: unavailable"), which the services turn into their degraded
 * answers, and the breaker pings the dependency itself every `probeAfterMs` — no request is
 * spent as a probe. The first ping that answers closes the circuit, so service is back within
 * about `probeAfterMs` of the dependency's return (plus the client's reconnect). A failure that
 * is not retriable (a rejected command, bad input, not found) means the dependency answered: it
 * counts as a success.
 *
 * The closed path is a flag test and a counter update from the settlement handlers the call's
 * deadline already has (`withDeadline`): no promise, no allocation. (A general breaker library
 * keeps rolling statistics and emits events on every call, which costs more than the in-process
 * stores' own work on the hot path.)
 */
import { DependencyError, isRetriable } from '../lib/errors.ts';

export interface BreakerOptions {
  /** Pings the dependency (bounded by its own deadline); resolves when it answers. */
  probe: () => Promise<unknown>;
  /** Consecutive retriable failures that open the circuit. @default 3 */
  failureThreshold?: number;
  /** While open, the dependency is pinged this often. @default 200 */
  probeAfterMs?: number;
  /** Told when the circuit opens or closes (logs, metrics). */
  onChange?: (state: 'open' | 'closed', dependency: string, cause?: unknown) => void;
}

export const BREAKER_DEFAULTS = { failureThreshold: 3, probeAfterMs: 200 } as const;

export class CircuitBreaker {
  private failures = 0;
  private open = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly threshold: number;
  private readonly probeAfterMs: number;

  constructor(
    /** The dependency's name in errors and problems (`feature store`). */
    readonly dependency: string,
    private readonly options: BreakerOptions,
  ) {
    this.threshold = Math.max(1, options.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold);
    this.probeAfterMs = options.probeAfterMs ?? BREAKER_DEFAULTS.probeAfterMs;
  }

  get state(): 'closed' | 'open' {
    return this.open ? 'open' : 'closed';
  }

  /** Whether a call may go to the dependency now (false while the circuit is open). */
  allow(): boolean {
    return !this.open;
  }

  /** The error a refused call rejects with. */
  refusal(): DependencyError {
    return new DependencyError(this.dependency, 'unavailable', { details: { circuit: 'open' } });
  }

  /**
   * The outcome of an allowed call: `undefined` for success, else what it failed with.
   * `definitive`: the failure of a ping, which opens the circuit at once.
   */
  settled(error?: unknown, definitive = false): void {
    if (error === undefined || !isRetriable(error)) {
      this.failures = 0;
      return;
    }
    if (this.open) return;
    this.failures++;
    if (definitive || this.failures >= this.threshold) this.trip(error);
  }

  /** Stops probing (the app is shutting down); the circuit stays as it is. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private trip(cause: unknown): void {
    this.open = true;
    this.options.onChange?.('open', this.dependency, cause);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.options.probe().then(
        () => {
          this.open = false;
          this.failures = 0;
          this.options.onChange?.('closed', this.dependency);
        },
        () => {
          if (this.open) this.scheduleProbe();
        },
      );
    }, this.probeAfterMs);
    // A probe never keeps the process alive.
    this.timer.unref?.();
  }
}
