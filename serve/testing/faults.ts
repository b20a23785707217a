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
  /** Methods that reject with a DependencyError; `*`: every data method (the dependency is down). */
  failing: Set<string>;
  /** Methods that never settle (until the caller's deadline); `*`: every data method. */
  stalled: Set<string>;
}

/** Lifecycle methods the `*` faults leave alone. */
const LIFECYCLE = new Set(['start', 'close']);

export function withFaults<T extends object>(target: T, name: string): { port: T; faults: Faults } {
  const faults: Faults = { failing: new Set(), stalled: new Set() };
  const hit = (set: Set<string>, method: string) =>
    set.has(method) || (set.has('*') && !LIFECYCLE.has(method));
  const port = wrapMethods(target, (method, original) => (...args) => {
    if (hit(faults.failing, method))
      return Promise.reject(new DependencyError(name, `${method} failed (injected)`));
    if (hit(faults.stalled, method)) return new Promise<never>(() => {});
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
