import { EventFilter, RecordedEvent } from '../../eventstore/event-store';

/**
 * A read model fed in batches. The runner hands it, in log order, the events past its checkpoint
 * that match its filter. Applying a batch again must change nothing: the MongoDB read models guard
 * every write by the log position the document last applied (see guarded-writes.ts), so a batch
 * re-applied after a crash before the checkpoint was saved, or finished by a replica that was
 * fenced out meanwhile, is harmless.
 */
export interface BatchProjection {
  readonly name: string;
  readonly filter: EventFilter;
  applyBatch(events: readonly RecordedEvent[]): Promise<void>;
  /** Deletes every document of the read model (rebuild from position 0). */
  reset(): Promise<void>;
}

/** A read model kept in MongoDB. */
export interface MongoProjection extends BatchProjection {
  /** Creates the indexes its queries need (idempotent: run at every start). */
  ensureIndexes(): Promise<void>;
  /** Its collections (a replay renames them; verify compares them document by document). */
  readonly collections: readonly string[];
  /** Fields of its documents that are not derived from the log, which verify leaves out. */
  readonly unprojectedFields?: readonly string[];
  /**
   * For a read model holding leases (due work): a rebuilt copy takes over those of the live
   * collection, renamed to `retired` by a replay just before the copy replaces it.
   */
  adoptLeasesFrom?(retired: string): Promise<number>;
}
