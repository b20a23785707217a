/**
 * Reads events back from an event bus with a fresh consumer group, for tests that must prove an
 * event was really published (not just that the API said so).
 */
import { randomUUID } from 'node:crypto';
import { parseEvent, type UserEvent } from '../../lib/events.ts';
import type { EventBus } from '../../lib/stores/event-bus.ts';

export async function readEventsBack(
  bus: EventBus,
  eventIds: string[],
  timeoutMs = 30_000,
): Promise<UserEvent[]> {
  const wanted = new Set(eventIds);
  const found = new Map<string, UserEvent>();
  let done: () => void = () => {};
  const complete = new Promise<void>((resolve) => {
    done = resolve;
  });
  const consumer = await bus.consume({
    groupId: `api-read-back-${randomUUID()}`,
    fromBeginning: true,
    onBatch: async (messages) => {
      for (const message of messages) {
        const parsed = parseEvent(message.value);
        if (parsed.ok && wanted.has(parsed.event.event_id)) found.set(parsed.event.event_id, parsed.event);
      }
      if (found.size === wanted.size) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  try {
    await complete;
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  return eventIds.filter((id) => found.has(id)).map((id) => found.get(id)!);
}
