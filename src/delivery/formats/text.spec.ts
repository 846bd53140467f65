import fc from 'fast-check';
import { ELLIPSIS, orPlaceholder, truncate } from './text';
import { hasLoneSurrogate } from './testing/limits';

const escapeAmpersand = (codePoint: string) => (codePoint === '&' ? '&amp;' : codePoint);

describe('truncate', () => {
  it('returns text that fits unchanged', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('', 1)).toBe('');
  });

  it('cuts text that does not fit to exactly the limit, ending with an ellipsis', () => {
    expect(truncate('hello world', 8)).toBe('hello w…');
    expect(truncate('hello world', 1)).toBe(ELLIPSIS);
  });

  it('never splits a surrogate pair at the cut', () => {
    // '😀' is two UTF-16 units: keeping it would leave no room for the ellipsis.
    expect(truncate('aaaaaaaa😀b', 10)).toBe('aaaaaaaa…');
    expect(truncate('aaaaaaa😀bc', 10)).toBe('aaaaaaa😀…');
    expect(truncate('😀😀😀', 4)).toBe('😀…');
  });

  it('counts UTF-16 units, so astral characters count twice', () => {
    expect(truncate('😀😀', 4)).toBe('😀😀');
    expect(truncate('😀😀', 3)).toBe('😀…');
  });

  it('replaces lone surrogates with U+FFFD', () => {
    expect(truncate('a\uD83Db\uDE00', 10)).toBe('a\uFFFDb\uFFFD');
  });

  it('measures escaped text and never cuts an escape sequence in half', () => {
    expect(truncate('a&b', 7, escapeAmpersand)).toBe('a&amp;b');
    expect(truncate('&&&', 10, escapeAmpersand)).toBe('&amp;…');
    expect(truncate('&&&', 11, escapeAmpersand)).toBe('&amp;&amp;…');
  });

  it('holds for any text and limit', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.string({ unit: 'binary', maxLength: 1 }),
            fc.constantFrom('\uD800', '\uDFFF', '&'),
          ),
        }),
        fc.integer({ min: 1, max: 60 }),
        (text, max) => {
          const out = truncate(text, max, escapeAmpersand);
          expect(out.length).toBeLessThanOrEqual(max);
          expect(hasLoneSurrogate(out)).toBe(false);
          const whole = text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD').replace(/&/g, '&amp;');
          if (whole.length <= max) {
            expect(out).toBe(whole);
          } else {
            expect(out.endsWith(ELLIPSIS)).toBe(true);
            expect(whole.startsWith(out.slice(0, -1))).toBe(true);
          }
        },
      ),
    );
  });
});

describe('orPlaceholder', () => {
  it('replaces empty and whitespace-only text, which platforms reject', () => {
    expect(orPlaceholder('')).toBe('(empty)');
    expect(orPlaceholder(' \n\t')).toBe('(empty)');
    expect(orPlaceholder(' x ')).toBe(' x ');
  });
});
