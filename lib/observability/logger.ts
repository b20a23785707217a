/**
 * Structured logging with pino. One root logger per process; components take a child with
 * `component` set, so every line says where it came from.
 */
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    name: options.name ?? 'recsys',
    level: options.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * Lets one log line through per `intervalMs`, for failures that would otherwise log once per
 * request during an outage (the metrics still count every one). The next line let through is
 * told how many were held back since the last.
 */
export class LogThrottle {
  private last = Number.NEGATIVE_INFINITY;
  private held = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `log` with the number of lines held back before this one, or holds this one back. */
  pass(log: (heldBack: number) => void): void {
    const t = this.now();
    if (t - this.last < this.intervalMs) {
      this.held++;
      return;
    }
    const heldBack = this.held;
    this.held = 0;
    this.last = t;
    log(heldBack);
  }
}
