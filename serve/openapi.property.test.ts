/**
 * The OpenAPI document against the API, property-based (in the manner of schemathesis): requests
 * are generated from `/openapi.json` itself — every operation, its path, query and header
 * parameters and JSON body drawn from their schemas — and sent to the app (in-process stores with
 * the test world). For every answer:
 *
 * - no 5xx;
 * - the status is one the operation documents;
 * - a 2xx body validates against the documented response schema (ajv, JSON Schema 2020-12), a
 *   4xx body is a problem document;
 * - a request built only from values the document allows is not refused as malformed (400, or 422
 *   `invalid-body`): the validator is not stricter than the document. (404 and 422
 *   `unknown-reference` stay possible: a well-formed id may name nothing.)
 *
 * Bounded: a fixed number of runs per operation with a fixed seed, well under a minute.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../lib/observability/metrics.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { MemoryEventBus } from '../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { createApp } from './app.ts';
import { loadWorld, UNKNOWN_ITEM, WORLD_ITEMS, WORLD_USERS } from './testing/world.ts';

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const RUNS_PER_OPERATION = 150;

/**
 * Values of the test world mixed into the draws of the id parameters (as schemathesis mixes in
 * examples), so requests name existing users and items as well as unknown ones.
 */
const KNOWN: Record<string, readonly unknown[]> = {
  customer_id: WORLD_USERS.map((u) => u.customerId),
  article_id: WORLD_ITEMS.map((i) => i.metadata.article_id),
};
const SEED = 20261203;

/** A value of a JSON schema (the subset the document uses), as fast-check draws it. */
function arbitrary(schema: Schema, doc: Document, depth = 0): fc.Arbitrary<unknown> {
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '');
    return arbitrary(doc.components!.schemas![name]!, doc, depth + 1);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key] as Schema[] | undefined;
    if (options) return fc.oneof(...options.map((s) => arbitrary(s, doc, depth + 1)));
  }
  if (Array.isArray(schema['allOf']) && schema['properties'] === undefined) {
    return arbitrary((schema['allOf'] as Schema[])[0]!, doc, depth + 1);
  }
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
  if ('const' in schema) return fc.constant(schema['const']);
  const type = schema['type'];
  if (Array.isArray(type)) {
    return fc.oneof(...type.map((t) => arbitrary({ ...schema, type: t }, doc, depth + 1)));
  }
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = (schema['minimum'] as number | undefined) ?? -1_000_000;
      const max = (schema['maximum'] as number | undefined) ?? 1_000_000;
      return fc.oneof(
        fc.integer({ min, max }),
        fc.constantFrom(min, max),
        fc.integer({ min, max: Math.min(max, min + 20) }),
      );
    }
    case 'number': {
      const min = (schema['minimum'] as number | undefined) ?? -1e6;
      const max = (schema['maximum'] as number | undefined) ?? 1e6;
      return fc.oneof(
        fc.double({ min, max, noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(min, max),
      );
    }
    case 'string': {
      if (schema['format'] === 'uuid') return fc.uuid();
      const maxLength = Math.min((schema['maxLength'] as number | undefined) ?? 40, 40);
      const minLength = (schema['minLength'] as number | undefined) ?? 0;
      const pattern = schema['pattern'] as string | undefined;
      if (pattern !== undefined) {
        return fc
          .stringMatching(new RegExp(pattern))
          .filter((s) => s.length >= minLength && s.length <= ((schema['maxLength'] as number) ?? Infinity));
      }
      return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
    }
    case 'array': {
      const items = (schema['items'] as Schema | undefined) ?? {};
      return fc.array(arbitrary(items, doc, depth + 1), {
        minLength: (schema['minItems'] as number | undefined) ?? 0,
        maxLength: Math.min((schema['maxItems'] as number | undefined) ?? 3, 3),
      });
    }
    case 'object':
    case undefined: {
      const properties = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
      const required = new Set((schema['required'] as string[] | undefined) ?? []);
      // `allOf: [{ oneOf: [{ required: [a] }, { required: [b] }] }, …]`: exactly one key of each group.
      const groups = ((schema['allOf'] as Schema[] | undefined) ?? []).map((part) =>
        ((part['oneOf'] as Schema[] | undefined) ?? []).flatMap((alt) => (alt['required'] as string[]) ?? []),
      );
      return fc.tuple(...groups.map((keys) => fc.constantFrom(...keys))).chain((chosen) => {
        const left = new Set(groups.flat().filter((key) => !chosen.includes(key)));
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, value] of Object.entries(properties)) {
          if (!left.has(key)) record[key] = arbitrary(value, doc, depth + 1);
        }
        const requiredKeys = [...required, ...chosen].filter((k) => k in record);
        return fc.record(record, { requiredKeys });
      });
    }
    default:
      throw new Error(`no generator for schema type ${String(type)}`);
  }
}

