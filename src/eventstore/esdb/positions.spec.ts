import { START } from '@eventstore/db-client';
import type { Position } from '@eventstore/db-client';
import fc from 'fast-check';
import {
  PositionMappingError,
  boundaryOf,
  comparePositions,
  nextInOrder,
  toPortPosition,
  toReadPosition,
} from './positions';

const at = (commit: bigint, prepare = commit): Position => ({ commit, prepare });

describe('toPortPosition', () => {
  it('numbers an event by its commit position', () => {
    expect(toPortPosition(at(4_711n))).toBe(4_711);
    // A 20.x-era server reported later events of an append with the append's first prepare.
    expect(toPortPosition(at(5_000n, 4_711n))).toBe(5_000);
  });

  it('gives the events of one multi-event append strictly increasing numbers', () => {
    // Each event of an append is its own implicitly committed record, at its own log position.
    const append = [at(1_000n), at(1_137n), at(1_301n)];
    const numbers = append.map(toPortPosition);
    expect(numbers).toEqual([1_000, 1_137, 1_301]);
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1])).toBe(true);
  });

  it('accepts Number.MAX_SAFE_INTEGER and fails loudly above it', () => {
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    expect(toPortPosition(at(max))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toPortPosition(at(max + 1n))).toThrow(PositionMappingError);
    expect(() => toPortPosition(at(max + 1n))).toThrow(/beyond Number.MAX_SAFE_INTEGER/);
  });

  it('fails loudly for an event without a position (2^64 - 1 on the wire)', () => {
    const none = (1n << 64n) - 1n;
    expect(() => toPortPosition(at(none))).toThrow(/without a position/);
  });
});

describe('toReadPosition', () => {
  it('reads from the start for 0 and from {n, n} otherwise', () => {
    expect(toReadPosition(0)).toBe(START);
    expect(toReadPosition(1_137)).toEqual(at(1_137n));
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, Infinity])('rejects %p', (n) => {
    expect(() => toReadPosition(n)).toThrow(RangeError);
  });

  it('round-trips every safe position through EventStoreDB and back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const read = toReadPosition(n);
        return typeof read !== 'string' && toPortPosition(read) === n;
      }),
    );
  });

  it('keeps the order of positions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (a, b) => {
          const [pa, pb] = [boundaryOf(a), boundaryOf(b)];
          return pa !== undefined && pb !== undefined
            ? Math.sign(comparePositions(pa, pb)) === Math.sign(a - b)
            : false;
        },
      ),
    );
  });
});

describe('boundaryOf', () => {
  it('is nothing at the start of the log, and the position {n, n} after it', () => {
    expect(boundaryOf(0)).toBeUndefined();
    expect(boundaryOf(42)).toEqual(at(42n));
  });
});

describe('comparePositions', () => {
  it('orders by commit, then prepare', () => {
    expect(comparePositions(at(1n), at(2n))).toBeLessThan(0);
    expect(comparePositions(at(2n, 1n), at(2n, 2n))).toBeLessThan(0);
    expect(comparePositions(at(3n, 1n), at(2n, 2n))).toBeGreaterThan(0);
    expect(comparePositions(at(2n), at(2n))).toBe(0);
  });
});

describe('nextInOrder', () => {
  it('takes everything when nothing was seen yet', () => {
    expect(nextInOrder(undefined, at(1_000n))).toBe(true);
  });

  it('skips the event at the last position and any before it (inclusive reads, re-deliveries)', () => {
    expect(nextInOrder(at(1_137n), at(1_137n))).toBe(false);
    expect(nextInOrder(at(1_137n), at(1_000n))).toBe(false);
    expect(nextInOrder(at(1_137n), at(1_301n))).toBe(true);
  });

  it('skips the event a port position stands for, however the server reports its prepare', () => {
    const last = boundaryOf(5_000);
    expect(nextInOrder(last, at(5_000n, 4_711n))).toBe(false);
    expect(nextInOrder(last, at(5_100n, 4_711n))).toBe(true);
  });

  it('fails loudly on two events sharing a commit position (an explicit transaction)', () => {
    expect(() => nextInOrder(at(9_000n, 8_000n), at(9_000n, 8_100n))).toThrow(PositionMappingError);
    expect(() => nextInOrder(at(9_000n, 8_000n), at(9_000n, 8_100n))).toThrow(
      /share commit position 9000/,
    );
  });
});
