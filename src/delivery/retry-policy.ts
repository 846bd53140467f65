/**
 * Retry policy: the schedule, its configuration syntax, jitter and `Retry-After`.
 *
 * Pure functions: randomness and the clock are parameters, so callers (and tests) control them.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Delays after the 1st, 2nd, ... attempt of one retry budget (DESIGN §3). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  24 * HOUR,
]);

/** Relative jitter applied to every scheduled delay: ±20%. */
export const RETRY_JITTER = 0.2;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
  d: DAY,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses one duration such as `100ms`, `1.5s`, `5m`, `2h` or `1d` into whole milliseconds
 * (rounded). A unit is required; negative numbers are not durations.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const match = DURATION.exec(trimmed);
  if (match === null) {
    throw new Error(
      `Invalid duration ${JSON.stringify(text)}: expected a non-negative number followed by ` +
        'a unit (ms, s, m, h or d), e.g. "100ms", "1.5s", "5m", "2h"',
    );
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2]]);
  if (!Number.isSafeInteger(ms)) {
    throw new Error(`Invalid duration ${JSON.stringify(text)}: too large`);
  }
  return ms;
}

/**
 * Parses a comma-separated list of durations (`100ms,1s,5m,2h`). Whitespace around items is
 * ignored; an empty (or blank) string is the empty list; an empty item is an error.
 */
export function parseDurationList(text: string): number[] {
  if (text.trim() === '') {
    return [];
  }
  const items = text.split(',');
  return items.map((item, index) => {
    try {
      return parseDuration(item);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Invalid duration list ${JSON.stringify(text)}: item ${index + 1} of ${items.length} ` +
          `(${JSON.stringify(item.trim())}) is not a duration. ${detail}`,
      );
    }
  });
}

export interface RetryDelayInput {
  /** Attempts made in the current retry budget, including the one that just failed (>= 1). */
  attemptsMade: number;
  /** Delay after the 1st, 2nd, ... attempt; its length is the number of retries. */
  schedule: readonly number[];
  /** Uniform in [0, 1), e.g. Math.random. */
  random: () => number;
  /** A `Retry-After` the receiver sent with a 429/503, already parsed to milliseconds. */
  retryAfterMs?: number | null;
}

/**
 * The delay before the next attempt, or null when the budget is exhausted. The scheduled delay
 * gets ±20% jitter; a `Retry-After` is honoured but clamped to [jittered, 2 × jittered] so a
 * receiver can slow us down, not stall the event forever or make us hammer it.
 */
export function retryDelay(input: RetryDelayInput): number | null {
  const { attemptsMade, schedule } = input;
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer >= 1, got ${attemptsMade}`);
  }
  if (attemptsMade > schedule.length) {
    return null;
  }
  const base = schedule[attemptsMade - 1];
  const r = Math.min(Math.max(input.random(), 0), 1);
  const jittered = Math.round(base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * r));
  const retryAfter = input.retryAfterMs;
  if (retryAfter === null || retryAfter === undefined || !Number.isFinite(retryAfter)) {
    return jittered;
  }
  return Math.round(Math.min(Math.max(retryAfter, jittered), 2 * jittered));
}

const IMF_FIXDATE = /^[a-z]{3}, \d{1,2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/i;
const RFC_850 = /^[a-z]{6,9}, \d{1,2}-[a-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/i;
const ASCTIME = /^[a-z]{3} [a-z]{3} {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \d{4}$/i;

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, relative to
 * `now`. Returns milliseconds, or null when absent, malformed, negative or in the past.
 */
export function parseRetryAfter(header: string | undefined, now: Date): number | null {
  if (header === undefined) {
    return null;
  }
  const value = header.trim();
  if (/^\d+$/.test(value)) {
    return Math.min(Number(value) * SECOND, Number.MAX_SAFE_INTEGER);
  }
  let dateText: string;
  if (IMF_FIXDATE.test(value) || RFC_850.test(value)) {
    dateText = value;
  } else if (ASCTIME.test(value)) {
    dateText = `${value} GMT`; // asctime carries no zone; HTTP dates are always GMT
  } else {
    return null;
  }
  const at = Date.parse(dateText);
  if (Number.isNaN(at)) {
    return null;
  }
  const delta = at - now.getTime();
  return delta < 0 ? null : delta;
}
