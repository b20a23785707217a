/**
 * Request and response schemas of the API (zod, with OpenAPI metadata).
 *
 * The same schemas validate requests (through the route definitions in `routes/`) and generate
 * the OpenAPI 3.1 document served at `/openapi.json`, so the documentation cannot drift from what
 * the API accepts. They are built once at import; nothing is compiled per request. Validation
 * messages name the allowed range, and the problem response adds the parameter and the value
 * received.
 */
import { z } from '@hono/zod-openapi';
import { EVENT_TYPES } from '../lib/events.ts';
import { REPURCHASE_FILLS, REPURCHASE_MODES } from './pipeline/repurchase.ts';

// --- limits and defaults (part of the API contract; docs/api.md lists them) ---------------------

export const LIMITS = {
  k: { min: 1, max: 50, default: 10 },
  explainTopK: { min: 1, max: 10, default: 3 },
  diversityLambda: { min: 0, max: 1, default: 0.8 },
  recentLimit: { min: 1, max: 50, default: 10 },
  topCategories: { min: 1, max: 10, default: 5 },
  /** Entries in one comma-separated list parameter. */
  listEntries: 500,
  /** Characters in one category name. */
  nameLength: 200,
  /** Events in one `POST /events` batch. */
  batchEvents: 500,
} as const;

const MAX_INDEX = 2_147_483_647;

// --- parameter building blocks ------------------------------------------------------------------

function intParam(min: number, max: number, defaultValue?: number) {
  const message = `must be an integer between ${min} and ${max}`;
  const schema = z
    .string()
    .regex(/^-?\d+$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message));
  return defaultValue === undefined
    ? schema.openapi({ type: 'integer', minimum: min, maximum: max })
    : schema
        .optional()
        .transform((v) => v ?? defaultValue)
        .openapi({
          type: 'integer',
          minimum: min,
          maximum: max,
          default: defaultValue,
        });
}

function numberParam(min: number, max: number, defaultValue: number) {
  const message = `must be a number between ${min} and ${max}`;
  return (
    z
      .string()
      // Decimal or exponent notation (`0.1`, `.5`, `1e-1`), as any client may write a number.
      .regex(/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/, message)
      .transform(Number)
      .pipe(z.number().min(min, message).max(max, message))
      .optional()
      .transform((v) => v ?? defaultValue)
      .openapi({ type: 'number', minimum: min, maximum: max, default: defaultValue })
  );
}

const boolValue = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

function boolParam(defaultValue: boolean) {
  return boolValue
    .optional()
    .transform((v) => v ?? defaultValue)
    .openapi({ type: 'boolean', default: defaultValue });
}

function optionalBoolParam() {
  return boolValue.optional().openapi({ type: 'boolean' });
}

/**
 * The list parameters' rules are regular expressions, so the OpenAPI document shows exactly what
 * the validator accepts (its `pattern`): at most `listEntries` comma-separated entries, each a
 * name of at most `nameLength` characters, or an index of at most 9 digits. Entries are trimmed
 * and blank ones ignored.
 */
const NAME_LIST_RE = new RegExp(
  `^[^,]{0,${LIMITS.nameLength}}(,[^,]{0,${LIMITS.nameLength}}){0,${LIMITS.listEntries - 1}}$`,
);
const ID_LIST_RE = new RegExp(`^\\s*(\\d{1,9}\\s*)?(,\\s*(\\d{1,9}\\s*)?){0,${LIMITS.listEntries - 1}}$`);

/** `first`, or a number from 0 to 1000 in decimal notation (the rule is the document's pattern). */
const BOOST_RE = /^(first|\d{1,3}(\.\d*)?|1000(\.0*)?|\.\d+)$/;

const listEntries = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** A comma-separated list of names (blank entries ignored). */
function nameListParam(example: string) {
  return z
    .string()
    .regex(
      NAME_LIST_RE,
      `must be a comma-separated list of at most ${LIMITS.listEntries} names of at most ${LIMITS.nameLength} characters`,
    )
    .optional()
    .transform((raw) => (raw === undefined ? [] : [...new Set(listEntries(raw))]))
    .openapi({ type: 'string', pattern: NAME_LIST_RE.source, example, description: 'comma-separated list' });
}

