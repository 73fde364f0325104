import { invalidContent } from './arm-error';

/**
 * A small schema for request bodies: the accepted properties and their types. Unknown properties are refused
 * (a typo must not be silently ignored); read-only properties (what a GET returned, sent back by clients that
 * GET-modify-PUT) are accepted and dropped; enum values match case-insensitively and come back canonical.
 */
export type Shape =
  | { kind: 'string'; enum?: readonly string[]; pattern?: RegExp; maxLength?: number; minLength?: number }
  | { kind: 'boolean' }
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'datetime' }
  | { kind: 'object'; props: Record<string, Shape>; required?: readonly string[] }
  | { kind: 'map'; values: Shape; maxEntries?: number }
  | { kind: 'array'; items: Shape; maxItems?: number }
  | { kind: 'readonly' };

export const str = (o: Omit<Extract<Shape, { kind: 'string' }>, 'kind'> = {}): Shape => ({ kind: 'string', ...o });
export const bool: Shape = { kind: 'boolean' };
export const int = (min?: number, max?: number): Shape => ({ kind: 'integer', min, max });
export const datetime: Shape = { kind: 'datetime' };
export const readonly: Shape = { kind: 'readonly' };
export const obj = (props: Record<string, Shape>, required: readonly string[] = []): Shape => ({
  kind: 'object',
  props,
  required,
});
export const map = (values: Shape, maxEntries?: number): Shape => ({ kind: 'map', values, maxEntries });
export const arr = (items: Shape, maxItems?: number): Shape => ({ kind: 'array', items, maxItems });

/** ARM's tags: at most 50, names ≤ 512 and values ≤ 256 characters. */
export const TAGS: Shape = map(str({ maxLength: 256 }), 50);

/** Parses and checks `body` against `shape`; throws 400 InvalidRequestContent naming the first problem's path. */
export function parseBody<T>(shape: Shape, body: unknown, what = 'body'): T {
  if (body === undefined || body === null) throw invalidContent(`The request ${what} is missing or empty.`);
  return check(shape, body, '') as T;
}

function check(shape: Shape, value: unknown, path: string): unknown {
  const at = path || 'the body';
  switch (shape.kind) {
    case 'readonly':
      return undefined;
    case 'string': {
      if (typeof value !== 'string') throw invalidContent(`'${at}' must be a string.`, path || undefined);
      if (shape.enum) {
        const hit = shape.enum.find((e) => e.toLowerCase() === value.toLowerCase());
        if (hit === undefined) {
          throw invalidContent(`'${at}' has the invalid value '${value}'; allowed: ${shape.enum.join(', ')}.`, path);
        }
        return hit;
      }
      if (shape.minLength !== undefined && value.length < shape.minLength) {
        throw invalidContent(`'${at}' must have at least ${shape.minLength} characters.`, path);
      }
      if (shape.maxLength !== undefined && value.length > shape.maxLength) {
        throw invalidContent(`'${at}' must have at most ${shape.maxLength} characters.`, path);
      }
      if (shape.pattern && !shape.pattern.test(value))
        throw invalidContent(`'${at}' has an invalid value '${value}'.`, path);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw invalidContent(`'${at}' must be true or false.`, path);
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        throw invalidContent(`'${at}' must be an integer.`, path);
      if ((shape.min !== undefined && value < shape.min) || (shape.max !== undefined && value > shape.max)) {
        throw invalidContent(`'${at}' must be between ${shape.min ?? '-∞'} and ${shape.max ?? '∞'}.`, path);
      }
      return value;
    case 'datetime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
        throw invalidContent(`'${at}' must be an ISO 8601 date-time.`, path);
      }
      return new Date(value).toISOString();
    case 'array': {
      if (!Array.isArray(value)) throw invalidContent(`'${at}' must be an array.`, path);
      if (shape.maxItems !== undefined && value.length > shape.maxItems) {
        throw invalidContent(`'${at}' must have at most ${shape.maxItems} items.`, path);
      }
      return value.map((v, i) => check(shape.items, v, `${path}[${i}]`));
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw invalidContent(`'${at}' must be an object.`, path);
      const entries = Object.entries(value);
      if (shape.maxEntries !== undefined && entries.length > shape.maxEntries) {
        throw invalidContent(`'${at}' must have at most ${shape.maxEntries} entries.`, path);
      }
      return Object.fromEntries(entries.map(([k, v]) => [k, check(shape.values, v, `${join(path, k)}`)]));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw invalidContent(`'${at}' must be an object.`, path || undefined);
      const out: Record<string, unknown> = {};
      const props = new Map(Object.keys(shape.props).map((k) => [k.toLowerCase(), k]));
      for (const [key, v] of Object.entries(value)) {
        const name = props.get(key.toLowerCase());
        const sub = name === undefined ? undefined : shape.props[name];
        if (name === undefined || sub === undefined) {
          throw invalidContent(`The property '${join(path, key)}' is not allowed here.`, join(path, key));
        }
        if (v === null) continue; // ARM clients send null for "not set"
        const parsed = check(sub, v, join(path, name));
        if (parsed !== undefined) out[name] = parsed;
      }
      for (const r of shape.required ?? []) {
        if (out[r] === undefined)
          throw invalidContent(`The required property '${join(path, r)}' is missing.`, join(path, r));
      }
      return out;
    }
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
