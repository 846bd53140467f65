import { EventFilter, RecordedEvent } from '../../eventstore/event-store';

/**
 * A read model kept in the embedded database. `apply` runs synchronously inside the runner's
 * transaction, together with the checkpoint update, so a read model never gets ahead of or
 * behind its checkpoint, even across a crash.
 */
export interface SqliteProjection {
  readonly name: string;
  readonly filter: EventFilter;
  /** Its tables (replay renames them; verify compares them row by row). */
  readonly tables: readonly string[];
  /** Columns of its tables that are not derived from the log, which verify leaves out. */
  readonly unprojectedColumns?: readonly string[];
  apply(event: RecordedEvent): void;
  /**
   * Optional: applies a batch of events (in log order, all matching the filter) with the same
   * result as `apply` on each, but fewer reads and writes.
   */
  applyBatch?(events: readonly RecordedEvent[]): void;
  /** Deletes every row of the read model (rebuild from position 0). */
  reset(): void;
}

/** Applies events (in log order) to the projection: as a batch when it can take one. */
export function applyTo(projection: SqliteProjection, events: readonly RecordedEvent[]): void {
  if (events.length === 0) return;
  if (projection.applyBatch) projection.applyBatch(events);
  else for (const event of events) projection.apply(event);
}