/** A comma-separated list of item indexes. */
function idListParam() {
  return z
    .string()
    .regex(
      ID_LIST_RE,
      `must be a comma-separated list of at most ${LIMITS.listEntries} non-negative integers of at most 9 digits`,
    )
    .optional()
    .transform((raw) => (raw === undefined ? [] : [...new Set(listEntries(raw).map(Number))]))
    .openapi({
      type: 'string',
      pattern: ID_LIST_RE.source,
      example: '108775015,108775044',
      description: 'comma-separated item indexes',
    });
}

function indexPathParam(name: string) {
  return intParam(0, MAX_INDEX).openapi({
    param: { name, in: 'path', required: true },
    type: 'integer',
    minimum: 0,
    example: 42,
  });
}

const customerIdMessage = 'must be a customer id: 64 hexadecimal characters';
const articleIdMessage = 'must be an article id: 10 digits, leading zeros included';

export const customerIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, customerIdMessage)
  .transform((s) => s.toLowerCase());
export const articleIdSchema = z.string().regex(/^\d{10}$/, articleIdMessage);

// --- path parameters ----------------------------------------------------------------------------

export const userIdxParams = z.object({ user_idx: indexPathParam('user_idx') });
export const itemIdxParams = z.object({ item_idx: indexPathParam('item_idx') });
export const customerIdParams = z.object({
  customer_id: customerIdSchema.openapi({
    param: { name: 'customer_id', in: 'path', required: true },
    example: '00000dbacae5abe5e23885899a1fa44253a17956c6d1c3d25f88aa139fdfc657',
  }),
});
export const articleIdParams = z.object({
  article_id: articleIdSchema.openapi({
    param: { name: 'article_id', in: 'path', required: true },
    example: '0108775015',
  }),
});

// --- query parameters ---------------------------------------------------------------------------

const filterQueryShape = {
  product_group: nameListParam('Garment Upper body').openapi({
    description: 'only items of these product groups (comma-separated)',
  }),
  product_type: nameListParam('T-shirt,Sweater').openapi({
    description: 'only items of these product types (comma-separated)',
  }),
  exclude_ids: idListParam().openapi({ description: 'item indexes to leave out (comma-separated)' }),
  exclude_groups: nameListParam('Underwear').openapi({
    description: 'product groups to leave out (comma-separated)',
  }),
  exclude_types: nameListParam('Socks').openapi({
    description: 'product types to leave out (comma-separated)',
  }),
};

const kParam = intParam(LIMITS.k.min, LIMITS.k.max, LIMITS.k.default).openapi({
  description: 'number of items to return',
});

export const recommendQuery = z
  .strictObject({
    k: kParam,
    ...filterQueryShape,
    explain: boolParam(false).openapi({ description: 'add explanations from the recent purchases' }),
    explain_top_k: intParam(
      LIMITS.explainTopK.min,
      LIMITS.explainTopK.max,
      LIMITS.explainTopK.default,
    ).openapi({
      description: 'purchases listed per explanation',
    }),
    diversity_lambda: numberParam(
      LIMITS.diversityLambda.min,
      LIMITS.diversityLambda.max,
      LIMITS.diversityLambda.default,
    ).openapi({ description: 'MMR trade-off: 1 = pure relevance (MMR skipped), 0 = maximal spread' }),
    repurchase: z
      .enum(REPURCHASE_MODES, { error: `must be one of ${REPURCHASE_MODES.join(', ')}` })
      .optional()
      .openapi({
        description:
          "the user's purchases: `auto` = recent purchases first (repurchase stage), then the model's other items; " +
          '`include` = ordinary candidates; `exclude` = left out (default from REPURCHASE)',
      }),
    repurchase_window_days: intParam(0, 3650)
      .optional()
      .openapi({
        description:
          'purchases at most this many days old are repurchase candidates (`repurchase=auto`; default ' +
          'REPURCHASE_WINDOW_DAYS, or the window the served version was evaluated best with)',
      }),
    repurchase_boost: z
      .string()
      .regex(BOOST_RE, 'must be first or a number between 0 and 1000')
      .transform((v): number | 'first' => (v === 'first' ? 'first' : Number(v)))
      .optional()
      .openapi({
        type: 'string',
        pattern: BOOST_RE.source,
        description:
          'how repurchases enter the list (`repurchase=auto`): a number lifts each by boost × recency ' +
          "weight × the best new item's score against the model's items; `first` puts them ahead " +
          '(default REPURCHASE_BOOST, or the boost the served version was evaluated best with)',
      }),
    repurchase_fill: z
      .enum(REPURCHASE_FILLS, { error: `must be one of ${REPURCHASE_FILLS.join(', ')}` })
      .optional()
      .openapi({
        description:
          "what fills the list besides the repurchases (`repurchase=auto`): `model` = the model's nearest items; " +
          '`trending` = the trending list after the repurchases (default REPURCHASE_FILL, or what the ' +
          'served version was evaluated best with)',
      }),
    trending_segments: z
      .enum(['on', 'off'], { error: 'must be one of on, off' })
      .optional()
      .openapi({
        description:
          'a user the model has no vector for gets the trending list of their customer segment (age band) when `on` ' +
          '(default TRENDING_SEGMENTS, or what the served version was evaluated best with)',
      }),
    exclude_purchased: optionalBoolParam().openapi({
      description:
        'older switch: true = `repurchase=exclude`, false = `repurchase=include` (not together with `repurchase`: 400)',
    }),
  })
  .superRefine((query, ctx) => {
    if (query.repurchase !== undefined && query.exclude_purchased !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['repurchase'],
        message: 'give either repurchase or exclude_purchased, not both',
      });
    }
  });

