import fc from 'fast-check';
import {
  DEFAULT_RETRY_SCHEDULE_MS,
  parseDuration,
  parseDurationList,
  parseRetryAfter,
  retryDelay,
} from './retry-policy';

describe('DEFAULT_RETRY_SCHEDULE_MS', () => {
  it('is 5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual(parseDurationList('5s,5m,30m,2h,5h,10h,14h,20h,24h'));
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000,
      86_400_000,
    ]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['100ms', 100],
    ['0ms', 0],
    ['1s', 1000],
    ['1.5s', 1500],
    ['0.25s', 250],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 3s ', 3000],
    ['0.5ms', 1],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', '5x', '-1s', '1.s', '.5s', 's', '1 s', '1S', '1e3ms', 'Infinityms', '1s2'])(
    'rejects %j with a message naming it',
    (text) => {
      expect(() => parseDuration(text)).toThrow(`Invalid duration ${JSON.stringify(text)}`);
    },
  );
});

describe('parseDurationList', () => {
  it('parses a comma list with optional spaces', () => {
    expect(parseDurationList('100ms,1s,5m,2h')).toEqual([100, 1000, 300_000, 7_200_000]);
    expect(parseDurationList(' 100ms , 1.5s ')).toEqual([100, 1500]);
    expect(parseDurationList('1d')).toEqual([86_400_000]);
  });

  it('treats an empty or blank string as no retries', () => {
    expect(parseDurationList('')).toEqual([]);
    expect(parseDurationList('   ')).toEqual([]);
  });

  it('names the position and the text of the bad item', () => {
    expect(() => parseDurationList('100ms,5x,2h')).toThrow(/item 2 of 3 \("5x"\)/);
    expect(() => parseDurationList('1s,,2s')).toThrow(/item 2 of 3 \(""\)/);
    expect(() => parseDurationList('1s,')).toThrow(/item 2 of 2 \(""\)/);
    expect(() => parseDurationList('10')).toThrow(
      /item 1 of 1 \("10"\).*unit \(ms, s, m, h or d\)/,
    );
  });

  it('round-trips any list of whole durations (property)', () => {
    const unit = fc.constantFrom(
      ['ms', 1],
      ['s', 1000],
      ['m', 60_000],
      ['h', 3_600_000],
      ['d', 86_400_000],
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 10_000 }), unit), { maxLength: 12 }), (items) => {
        const text = items.map(([n, [u]]) => `${n}${u}`).join(',');
        expect(parseDurationList(text)).toEqual(items.map(([n, [, f]]) => n * (f as number)));
      }),
    );
  });
});

describe('retryDelay', () => {
  const schedule = [1000, 10_000, 100_000];

  it('follows the schedule and ends when it is exhausted', () => {
    const mid = () => 0.5; // no jitter
    expect(retryDelay({ attemptsMade: 1, schedule, random: mid })).toBe(1000);
    expect(retryDelay({ attemptsMade: 2, schedule, random: mid })).toBe(10_000);
    expect(retryDelay({ attemptsMade: 3, schedule, random: mid })).toBe(100_000);
    expect(retryDelay({ attemptsMade: 4, schedule, random: mid })).toBeNull();
    expect(retryDelay({ attemptsMade: 1, schedule: [], random: mid })).toBeNull();
  });

  it('applies ±20% jitter at the extremes of random()', () => {
    expect(retryDelay({ attemptsMade: 2, schedule, random: () => 0 })).toBe(8000);
    expect(retryDelay({ attemptsMade: 2, schedule, random: () => 0.999999 })).toBe(12_000);
  });

  it('honours Retry-After within [delay, 2 × delay]', () => {
    const mid = () => 0.5;
    const at = (retryAfterMs: number | null) =>
      retryDelay({ attemptsMade: 2, schedule, random: mid, retryAfterMs });
    expect(at(15_000)).toBe(15_000);
    expect(at(1)).toBe(10_000);
    expect(at(0)).toBe(10_000);
    expect(at(3_600_000)).toBe(20_000);
    expect(at(null)).toBe(10_000);
    // The budget still ends even if the receiver asks for a retry.
    expect(retryDelay({ attemptsMade: 4, schedule, random: mid, retryAfterMs: 5000 })).toBeNull();
  });

  it('rejects a nonsensical attempt count', () => {
    expect(() => retryDelay({ attemptsMade: 0, schedule, random: Math.random })).toThrow(
      RangeError,
    );
    expect(() => retryDelay({ attemptsMade: 1.5, schedule, random: Math.random })).toThrow(
      RangeError,
    );
  });

  it('stays within the jitter and Retry-After bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 7 * 86_400_000 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 14 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.nat({ max: 30 * 86_400_000 })),
        (sched, attemptsMade, r, retryAfterMs) => {
          const delay = retryDelay({
            attemptsMade,
            schedule: sched,
            random: () => r,
            retryAfterMs,
          });
          if (attemptsMade > sched.length) {
            expect(delay).toBeNull();
            return;
          }
          const base = sched[attemptsMade - 1];
          const jittered = retryDelay({ attemptsMade, schedule: sched, random: () => r });
          expect(Number.isInteger(delay)).toBe(true);
          expect(Number.isInteger(jittered)).toBe(true);
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
          expect(jittered).toBeLessThanOrEqual(Math.ceil(base * 1.2));
          if (retryAfterMs === null) {
            expect(delay).toBe(jittered);
          } else {
            expect(delay).toBeGreaterThanOrEqual(jittered as number);
            expect(delay).toBeLessThanOrEqual(2 * (jittered as number));
            if (retryAfterMs >= (jittered as number) && retryAfterMs <= 2 * (jittered as number)) {
              expect(delay).toBe(retryAfterMs);
            }
          }
        },
      ),
    );
  });

  it('spreads delays over the whole jitter window', () => {
    const samples = Array.from({ length: 2000 }, () =>
      retryDelay({ attemptsMade: 1, schedule: [100_000], random: Math.random }),
    ) as number[];
    expect(Math.min(...samples)).toBeLessThan(84_000);
    expect(Math.max(...samples)).toBeGreaterThan(116_000);
    expect(samples.every((s) => s >= 80_000 && s <= 120_000)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads HTTP-dates in all three RFC 9110 forms', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Wednesday, 01-Jan-25 00:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Wed Jan  1 00:01:30 2025', now)).toBe(90_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:00 GMT', now)).toBe(0);
  });

  it.each([
    undefined,
    '',
    '-5',
    '1.5',
    'soon',
    '10s',
    '2025-01-01T00:01:00Z',
    'Wed, 32 Jan 2025 00:01:30 GMT',
    'Tue, 31 Dec 2024 23:59:00 GMT', // in the past
  ])('returns null for %j', (header) => {
    expect(parseRetryAfter(header, now)).toBeNull();
  });

  it('never throws and never returns a negative or non-integer delay (property)', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const ms = parseRetryAfter(header, now);
        expect(ms === null || (Number.isSafeInteger(ms) && ms >= 0)).toBe(true);
      }),
    );
  });
});
