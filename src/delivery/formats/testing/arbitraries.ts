/** fast-check generators for hostile published events: oversized, deeply nested, odd Unicode. */
import fc from 'fast-check';
import { WEBHOOK_EVENT_TYPES } from '../../../common/webhook-event-types';
import { KEY_FIELD_NAME_MAX, KEY_FIELD_VALUE_MAX } from '../key-fields';
import { PublishedEvent } from '../published-event';

/** Characters that stress truncation and escaping: astral emoji, lone halves, mrkdwn specials. */
const TRICKY_UNITS = [
  '😀',
  '👩‍👩‍👧',
  '🇫🇷',
  '\uD83D',
  '\uDE00',
  '&',
  '<',
  '>',
  '*',
  '`',
  ' ',
  '\n',
  '\u0000',
  'é',
  '漢',
];

const trickyUnit = fc.oneof(
  fc.constantFrom(...TRICKY_UNITS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

/** Strings whose tricky character sits right where a truncation cut falls. */
const atTruncationBoundary = fc
  .tuple(
    fc.constantFrom(KEY_FIELD_NAME_MAX, KEY_FIELD_VALUE_MAX, 150, 1024),
    fc.integer({ min: -6, max: 2 }),
    fc.constantFrom(...TRICKY_UNITS),
  )
  .map(([limit, offset, unit]) => 'x'.repeat(Math.max(0, limit + offset)) + unit.repeat(8));

const huge = fc
  .tuple(fc.constantFrom(...TRICKY_UNITS, 'a'), fc.integer({ min: 1_000, max: 200_000 }))
  .map(([unit, times]) => unit.repeat(times));

export const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: trickyUnit, maxLength: 40 }),
  atTruncationBoundary,
  huge,
  fc.constantFrom('', '   ', '\n\t', '&amp;', '<!channel>', '@everyone'),
);

const hostileKey = fc.oneof(
  hostileString.filter((key) => key.length <= 2_000),
  fc.constantFrom('id', 'name', 'email', 'status', 'amount', 'file_name', 'url', '__proto__'),
  fc.string({ unit: trickyUnit, minLength: 500, maxLength: 500 }),
);

const scalar = fc.oneof(hostileString, fc.double(), fc.integer(), fc.boolean(), fc.constant(null));

const { value: nested } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 6 }),
  ),
}));

/** An object of `width` keys, all sharing one value: 1000 keys without generating 1000 values. */
const wide = fc
  .tuple(fc.integer({ min: 0, max: 1_000 }), hostileKey, nested)
  .map(([width, key, value]) =>
    Object.fromEntries(Array.from({ length: width }, (_, i) => [`${key}${i}`, value])),
  );

/** `{a: {a: ... {a: leaf}}}` far deeper than any recursive generator would go. */
const deep = fc.tuple(fc.integer({ min: 2, max: 2_000 }), scalar).map(([depth, leaf]) => {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value as Record<string, unknown>;
});

export const hostileData: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.dictionary(hostileKey, nested, { maxKeys: 30 }),
  wide,
  wide.map((children) => ({ parent: children })),
  deep,
  fc.constant({}),
);

export const hostileEvent: fc.Arbitrary<PublishedEvent> = fc.record({
  type: fc.constantFrom(...WEBHOOK_EVENT_TYPES),
  timestamp: fc
    .date({ min: new Date('2000-01-01Z'), max: new Date('2100-01-01Z'), noInvalidDate: true })
    .map((date) => date.toISOString()),
  workspaceId: hostileString,
  data: hostileData,
});
