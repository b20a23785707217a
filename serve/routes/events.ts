/**
 * `POST /events/purchase` (one purchase) and `POST /events` (click / add_to_cart / purchase,
 * single or batched): validated, checked against the id maps, published, and acknowledged by the
 * bus before the 202.
 */
import { createHash } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { App, ServeContext } from '../context.ts';
import { API_KEY_HEADER } from '../middleware/api-key.ts';
import { eventsAccepted, eventsBody, purchaseAccepted, purchaseBody } from '../schemas.ts';
import { acceptEvents } from '../services/events.ts';
import { validationHook } from '../validation.ts';
import { COMMON_PROBLEMS, problem } from './common.ts';

const problems = {
  ...COMMON_PROBLEMS,
  401: problem(`the ${API_KEY_HEADER} header is missing or wrong (only when API keys are configured)`),
  413: problem('the body is larger than BODY_LIMIT_BYTES'),
  415: problem('the body is not application/json'),
  422: problem('the body is not a valid event, or names a user_idx or item_idx that does not exist'),
  429: problem(
    'the body names more never-seen customer or article ids than NEW_IDS_PER_MINUTE(_PER_CLIENT) allow now',
  ),
};

const security = [{ ApiKey: [] }];

/** The `Idempotency-Key` header, checked by the same schema the OpenAPI document shows. */
const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'Idempotency-Key must be 1 to 255 visible ASCII characters')
    .optional()
    .openapi({
      description:
        'a key unique to this request (e.g. a UUID, or an order line): the request sent again with the same key ' +
        'publishes the same event ids, so its events are applied once however often it is sent. ' +
        'Keys are shared by all clients. Not with event_id in the body.',
      example: 'order-10023-line-2',
    }),
});

const purchase = createRoute({
  method: 'post',
  path: '/events/purchase',
  tags: ['events'],
  summary: 'Record a purchase',
  description:
    'Publishes a `purchase` event (`ts` now, `source: "api"`) to the event bus and answers once the bus has ' +
    "acknowledged it. Its `event_id` is the body's `event_id`, else derived from the `Idempotency-Key` header, " +
    'else a new UUID; an event sent again with the same id is applied once. A 503 means the event was not ' +
    'accepted: send it again with the same id (it may still have reached the bus when the 503 was a timeout; ' +
    'the id makes that harmless). A `customer_id` or `article_id` never seen before is numbered at once ' +
    '(the 202 gives the new `user_idx` / `item_idx`) and learnt from like any other; a `user_idx` or `item_idx` ' +
    'must exist.',
  security,
  request: {
    headers: idempotencyHeaders,
    body: { required: true, content: { 'application/json': { schema: purchaseBody } } },
  },
  responses: {
    202: { description: 'published', content: { 'application/json': { schema: purchaseAccepted } } },
    ...problems,
  },
});

const events = createRoute({
  method: 'post',
  path: '/events',
  tags: ['events'],
  summary: 'Record click, add-to-cart and purchase events, one or a batch',
  description:
    'Body: one event, or `{"events": [...]}`. The batch is accepted or rejected as a whole; users and items may be ' +
    'given by index or by original id.',
  security,
  request: {
    headers: idempotencyHeaders,
    body: { required: true, content: { 'application/json': { schema: eventsBody } } },
  },
  responses: {
    202: { description: 'published', content: { 'application/json': { schema: eventsAccepted } } },
    ...problems,
  },
});

/**
 * Who sends a request, for the per-client limit on new ids: its API key (as a digest), else the
 * first `X-Forwarded-For` address, else the peer address.
 */
function clientOf(c: Context): string {
  const bearer = c.req.header('authorization');
  const key =
    c.req.header(API_KEY_HEADER) ?? (bearer?.startsWith('Bearer ') ? bearer.slice(7).trim() : undefined);
  if (key) return `key:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
  if (forwarded) return `addr:${forwarded}`;
  try {
    return `addr:${getConnInfo(c).remote.address ?? 'unknown'}`;
  } catch {
    return 'addr:unknown'; // not served by the node server (in-process requests in tests)
  }
}

export function registerEventRoutes(app: App, ctx: ServeContext): void {
  const hook = validationHook();
  app.openapi(
    purchase,
    async (c) => {
      const body = c.req.valid('json');
      const key = c.req.valid('header')['idempotency-key'];
      const [event] = await acceptEvents(
        ctx,
        [{ event_type: 'purchase', ...body }],
        () => '',
        clientOf(c),
        key,
      );
      return c.json(
        { event_id: event!.event_id, user_idx: event!.user_idx, item_idx: event!.item_idx, ts: event!.ts },
        202,
      );
    },
    hook as never,
  );
  app.openapi(
    events,
    async (c) => {
      const body = c.req.valid('json');
      const batch = 'events' in body;
      const inputs = batch ? body.events : [body];
      const key = c.req.valid('header')['idempotency-key'];
      const published = await acceptEvents(
        ctx,
        inputs,
        (i) => (batch ? `events[${i}].` : ''),
        clientOf(c),
        key,
      );
      return c.json({ accepted: published.length, event_ids: published.map((e) => e.event_id) }, 202);
    },
    hook as never,
  );
}
