import type { Statement } from 'better-sqlite3';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';

interface SyncStatements {
  read: Statement<[], number>;
  relax: Statement<[]>;
  restore: Map<number, Statement<[]>>;
}

/** Prepared once per connection: these run twice per projection batch and per claim. */
const statements = new WeakMap<SqliteDatabase, SyncStatements>();

/**
 * Runs `work` (a better-sqlite3 transaction) with `synchronous = NORMAL`, then restores the
 * connection's setting. In WAL mode such a commit is atomic and ordered like any other but is not
 * fsynced on its own: it reaches the disk with the next fsynced commit (every event-store append),
 * and only a power loss or OS crash before that can undo it (a killed process cannot).
 *
 * For writes that may be lost and redone, never for facts: read models with their checkpoint
 * (re-applied from the durable log) and due-work leases (voided at start-up anyway).
 */
export function withoutFsync<T>(db: SqliteDatabase, work: () => T): T {
  let sync = statements.get(db);
  if (!sync) {
    sync = {
      read: db.prepare<[], number>('PRAGMA synchronous').pluck(),
      relax: db.prepare('PRAGMA synchronous = NORMAL'),
      restore: new Map(),
    };
    statements.set(db, sync);
  }
  const previous = sync.read.get() ?? 2;
  if (previous <= 1) return work();
  let restore = sync.restore.get(previous);
  if (!restore) {
    restore = db.prepare(`PRAGMA synchronous = ${previous}`);
    sync.restore.set(previous, restore);
  }
  sync.relax.run();
  try {
    return work();
  } finally {
    restore.run();
  }
}
