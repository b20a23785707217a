/**
 * The user event contract (schema v1), shared by the API, the producer, the updater and the
 * archiver. Kafka topic `user-events`, key = `user_idx`, JSON value.
 */
import { z } from 'zod';

export const EVENT_TYPES = ['click', 'add_to_cart', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const userEventSchema = z
  .object({
    event_id: z.uuid({ message: 'event_id must be a UUID' }),
    event_type: z.enum(EVENT_TYPES, { message: `event_type must be one of ${EVENT_TYPES.join(', ')}` }),
    user_idx: z.number({ message: 'user_idx must be a number' }).int().nonnegative(),
    item_idx: z.number({ message: 'item_idx must be a number' }).int().nonnegative(),
    ts: z.iso.datetime({ offset: false, message: 'ts must be an ISO-8601 UTC timestamp' }),
    source: z.string().max(64).optional(),
    /**
     * The original ids, when the sender knew them: the archive keeps them, so the next batch
     * adopts the numbers the live system gave to customers and articles it had never seen.
     */
    customer_id: z.string().min(1).max(64).optional(),
    article_id: z.string().min(1).max(64).optional(),
  })
  .strict();

export type UserEvent = z.infer<typeof userEventSchema>;

/** Header names used on Kafka messages of `user-events` and `user-events-dlq`. */
export const EVENT_HEADERS = {
  schemaVersion: 'schema-version',
  dlqReason: 'dlq-reason',
  dlqError: 'dlq-error',
  dlqOriginalTopic: 'dlq-original-topic',
  dlqOriginalPartition: 'dlq-original-partition',
  dlqOriginalOffset: 'dlq-original-offset',
} as const;

export const EVENT_SCHEMA_VERSION = '1';

export type ParseEventResult = { ok: true; event: UserEvent } | { ok: false; reason: string };

/** Parses raw bytes/text of one event; never throws, returns the reason when invalid. */
export function parseEvent(raw: string | Uint8Array): ParseEventResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
  } catch {
    return { ok: false, reason: 'value is not valid JSON' };
  }
  const result = userEventSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    return { ok: false, reason: `${path}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, event: result.data };
}
