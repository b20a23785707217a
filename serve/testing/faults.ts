/**
 * Fault injection for the API tests: a view of any port whose chosen methods fail or stall, and
 * a recorder of what an event bus was asked to publish. Faults can be switched at run time, so
 * one app instance can see a dependency go down and come back.
 */
import { DependencyError } from '../../lib/errors.ts';
import type { UserEvent } from '../../lib/events.ts';
import { wrapMethods } from '../../lib/observability/instrument.ts';
import type { EventBus } from '../../lib/stores/event-bus.ts';

export interface Faults {
  /** Methods that reject with a DependencyError. */
  failing: Set<string>;
  /** Methods that never settle (until the caller's deadline). */
  stalled: Set<string>;
}

export function withFaults<T extends object>(target: T, name: string): { port: T; faults: Faults } {
  const faults: Faults = { failing: new Set(), stalled: new Set() };
  const port = wrapMethods(target, (method, original) => (...args) => {
    if (faults.failing.has(method))
      return Promise.reject(new DependencyError(name, `${method} failed (injected)`));
    if (faults.stalled.has(method)) return new Promise<never>(() => {});
    return original(...args);
  });
  return { port, faults };
}

/** Records every published event (after the bus accepted it). */
export function recordingBus(bus: EventBus): { bus: EventBus; published: UserEvent[] } {
  const published: UserEvent[] = [];
  const wrapped = wrapMethods(bus, (method, original) =>
    method === 'publish'
      ? async (...args) => {
          await original(...args);
          published.push(...(args[0] as unknown as UserEvent[]));
        }
      : undefined,
  );
  return { bus: wrapped, published };
}
