import {
  ANY,
  ErrorType,
  NO_STREAM,
  STREAM_EXISTS,
  eventTypeFilter,
  excludeSystemEvents,
  isCommandError,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import type {
  AppendExpectedRevision,
  CurrentRevision,
  Filter,
  JSONEventData,
  RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import {
  EventData,
  EventFilter,
  ExpectedRevision,
  NO_STREAM_REVISION,
  NewEvent,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '../event-store';
import { toPortPosition } from './positions';

/**
 * Pure translations between the EventStore port and `@eventstore/db-client`: stream namespaces,
 * expected revisions, conflicts, events both ways and server-side filters.
 */

/** System streams and event types (`$streams`, `$stats-…`, `$metadata`, `$>` links…) start so. */
const SYSTEM = '$';

/**
 * The streams one store owns on a shared server: `${prefix}${streamId}`. The prefix isolates one
 * deployment (or one contract test) from every other stream of the cluster; without one, the
 * store sees every non-system stream.
 */
export class StreamNamespace {
  constructor(readonly prefix = '') {
    if (prefix.startsWith(SYSTEM)) {
      throw new Error(`Invalid stream prefix ${JSON.stringify(prefix)}: "$" starts system streams`);
    }
  }

  /** The server's name for a port stream. */
  serverStream(streamId: string): string {
    return `${this.prefix}${streamId}`;
  }

  /** The port's name for a server stream, or undefined when the stream is not in the namespace. */
  portStream(serverStream: string): string | undefined {
    if (serverStream.startsWith(SYSTEM) || !serverStream.startsWith(this.prefix)) return undefined;
    return serverStream.slice(this.prefix.length);
  }
}

export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
  }
  // The revision of a stream without events: the same expectation as 'no_stream'.
  if (expected === NO_STREAM_REVISION) return NO_STREAM;
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(`Invalid expected revision ${expected}`);
  }
  return BigInt(expected);
}

/** A stream's current revision as the port counts it: -1 when the stream does not exist. */
export function toPortRevision(revision: CurrentRevision): number {
  if (revision === NO_STREAM) return NO_STREAM_REVISION;
  const value = Number(revision);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`Stream revision ${revision} is too large`);
  return value;
}

/**
 * The port's conflict error for the client's WrongExpectedVersionError; any other error as is.
 * The error names the port's stream and expectation, not the namespaced ones the server saw.
 */
export function toPortAppendError(
  error: unknown,
  streamId: string,
  expected: ExpectedRevision,
): unknown {
  if (
    error instanceof Error &&
    isCommandError(error) &&
    error.type === ErrorType.WRONG_EXPECTED_VERSION
  ) {
    return new WrongExpectedRevisionError(streamId, expected, toPortRevision(error.actualVersion));
  }
  return error;
}

/**
 * A port event as the client sends it: JSON data, JSON metadata (`{}` when none). Data that JSON
 * cannot hold (a BigInt, a cycle) must fail here, this append alone and before anything is sent:
 * the 6.2.1 client serialises inside an async promise executor (batchAppend), where the error
 * would leave the append pending forever and surface as an unhandled rejection.
 */
export function toEsdbEvent(event: NewEvent): JSONEventData {
  const metadata = event.metadata ?? {};
  JSON.stringify(event.data);
  JSON.stringify(metadata);
  return jsonEvent({ type: event.type, data: event.data, metadata });
}

function isJsonObject(value: unknown): value is EventData {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

/**
 * The data of a server event of this store's log: in its namespace, not a system stream or event
 * type, and JSON object data as this adapter writes. Undefined for anything else (another
 * tenant's stream, `$stats`, a binary event some other tool wrote): not part of the port's log.
 */
function storeEventData(
  event: EsdbRecordedEvent,
  namespace: StreamNamespace,
): EventData | undefined {
  const inLog =
    namespace.portStream(event.streamId) !== undefined &&
    !event.type.startsWith(SYSTEM) &&
    event.isJson;
  return inLog && isJsonObject(event.data) ? event.data : undefined;
}

export function isStoreEvent(event: EsdbRecordedEvent, namespace: StreamNamespace): boolean {
  return storeEventData(event, namespace) !== undefined;
}

/**
 * The port's view of an event read from the server. Metadata that is not a JSON object (never
 * written by this adapter) reads as `{}`. Throws for an event outside the store's log: a stream
 * read must only meet the store's own events.
 */
export function toPortEvent(event: EsdbRecordedEvent, namespace: StreamNamespace): RecordedEvent {
  const streamId = namespace.portStream(event.streamId);
  const data = storeEventData(event, namespace);
  if (streamId === undefined || data === undefined) {
    throw new Error(
      `Event ${event.id} of stream ${event.streamId} (type ${event.type}) is not an event of ` +
        'this store: expected JSON object data in a stream of its namespace',
    );
  }
  if (!event.position) {
    throw new Error(
      `EventStoreDB returned event ${event.id} of stream ${event.streamId} without its position: ` +
        'stream reads carry positions from EventStoreDB 22.6 on',
    );
  }
  const revision = Number(event.revision);
  if (!Number.isSafeInteger(revision)) {
    throw new RangeError(`Stream revision ${event.revision} is too large`);
  }
  return {
    position: toPortPosition(event.position),
    streamId,
    revision,
    type: event.type,
    data,
    metadata: isJsonObject(event.metadata) ? event.metadata : {},
    recordedAt: event.created.toISOString(),
  };
}

/**
 * The server-side part of a read of the global log. EventStoreDB filters on one thing, the stream
 * name or the event type, by prefixes or a regular expression, so the most selective part that
 * it can apply exactly (or as a superset) is sent:
 * - stream prefixes, inside the namespace, when the filter has some;
 * - else the namespace prefix;
 * - else, without a namespace, the event types as prefixes (a superset of the exact types);
 * - else every non-system event type.
 * The rest (exact event types, system streams, the namespace again) is checked on each event by
 * the caller with `isStoreEvent` and `matchesFilter`.
 */
export function serverFilter(namespace: StreamNamespace, filter?: EventFilter): Filter {
  const streamPrefixes = filter?.streamPrefixes ?? [];
  if (streamPrefixes.length > 0) {
    return streamNameFilter({ prefixes: streamPrefixes.map((p) => namespace.serverStream(p)) });
  }
  if (namespace.prefix !== '') return streamNameFilter({ prefixes: [namespace.prefix] });
  const eventTypes = filter?.eventTypes ?? [];
  if (eventTypes.length > 0) return eventTypeFilter({ prefixes: [...eventTypes] });
  return excludeSystemEvents();
}