export const similarQuery = z.strictObject({ k: kParam, ...filterQueryShape });

export const profileQuery = z.strictObject({
  recent_limit: intParam(LIMITS.recentLimit.min, LIMITS.recentLimit.max, LIMITS.recentLimit.default).openapi({
    description: 'recent purchases to list',
  }),
  top_categories: intParam(
    LIMITS.topCategories.min,
    LIMITS.topCategories.max,
    LIMITS.topCategories.default,
  ).openapi({ description: 'product groups and types to list' }),
});

// --- request bodies -----------------------------------------------------------------------------

const indexField = (name: string) =>
  z
    .number({ error: `${name} must be a non-negative integer` })
    .int(`${name} must be a non-negative integer`)
    .min(0, `${name} must be a non-negative integer`)
    .max(MAX_INDEX, `${name} must be at most ${MAX_INDEX}`);

/** A user and an item, each given by index or by original id (exactly one of the two). */
const eventTargetShape = {
  user_idx: indexField('user_idx').optional(),
  customer_id: customerIdSchema.optional(),
  item_idx: indexField('item_idx').optional(),
  article_id: articleIdSchema.optional(),
  event_id: z
    .uuid({ error: 'event_id must be a UUID' })
    .optional()
    .openapi({
      description:
        "the event's idempotency key: an event sent again with the same event_id is applied once " +
        '(generated when absent; see also the Idempotency-Key header)',
    }),
};

function requireOneOf<T extends Record<string, unknown>>(value: T, ctx: z.RefinementCtx): void {
  if ((value['user_idx'] === undefined) === (value['customer_id'] === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['user_idx'],
      message: 'give exactly one of user_idx and customer_id',
    });
  }
  if ((value['item_idx'] === undefined) === (value['article_id'] === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['item_idx'],
      message: 'give exactly one of item_idx and article_id',
    });
  }
}

/** `requireOneOf` in the document's terms: exactly one of each pair of fields. */
const ONE_USER_ONE_ITEM = {
  allOf: [
    { oneOf: [{ required: ['user_idx'] }, { required: ['customer_id'] }] },
    { oneOf: [{ required: ['item_idx'] }, { required: ['article_id'] }] },
  ],
};

export const purchaseBody = z
  .object(eventTargetShape)
  .strict()
  .superRefine(requireOneOf)
  .openapi('PurchaseRequest', { example: { user_idx: 42, item_idx: 1234 }, ...ONE_USER_ONE_ITEM });

export const eventInput = z
  .object({
    event_type: z.enum(EVENT_TYPES, { error: `event_type must be one of ${EVENT_TYPES.join(', ')}` }),
    ...eventTargetShape,
  })
  .strict()
  .superRefine(requireOneOf)
  .openapi('EventInput', {
    example: { event_type: 'click', user_idx: 42, item_idx: 1234 },
    ...ONE_USER_ONE_ITEM,
  });

