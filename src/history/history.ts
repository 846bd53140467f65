import { EventData, RecordedEvent } from '../eventstore/event-store';

/**
 * One entry of an aggregate's audit trail, as the API shows it: an event of its stream, straight
 * from the event store, oldest first.
 */
export interface HistoryEntry {
  /** Global position in the log. */
  position: number;
  /** Revision within the aggregate's stream, from 0. */
  revision: number;
  type: string;
  recorded_at: string;
  /** The event's data, keys in snake_case; secrets left out. */
  data: EventData;
}

/** Fields that carry a signing secret: never shown, whatever the event. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['secret', 'previousSecret']);

export interface HistoryOptions {
  /** The aggregate's payload is archived (retention): its body is not shown either. */
  payloadArchived?: boolean;
}

/** An aggregate's stream as its audit trail (the store reads streams oldest first). */
export function toHistory(
  events: readonly RecordedEvent[],
  options: HistoryOptions = {},
): HistoryEntry[] {
  return events.map((event) => toHistoryEntry(event, options));
}

export function toHistoryEntry(event: RecordedEvent, options: HistoryOptions = {}): HistoryEntry {
  const data: EventData = {};
  for (const [key, value] of Object.entries(event.data)) {
    if (SECRET_FIELDS.has(key)) continue;
    data[snakeCase(key)] = key === 'payload' && options.payloadArchived ? null : value;
  }
  return {
    position: event.position,
    revision: event.revision,
    type: event.type,
    recorded_at: event.recordedAt,
    data,
  };
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
