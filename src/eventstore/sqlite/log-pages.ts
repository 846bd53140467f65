import type { Statement } from 'better-sqlite3';
import { EventData, EventFilter, RecordedEvent, matchesFilter } from '../event-store';
import { SqliteDatabase } from './sqlite-database';

/** Events per page read (a literal LIMIT: a bound one re-prepares every run). */
export const READ_BATCH = 500;

/**
 * The columns of `events` as a raw row (an array), as every read of the log takes them:
 * better-sqlite3 makes an array faster than an object with named keys, which shows over a whole
 * log.
 */
export const PAGE_COLUMNS = 'position, stream_id, revision, type, data, metadata, recorded_at';
export type PageRow = [
  position: number,
  streamId: string,
  revision: number,
  type: string,
  data: string,
  metadata: string,
  recordedAt: string,
];

/**
 * One of `of` disjoint parts of the log, by stream: a stream is in part `index` when the code of
 * its id's last character is `index` modulo `of`. Streams end in a random hex digit, so parts are
 * about the same size, and each holds every event of its streams: a projection folds each stream
 * on its own, so the parts can be applied apart (a replay builds them on two threads).
 */
export interface StreamPartition {
  of: number;
  index: number;
}

/**
 * Reads the log forward in pages, optionally filtered by SQLite itself: by stream prefixes (the
 * events of other streams, e.g. every publication in a rebuild, are never copied out nor parsed)
 * and by stream partition. Other filters are matched after the read.
 */
export class SqliteLogPages {
  private readonly readers = new Map<string, (position: number) => PageRow[]>();

  constructor(private readonly db: SqliteDatabase) {}

  /**
   * Up to `maxCount` matching events after `fromPosition`, in log order. `maxCount` counts
   * matching events, as the EventStore port promises: the scan goes on until the page is full
   * or the log ends, so a short page always means there is nothing more to read.
   */
  read(
    fromPosition: number,
    maxCount: number,
    filter?: EventFilter,
    partition?: StreamPartition,
  ): RecordedEvent[] {
    const matching: RecordedEvent[] = [];
    let position = fromPosition;
    const readPage = this.readerFor(filter?.streamPrefixes, partition);
    while (matching.length < maxCount) {
      const rows = readPage(position);
      for (const row of rows) {
        position = row[0];
        if (filter && !matchesFilter({ streamId: row[1], type: row[3] }, filter)) continue;
        matching.push(fromPageRow(row));
        if (matching.length === maxCount) break;
      }
      if (rows.length < READ_BATCH) break;
    }
    return matching;
  }

  /** The next page of every event after `position`, unparsed. */
  page(position: number): PageRow[] {
    return this.readerFor(undefined, undefined)(position);
  }

  private readerFor(
    prefixes: readonly string[] | undefined,
    partition: StreamPartition | undefined,
  ): (position: number) => PageRow[] {
    const key = JSON.stringify([prefixes ?? [], partition ?? null]);
    let reader = this.readers.get(key);
    if (!reader) {
      // The prefixes are bound, never spliced into the SQL (their lengths are numbers). They are
      // ASCII stream-type names, so SQLite's character count is JavaScript's.
      const conditions = ['position > ?'];
      if (prefixes && prefixes.length > 0) {
        conditions.push(
          `(${prefixes.map((p) => `substr(stream_id, 1, ${p.length}) = ?`).join(' OR ')})`,
        );
      }
      if (partition) {
        const { of, index } = partition;
        if (
          !Number.isInteger(of) ||
          !Number.isInteger(index) ||
          of < 1 ||
          index < 0 ||
          index >= of
        ) {
          throw new Error(`Invalid stream partition ${index} of ${of}`);
        }
        conditions.push(`unicode(substr(stream_id, -1)) % ${of} = ${index}`);
      }
      const statement: Statement<unknown[], PageRow> = this.db
        .prepare<unknown[], PageRow>(
          `SELECT ${PAGE_COLUMNS} FROM events WHERE ${conditions.join(' AND ')}
           ORDER BY position LIMIT ${READ_BATCH}`,
        )
        .raw();
      const bound = prefixes ?? [];
      reader = (position) => statement.all(position, ...bound);
      this.readers.set(key, reader);
    }
    return reader;
  }
}

export function fromPageRow([
  position,
  streamId,
  revision,
  type,
  data,
  metadata,
  recordedAt,
]: PageRow): RecordedEvent {
  return {
    position,
    streamId,
    revision,
    type,
    data: JSON.parse(data) as EventData,
    metadata: JSON.parse(metadata) as EventData,
    recordedAt,
  };
}
