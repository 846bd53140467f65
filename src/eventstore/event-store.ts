/**
 * The EventStore port: an append-only log of streams with one global order.
 * Every engine (embedded SQLite, EventStoreDB) implements it and passes the same contract suite.
 */

/** `no_stream`: the stream must not exist yet; a number: the revision of its last event. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

/** Revision of a stream that has no events. Revisions count from 0. */
export const NO_STREAM_REVISION = -1;

export type EventData = Record<string, unknown>;

export interface NewEvent<T extends EventData = EventData> {
  type: string;
  data: T;
  metadata?: EventData;
}

export interface RecordedEvent<T extends EventData = EventData> {
  /** Global position, strictly increasing across all streams. */
  position: number;
  streamId: string;
  /** Revision within the stream, from 0. */
  revision: number;
  type: string;
  data: T;
  metadata: EventData;
  recordedAt: string;
}

export interface AppendResult {
  /** Revision of the last event written; pass it as the next expected revision. */
  nextExpectedRevision: number;
  /** Global position of the last event written. */
  position: number;
}

/** Server-side filter for reads and subscriptions of the global log. */
export interface EventFilter {
  streamPrefixes?: readonly string[];
  eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. 0 reads from the start. */
  fromPosition: number;
  /** Most events returned; with a filter, it counts matching events (non-matching ones are skipped). */
  maxCount: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  /** Exclusive, as in ReadAllOptions: resume from a stored checkpoint. */
  fromPosition: number;
  filter?: EventFilter;
}

export type EventHandler = (event: RecordedEvent) => void | Promise<void>;

export interface Subscription {
  /** Stops after the event being handled, if any, and resolves once stopped. */
  stop(): Promise<void>;
  /** Rejects when the handler throws; the subscription is stopped at that event. */
  readonly done: Promise<void>;
}

export interface EventStore {
  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  readStream(streamId: string): Promise<RecordedEvent[]>;
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up then live: handles every matching event after `fromPosition`, once, in order. */
  subscribeToAll(options: SubscribeOptions, handler: EventHandler): Subscription;
  /** Position of the newest event in the log (0 when empty). */
  headPosition(): Promise<number>;
  /**
   * Resolves once the log's head is past `position` (appends by other processes included), or
   * as soon as `signal` aborts, so a waiter that gives up leaves nothing registered behind.
   */
  waitForAppend(position: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number,
  ) {
    super(
      `Stream ${streamId}: expected revision ${String(expected)}, actual ${actual === NO_STREAM_REVISION ? 'no stream' : actual}`,
    );
    this.name = 'WrongExpectedRevisionError';
  }
}

export function matchesFilter(
  event: Pick<RecordedEvent, 'streamId' | 'type'>,
  filter?: EventFilter,
): boolean {
  if (!filter) return true;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) {
    return false;
  }
  return !filter.eventTypes || filter.eventTypes.includes(event.type);
}

/** The union of several readers' filters when it can be expressed as one, else no filter. */
export function combinedFilter(filters: readonly EventFilter[]): EventFilter | undefined {
  if (filters.some((f) => !f.streamPrefixes || f.eventTypes)) return undefined;
  return { streamPrefixes: [...new Set(filters.flatMap((f) => f.streamPrefixes ?? []))] };
}

export function revisionMatches(expected: ExpectedRevision, actual: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === NO_STREAM_REVISION;
    case 'stream_exists':
      return actual !== NO_STREAM_REVISION;
    default:
      return expected === actual;
  }
}