export const eventsBody = z
  .union([
    eventInput,
    z
      .object({
        events: z
          .array(eventInput)
          .min(1, 'events must hold at least one event')
          .max(LIMITS.batchEvents, `events must hold at most ${LIMITS.batchEvents} events`),
      })
      .strict(),
  ])
  .openapi('EventsRequest');

export type EventInput = z.output<typeof eventInput>;

// --- responses ----------------------------------------------------------------------------------

export const itemMetadataSchema = z
  .object({
    item_idx: z.number().int(),
    article_id: z.string(),
    prod_name: z.string(),
    product_type_name: z.string(),
    product_group_name: z.string(),
    colour_group_name: z.string(),
    section_name: z.string(),
    garment_group_name: z.string(),
    index_name: z.string(),
  })
  .openapi('ItemMetadata');

export const explanationSchema = z
  .object({
    item_idx: z.number().int(),
    item_name: z.string(),
    similarity: z.number().openapi({ description: 'cosine similarity of the purchase to the item' }),
    contribution_pct: z.number().openapi({ description: 'share in percent; the list sums to 100' }),
  })
  .openapi('Explanation');

export const recommendedItemSchema = z
  .object({
    item_idx: z.number().int(),
    score: z.number(),
    metadata: itemMetadataSchema,
    bought_before: z.object({ times: z.number().int(), last_purchased_at: z.string() }).optional().openapi({
      description:
        'set when the item is offered again because the user bought it (`repurchase=auto`): purchases in the window and the latest',
    }),
    explanation: z.array(explanationSchema).optional(),
  })
  .openapi('RecommendedItem');

export const FALLBACK_REASONS = [
  'vector_index_timeout',
  'vector_index_error',
  'feature_store_timeout',
  'feature_store_error',
] as const;

export const recommendResponse = z
  .object({
    user_idx: z.number().int().nullable(),
    source: z.enum(['personalized', 'trending']),
    model_version: z.string(),
    fallback_reason: z.enum(FALLBACK_REASONS).optional().openapi({
      description:
        'why the user got trending items although a model is served: the vector index or the feature store failed',
    }),
    items: z.array(recommendedItemSchema),
  })
  .openapi('Recommendations');

export const similarResponse = z
  .object({
    item_idx: z.number().int(),
    model_version: z.string(),
    items: z.array(
      z.object({
        item_idx: z.number().int(),
        score: z.number().openapi({ description: 'cosine similarity to the query item' }),
        metadata: itemMetadataSchema,
      }),
    ),
  })
  .openapi('SimilarItems');

const categoryShareSchema = z
  .object({ name: z.string(), count: z.number().int(), percentage: z.number() })
  .openapi('CategoryShare');

export const profileResponse = z
  .object({
    user_idx: z.number().int(),
    customer_id: z.string().nullable(),
    total_purchases: z.number().int(),
    first_purchase_at: z.string().nullable(),
    last_purchase_at: z.string().nullable(),
    recent_purchases: z.array(
      z.object({
        item_idx: z.number().int(),
        ts: z.string(),
        // A union, not `.nullable()`: on a referenced schema that becomes `allOf: [$ref, …null]`,
        // which no null satisfies.
        metadata: z
          .union([itemMetadataSchema, z.null()])
          .openapi({ description: 'null when the item is not in the model' }),
      }),
    ),
    top_product_groups: z.array(categoryShareSchema),
    top_product_types: z.array(categoryShareSchema),
  })
  .openapi('UserProfile');

export const purchaseAccepted = z
  .object({ event_id: z.uuid(), user_idx: z.number().int(), item_idx: z.number().int(), ts: z.string() })
  .openapi('PurchaseAccepted');

export const eventsAccepted = z
  .object({ accepted: z.number().int(), event_ids: z.array(z.uuid()) })
  .openapi('EventsAccepted');

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ parameter: z.string(), message: z.string(), received: z.string().optional() }))
      .optional(),
  })
  .openapi('Problem');

export const healthResponse = z
  .object({
    status: z.enum(['ok', 'ready', 'not_ready']),
    checks: z
      .record(z.string(), z.object({ status: z.enum(['up', 'down']), error: z.string().optional() }))
      .optional(),
    model_version: z.string().nullable().optional(),
  })
  .openapi('Health');
