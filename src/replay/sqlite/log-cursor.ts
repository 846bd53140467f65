import { EventFilter, combinedFilter } from '../../eventstore/event-store';
import { SqliteLogPages, StreamPartition } from '../../eventstore/sqlite/log-pages';
import { SqliteProjection, applyTo } from '../../projections/sqlite/sqlite-projection';
import { splitRead } from '../log-batch';

export interface LogCursorOptions {
  /** Start after this position (default 0: the whole log). */
  from?: number;
  /** Per projection (same order), the last position to apply to it (verify: its checkpoint). */
  until?: readonly number[];
  /** Only the streams of this part of the log. */
  partition?: StreamPartition;
}

/**
 * Reads the log forward and applies it to a set of projections, as the runner does: each
 * projection gets the events its filter takes, up to its own `until` position. Events no
 * projection takes (the publications) are skipped by SQLite without being parsed.
 */
export class LogCursor {
  /** Every event up to here (of the partition, if any) has been applied. */
  position: number;
  private readonly filter: EventFilter | undefined;

  constructor(
    private readonly pages: SqliteLogPages,
    private readonly projections: readonly SqliteProjection[],
    private readonly batchSize: number,
    private readonly options: LogCursorOptions = {},
  ) {
    this.position = options.from ?? 0;
    this.filter = combinedFilter(projections.map((p) => p.filter));
  }

  /** Applies the next batch of events up to `head`, in the caller's transaction. */
  applyNext(head: number): void {
    const read = this.pages.read(
      this.position,
      this.batchSize,
      this.filter,
      this.options.partition,
    );
    const { parts, position } = splitRead(
      read,
      this.batchSize,
      head,
      this.projections,
      this.options.until,
    );
    this.projections.forEach((projection, i) => applyTo(projection, parts[i]));
    this.position = position;
  }
}
