/**
 * Fitting untrusted text into chat platforms' length limits.
 *
 * Discord and Slack state their limits in "characters" without saying whether they count code
 * points or UTF-16 units. We measure with JavaScript's `length` (UTF-16 code units), which is never
 * smaller than the number of code points, so text that fits by our measure fits by either. We cut
 * only between code points, so a surrogate pair is never split, and we replace lone surrogates
 * from the input with U+FFFD, so every rendered string is well-formed Unicode.
 */

export const ELLIPSIS = '…';
const REPLACEMENT_CHARACTER = '\uFFFD';
const BLANK_PLACEHOLDER = '(empty)';

/**
 * `text`, encoded code point by code point with `escape`, in at most `max` UTF-16 units; when it
 * does not fit, the longest prefix that leaves room for '…', then '…'. An escape sequence is never
 * cut in half. Stops reading at the limit, so huge inputs cost no more than small ones.
 */
export function truncate(
  text: string,
  max: number,
  escape: (codePoint: string) => string = (codePoint) => codePoint,
): string {
  let out = '';
  let cutAt = 0; // longest prefix, on a code point boundary, that leaves room for the ellipsis
  for (const codePoint of text) {
    const piece = escape(isLoneSurrogate(codePoint) ? REPLACEMENT_CHARACTER : codePoint);
    if (out.length + piece.length > max) return out.slice(0, cutAt) + ELLIPSIS;
    out += piece;
    if (out.length < max) cutAt = out.length;
  }
  return out;
}

/** Platforms reject (Discord) or render oddly (Slack) empty and whitespace-only text. */
export function orPlaceholder(text: string): string {
  return text.trim() === '' ? BLANK_PLACEHOLDER : text;
}

// A string iterator yields a surrogate pair as one two-unit string, so a one-unit surrogate is lone.
function isLoneSurrogate(codePoint: string): boolean {
  const unit = codePoint.charCodeAt(0);
  return codePoint.length === 1 && unit >= 0xd800 && unit <= 0xdfff;
}
