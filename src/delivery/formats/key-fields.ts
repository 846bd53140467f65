/**
 * Choosing which scalars of an event's `data` a chat message shows: top-level strings, numbers
 * and booleans first, then those one level down as `parent.child`; within each object the
 * well-known keys come first, then the rest in the publisher's order. Deeper values, nulls and
 * arrays are left out: `data` can be arbitrarily large, and only the first few fields are read.
 */
import { orPlaceholder } from './text';

/** A scalar from `data` as text, untruncated: each format fits it to its own limits. */
export interface KeyField {
  name: string;
  value: string;
}

export const MAX_KEY_FIELDS = 10;
/**
 * Display caps, well inside both platforms' per-field limits: a message stays readable, and ten
 * fields plus the workspace fit Discord's 6000-character budget for a whole message.
 */
export const KEY_FIELD_NAME_MAX = 100;
export const KEY_FIELD_VALUE_MAX = 300;

const WELL_KNOWN_KEYS = [
  'id',
  'name',
  'title',
  'email',
  'status',
  'state',
  'amount',
  'currency',
  'file_name',
  'url',
];
const WELL_KNOWN = new Set(WELL_KNOWN_KEYS);

export function keyFields(data: Record<string, unknown>): KeyField[] {
  const fields: KeyField[] = [];
  for (const field of scalarsByRelevance(data)) {
    fields.push(field);
    if (fields.length === MAX_KEY_FIELDS) break;
  }
  return fields;
}

function* scalarsByRelevance(data: Record<string, unknown>): Generator<KeyField> {
  yield* scalarsOf(data, '');
  for (const [key, value] of entriesByRelevance(data)) {
    if (isPlainObject(value)) yield* scalarsOf(value, `${key}.`);
  }
}

function* scalarsOf(object: Record<string, unknown>, prefix: string): Generator<KeyField> {
  for (const [key, value] of entriesByRelevance(object)) {
    const text = scalarText(value);
    if (text !== null) yield { name: orPlaceholder(prefix + key), value: orPlaceholder(text) };
  }
}

function* entriesByRelevance(object: Record<string, unknown>): Generator<[string, unknown]> {
  for (const key of WELL_KNOWN_KEYS) {
    if (Object.hasOwn(object, key)) yield [key, object[key]];
  }
  for (const key of Object.keys(object)) {
    if (!WELL_KNOWN.has(key)) yield [key, object[key]];
  }
}

function scalarText(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      return null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
