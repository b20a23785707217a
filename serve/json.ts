/**
 * JSON bodies for the hot responses (recommendations, similar items), where item metadata is most
 * of the bytes: the same frozen metadata objects of the vector index come back request after
 * request, so each is serialized once and its text reused.
 *
 * `toJson(value)` produces what `JSON.stringify(value)` produces for the plain data these
 * responses hold (objects, arrays, strings, finite numbers, booleans, null; `undefined` members
 * left out), except that a frozen object's text is computed once and cached for as long as the
 * object lives. A frozen object cannot change, so its text cannot go stale. Values with a
 * `toJSON` method are handed to `JSON.stringify` whole.
 */
import type { Context, TypedResponse } from 'hono';

const frozenText = new WeakMap<object, string>();

/** `"key":` for every key met so far (response keys are a small fixed set). */
const keyText = new Map<string, string>();

export function toJson(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      // Members JSON has no text for become null in arrays, as JSON.stringify writes them.
      out += item === undefined || typeof item === 'function' ? 'null' : toJson(item);
    }
    return `${out}]`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value);
  if (Object.isFrozen(value)) {
    let text = frozenText.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      frozenText.set(value, text);
    }
    return text;
  }
  let out = '{';
  for (const key of Object.keys(value)) {
    const member: unknown = (value as Record<string, unknown>)[key];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    let prefix = keyText.get(key);
    if (prefix === undefined) {
      prefix = `${JSON.stringify(key)}:`;
      if (keyText.size < 1024) keyText.set(key, prefix);
    }
    if (out.length > 1) out += ',';
    out += prefix + toJson(member);
  }
  return `${out}}`;
}

/**
 * A JSON response like `c.json(value, status)`, serialized with `toJson`; typed like `c.json`, so
 * routes still check the value against their response schema.
 */
export function jsonResponse<T, S extends 200 | 202>(
  c: Context,
  value: T,
  status: S,
): Response & TypedResponse<T, S, 'json'> {
  const response = c.body(toJson(value), status, { 'content-type': 'application/json' });
  return response as unknown as Response & TypedResponse<T, S, 'json'>;
}
