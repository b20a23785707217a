/**
 * Human-facing progress of a batch run: a live line per step while Spark works (stage and task
 * counts from Spark's execution progress), a closing line per step, and the summary table.
 * Lines go to a writable (stderr by default) so stdout stays free for machine output.
 */
import type { ProgressEvent } from '../lib/spark-connect/index.ts';

export type StepStatus = 'done' | 'failed' | 'skipped';

export interface StepOutcome {
  step: string;
  status: StepStatus;
  rows: number;
  elapsedMs: number;
  /** Spark stages and tasks completed during the step. */
  stages: number;
  tasks: number;
  summary: string;
}

/** Accumulates Spark progress events into stage and task totals for the current step. */
export class SparkProgress {
  private readonly stages = new Map<string, { numTasks: number; completed: number }>();

  record(event: ProgressEvent): void {
    for (const stage of event.stages) {
      const key = `${event.operationId}:${stage.stageId}`;
      const known = this.stages.get(key);
      this.stages.set(key, {
        numTasks: Math.max(stage.numTasks, known?.numTasks ?? 0),
        completed: Math.max(stage.completedTasks, known?.completed ?? 0),
      });
    }
  }

  get totals(): { stages: number; tasks: number; totalTasks: number } {
    let tasks = 0;
    let totalTasks = 0;
    for (const stage of this.stages.values()) {
      tasks += stage.completed;
      totalTasks += stage.numTasks;
    }
    return { stages: this.stages.size, tasks, totalTasks };
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Writes progress lines; redraws the live line in place on a terminal, throttles otherwise. */
export class ProgressPrinter {
  private lastLive = 0;
  private liveShown = false;
  private readonly interactive: boolean;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly liveEveryMs = out.isTTY ? 250 : 15_000,
  ) {
    this.interactive = out.isTTY === true;
  }

  /** A transient status line (Spark tasks, rows loaded); rate-limited. */
  live(line: string): void {
    const now = Date.now();
    if (now - this.lastLive < this.liveEveryMs) return;
    this.lastLive = now;
    if (this.interactive) {
      this.out.write(`\r\x1b[2K${line}`);
      this.liveShown = true;
    } else {
      this.out.write(`${line}\n`);
    }
  }

  /** A permanent line. */
  line(text: string): void {
    if (this.liveShown) {
      this.out.write('\r\x1b[2K');
      this.liveShown = false;
    }
    this.out.write(`${text}\n`);
  }
}

export function stepLine(index: number, total: number, o: StepOutcome): string {
  const spark = o.stages > 0 ? `, spark ${o.stages} stages / ${formatCount(o.tasks)} tasks` : '';
  return `[${index}/${total}] ${o.step} ${o.status}: ${formatCount(o.rows)} rows in ${formatDuration(o.elapsedMs)}${spark} — ${o.summary}`;
}

/** The end-of-run table, one row per step. */
export function summaryTable(outcomes: StepOutcome[]): string {
  const header = ['step', 'status', 'rows', 'elapsed', 'spark tasks', 'result'];
  const rows = outcomes.map((o) => [
    o.step,
    o.status,
    o.status === 'skipped' ? '' : formatCount(o.rows),
    o.status === 'skipped' ? '' : formatDuration(o.elapsedMs),
    o.status === 'skipped' ? '' : formatCount(o.tasks),
    o.summary,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [fmt(header), rule, ...rows.map(fmt)].join('\n');
}
