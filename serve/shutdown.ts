/**
 * Ordered, idempotent shutdown: steps are registered as things start and run in reverse order,
 * each once; a failing step is logged and the next one still runs.
 */
import { describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/observability/logger.ts';

export class ShutdownSequence {
  private readonly steps: Array<{ name: string; run: () => Promise<void> }> = [];
  private running: Promise<boolean> | undefined;

  constructor(private readonly logger?: Logger) {}

  /** Registers a step; it runs before every step registered earlier. */
  add(name: string, run: () => Promise<void>): void {
    if (this.running) throw new Error(`cannot add shutdown step ${name}: shutdown has begun`);
    this.steps.push({ name, run });
  }

  /** Runs the steps once; later calls get the same result. Resolves true when every step succeeded. */
  run(): Promise<boolean> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<boolean> {
    let ok = true;
    for (const step of [...this.steps].reverse()) {
      const started = performance.now();
      try {
        await step.run();
        this.logger?.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'stopped');
      } catch (error) {
        ok = false;
        this.logger?.error({ step: step.name, err: describeError(error) }, 'shutdown step failed');
      }
    }
    return ok;
  }
}