/** How a parameter value goes on the wire (a query string or header holds text). */
function wire(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

interface Draw {
  path: string;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body?: unknown;
}

function requestArbitrary(template: string, operation: Operation, doc: Document): fc.Arbitrary<Draw> {
  const parameters = operation.parameters ?? [];
  const values: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of parameters) {
    const known = KNOWN[p.name];
    const value = known
      ? fc.oneof(arbitrary(p.schema, doc), fc.constantFrom(...known))
      : arbitrary(p.schema, doc);
    values[`${p.in}:${p.name}`] = p.required ? value : fc.option(value, { nil: undefined });
  }
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  return fc
    .record({
      params: fc.record(values, { requiredKeys: Object.keys(values) }),
      body: bodySchema ? arbitrary(bodySchema, doc) : fc.constant(undefined),
    })
    .map(({ params, body }) => {
      let path = template;
      const query: Array<[string, string]> = [];
      const headers: Record<string, string> = {};
      for (const p of parameters) {
        const value = params[`${p.in}:${p.name}`];
        if (value === undefined) continue;
        if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(wire(value)));
        else if (p.in === 'query') query.push([p.name, wire(value)]);
        else headers[p.name] = wire(value);
      }
      return { path, query, headers, body };
    });
}

describe('the OpenAPI document against the API (property-based)', async () => {
  const featureStore = new MemoryFeatureStore();
  const vectorIndex = new EmbeddedVectorIndex();
  await loadWorld(featureStore, vectorIndex);
  // User 1 bought an item the model does not hold: its profile lists it with `metadata: null`.
  const ts = '2026-01-06T10:00:00.000Z';
  await featureStore.putProfiles([
    {
      userIdx: 1,
      recent: [{ item_idx: UNKNOWN_ITEM, ts }],
      counters: {
        total_purchases: 1,
        first_purchase_at: ts,
        last_purchase_at: ts,
        product_groups: {},
        product_types: {},
      },
    },
  ]);
  const app = createApp({
    featureStore,
    vectorIndex,
    eventBus: new MemoryEventBus({ topics: { events: 'events', deadLetter: 'dead' } }),
    metrics: createMetrics(),
  });
  const doc = (await (await app.request('/openapi.json')).json()) as Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', components: doc.components ?? {} });
  const validatorOf = (schema: Schema) =>
    ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')));

  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      // The docs page and the document itself are not data operations.
      .filter(([method]) => ['get', 'post'].includes(method))
      .map(([method, operation]) => ({ path, method, operation })),
  );

  it('documents the data operations', () => {
    const names = operations.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    for (const expected of [
      'GET /recommend/{user_idx}',
      'GET /items/{item_idx}/similar',
      'GET /users/{user_idx}/profile',
      'POST /events/purchase',
      'POST /events',
    ]) {
      expect(names).toContain(expected);
    }
  });

  for (const { path, method, operation } of operations) {
    it(`${method.toUpperCase()} ${path}: no 5xx, documented statuses and bodies, spec-valid input accepted`, async () => {
      const validators = new Map<string, ReturnType<typeof validatorOf>>();
      for (const [status, response] of Object.entries(operation.responses)) {
        const schema =
          response.content?.['application/json']?.schema ??
          response.content?.['application/problem+json']?.schema;
        if (schema) validators.set(status, validatorOf(schema));
      }
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requestArbitrary(path, operation, doc), async (draw) => {
          // Two rules between fields that a JSON schema does not say, documented in their
          // descriptions instead: `repurchase` or `exclude_purchased`, the Idempotency-Key header
          // or `event_id` in the body — each pair is a 400 when both are given.
          const names = new Set(draw.query.map(([name]) => name));
          fc.pre(!(names.has('repurchase') && names.has('exclude_purchased')));
          fc.pre(
            !('idempotency-key' in draw.headers && JSON.stringify(draw.body ?? {}).includes('"event_id"')),
          );
          const search = new URLSearchParams(draw.query).toString();
          const url = `${draw.path}${search ? `?${search}` : ''}`;
          const init: RequestInit = { method: method.toUpperCase(), headers: { ...draw.headers } };
          if (draw.body !== undefined) {
            init.body = JSON.stringify(draw.body);
            (init.headers as Record<string, string>)['content-type'] = 'application/json';
          }
          const res = await app.request(url, init);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const text = await res.text();
          const where = `${method.toUpperCase()} ${url} ${init.body ?? ''} → ${res.status} ${text.slice(0, 300)}`;
          expect(res.status, where).toBeLessThan(500);
          expect(Object.keys(operation.responses), where).toContain(String(res.status));
          const body = JSON.parse(text) as Record<string, unknown>;
          const validate = validators.get(String(res.status));
          if (validate && !validate(body)) {
            throw new Error(`${where}\nbody does not match the document: ${ajv.errorsText(validate.errors)}`);
          }
          if (res.status >= 400) {
            expect(body, where).toMatchObject({ type: expect.any(String), title: expect.any(String) });
            // Everything drawn is valid per the document: only "names nothing" refusals may remain.
            expect(res.status === 400 || body['type'] === 'urn:recsys:problem:invalid-body', where).toBe(
              false,
            );
          }
        }),
        { numRuns: RUNS_PER_OPERATION, seed: SEED, endOnFailure: true },
      );
      // The response schemas were checked on real answers, not only on refusals.
      expect(
        [...statuses.keys()].some((status) => status < 300),
        JSON.stringify([...statuses]),
      ).toBe(true);
    });
  }
});
