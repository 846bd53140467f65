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
  apply(event: RecordedEvent): void;
  /** Deletes every row of the read model (rebuild from position 0). */
  reset(): void;
}
