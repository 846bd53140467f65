import { START } from '@eventstore/db-client';
import type { Position, ReadPosition } from '@eventstore/db-client';

/**
 * Global positions: the port numbers events with one JS number, strictly increasing in the log's
 * order; EventStoreDB places them at `{commit, prepare}`, two byte offsets in its transaction log,
 * ordered by commit, then prepare.
 *
 * The port number is the commit position. That is faithful for every event this adapter can meet
 * in practice, as the server's source shows:
 * - An append (gRPC `appendToStream`, one or many events) writes each event as its own prepare
 *   record flagged IsCommitted: an implicit commit, no commit record (StorageWriterService,
 *   WritePrepares). So each event is committed by its own record, at its own log position.
 * - Reading `$all` returns such an event at `{commit: p, prepare: p}`, p its record's position
 *   (AllReader: `new CommitEventRecord(eventRecord, prepare.LogPosition)`); so do stream reads
 *   (ResolvedEvent: a self-committed event is at `TFPos(LogPosition, LogPosition)`) and live
 *   subscriptions (`EventCommitted(prepare.LogPosition, ...)`). Events of one multi-event append
 *   are therefore at distinct, increasing commit positions; they do not share one.
 * - An append's result is `{commit, prepare}` = the position of its *last* prepare (StorageChaser
 *   acks the transaction with the last record's LogPosition, WriteEvents answers it as both), the
 *   very position that event is read back at.
 *
 * Several events share a commit position only when they were written by an explicit transaction
 * (the legacy TCP API's TransactionStart/Write/Commit, which this adapter never uses): then `$all`
 * orders them by prepare position under one commit, and no single number could both keep them
 * strictly increasing and convert back. The readers fail loudly on such events (`nextInOrder`)
 * rather than drop or reorder them.
 *
 * Back to EventStoreDB, a number n is `{commit: n, prepare: n}`: the position of the record of
 * the event numbered n, a valid place to read from. `$all` reads are inclusive of it, so the
 * readers skip the event at n themselves; catch-up subscriptions start after it (the server reads
 * the event at the position and continues from the next one). 0 is the start of the log: no event
 * sits at position 0, where the log's first (epoch) record is.
 */

/** Thrown where an EventStoreDB position cannot be a port position; never retried. */
export class PositionMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PositionMappingError';
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** What a server sends for "no position" (-1 as an unsigned 64-bit integer). */
const NO_POSITION = (1n << 64n) - 1n;

/** The port position of an event at `position` in `$all`. */
export function toPortPosition(position: Position): number {
  const { commit } = position;
  if (commit === NO_POSITION) {
    throw new PositionMappingError(
      'EventStoreDB returned an event without a position (an event of an explicit transaction, ' +
        'which this adapter cannot number)',
    );
  }
  if (commit < 0n || commit > MAX_SAFE) {
    throw new PositionMappingError(
      `EventStoreDB commit position ${commit} is beyond Number.MAX_SAFE_INTEGER: ` +
        'it cannot be a port position without losing precision',
    );
  }
  return Number(commit);
}

/**
 * Where to read `$all` from to see the events after port position `position` (and, for reads,
 * that event itself).
 */
export function toReadPosition(position: number): ReadPosition {
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`Invalid event store position ${position}: expected a safe integer >= 0`);
  }
  if (position === 0) return START;
  const offset = BigInt(position);
  return { commit: offset, prepare: offset };
}

/** `$all` order: by commit position, then prepare position. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/**
 * Whether an event read at `position`, after the last one seen at `last`, is new: false for the
 * event at `last` itself or before it (an inclusive read's first event, a re-delivery after a
 * reconnection). Throws when it shares `last`'s commit position at a later prepare position: an
 * explicit transaction, whose events no single number can order (see above).
 */
export function nextInOrder(last: Position | undefined, position: Position): boolean {
  if (last === undefined) return true;
  if (comparePositions(position, last) <= 0) return false;
  if (position.commit === last.commit) {
    throw new PositionMappingError(
      `Two EventStoreDB events share commit position ${position.commit} (prepare positions ` +
        `${last.prepare} and ${position.prepare}): events of an explicit transaction, which ` +
        'this adapter cannot number',
    );
  }
  return true;
}

/** The `$all` position a port position stands for, as a lower bound for `nextInOrder`. */
export function boundaryOf(position: number): Position | undefined {
  const read = toReadPosition(position);
  return typeof read === 'string' ? undefined : read;
}
