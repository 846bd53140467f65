import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holderIsGone, newOwnerId } from '../../common/process-owner';
import { RecordedEvent, matchesFilter } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { TableNames } from '../../projections/sqlite/schema';
import { SqliteCheckpoints } from '../../projections/sqlite/sqlite-checkpoints';
import { SqliteProjection } from '../../projections/sqlite/sqlite-projection';
import { createSqliteReadModels } from '../../projections/sqlite/sqlite-read-models';
import {
  Difference,
  ProgressListener,
  ReadModelReplay,
  ReplaySummary,
  VerifySummary,
} from '../read-model-replay';
import { diffSortedRows } from '../row-diff';

/** Events per transaction while rebuilding: a service on the same file appends between them. */
const BATCH_SIZE = 5_000;
/** Rows deleted per transaction when the replaced tables are emptied. */
const DROP_CHUNK = 20_000;
const SHADOW_INFIX = '__replay_';
const OLD_INFIX = '__old_';

const LOCK_SCHEMA = `
  CREATE TABLE IF NOT EXISTS read_model_replay (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL
  )
`;

/**
 * Replay and verification of the embedded read models, on the database file they share with the
 * event store (and with a service that may be running on it).
 *
 * `replay` builds shadow copies of every read-model table beside the live ones (same names with
 * a suffix), applying the log to them from position 0 in batches, each its own short write
 * transaction. Then, in one transaction, which holds the file's write lock so nothing can be
 * appended meanwhile, it applies what was appended since, renames the live tables away and the
 * shadow tables into their place, and moves the checkpoints to the head. Readers see the old
 * tables before that commit and the new ones after it (SQLite prepares their statements again),
 * and every event appended before it is in the new tables. The replaced tables are then emptied
 * in chunks and dropped. One replay runs at a time; the leftovers of one that was killed are
 * removed by the next.
 *
 * `verify` opens a read transaction on the live file (one snapshot of the log, the read models
 * and their checkpoints, however the service writes meanwhile), rebuilds every read model into a
 * scratch file in the temp directory up to the checkpoint it is at, and compares the two table
 * by table in primary-key order.
 */
export class SqliteReplay implements ReadModelReplay {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly store: SqliteEventStore,
    /** The live read models, in the runner's order. */
    private readonly live: readonly SqliteProjection[],
    private readonly batchSize = BATCH_SIZE,
  ) {}

  async replay(onProgress: ProgressListener): Promise<ReplaySummary> {
    const release = this.lock();
    try {
      this.dropLeftovers();
      const live = this.live;
      const suffix = `${SHADOW_INFIX}${Date.now().toString(36)}`;
      const shadow = this.db
        .transaction(() => createSqliteReadModels(this.db, undefined, new TableNames(suffix)).all)
        .immediate();
      const checkpoints = new SqliteCheckpoints(this.db);
      let position = 0;
      let events = 0;
      const apply = () => {
        const batch = this.store.readAllSync({ fromPosition: position, maxCount: this.batchSize });
        applyAll(shadow, batch);
        if (batch.length > 0) position = batch[batch.length - 1].position;
        events += batch.length;
        return batch.length;
      };
      // The bulk of the log, a batch per transaction, up to the head as it moves.
      while (this.store.headPositionSync() - position > this.batchSize) {
        this.db.transaction(apply).immediate();
        onProgress({ applied: position, total: this.store.headPositionSync() });
      }
      // The rest and the switch, under the write lock.
      const oldSuffix = suffix.replace(SHADOW_INFIX, OLD_INFIX);
      this.db
        .transaction(() => {
          while (apply() > 0) {
            // until the head
          }
          live.forEach((projection, i) => {
            projection.tables.forEach((table, j) => {
              this.db.exec(`ALTER TABLE ${table} RENAME TO ${table}${oldSuffix}`);
              this.db.exec(`ALTER TABLE ${shadow[i].tables[j]} RENAME TO ${table}`);
            });
            checkpoints.set(projection.name, position);
          });
        })
        .immediate();
      onProgress({ applied: position, total: position });
      const rows = this.countRows(live);
      for (const table of live.flatMap((p) => p.tables)) this.dropInChunks(`${table}${oldSuffix}`);
      return { events, position, rows };
    } finally {
      release();
    }
  }

  async verify(
    onProgress: ProgressListener,
    onDifference: (difference: Difference) => void,
  ): Promise<VerifySummary> {
    const scratchDir = mkdtempSync(join(tmpdir(), 'rapidly-verify-'));
    const scratch = new Database(join(scratchDir, 'read-models.db'));
    try {
      // Scratch: nothing to keep if the process dies, so no journal and no sync.
      scratch.pragma('journal_mode = OFF');
      scratch.pragma('synchronous = OFF');
      const rebuilt = createSqliteReadModels(scratch).all;
      const live = this.live;
      const checkpoints = new SqliteCheckpoints(this.db);
      this.db.exec('BEGIN');
      try {
        const targets = live.map((p) => checkpoints.get(p.name));
        const position = Math.max(0, ...targets);
        let from = 0;
        let events = 0;
        while (from < position) {
          const batch = this.store
            .readAllSync({ fromPosition: from, maxCount: this.batchSize })
            .filter((e) => e.position <= position);
          if (batch.length === 0) break;
          scratch.transaction(() => applyAll(rebuilt, batch, targets))();
          from = batch[batch.length - 1].position;
          events += batch.length;
          onProgress({ applied: from, total: position });
        }
        onProgress({ applied: position, total: position });
        let differences = 0;
        const rows: Record<string, number> = {};
        live.forEach((projection, i) => {
          projection.tables.forEach((table, j) => {
            const key = primaryKey(this.db, table);
            let count = 0;
            const liveRows = countingRows(this.db, table, key, () => count++);
            for (const difference of diffSortedRows(
              table,
              key,
              liveRows,
              sortedRows(scratch, rebuilt[i].tables[j], key),
            )) {
              differences++;
              onDifference(difference);
            }
            rows[table] = count;
          });
        });
        return { events, position, rows, differences };
      } finally {
        this.db.exec('ROLLBACK');
      }
    } finally {
      scratch.close();
      rmSync(scratchDir, { recursive: true, force: true });
    }
  }

  /** Takes the file's replay lock, or fails naming the replay that holds it. */
  private lock(): () => void {
    const owner = newOwnerId();
    this.db
      .transaction(() => {
        this.db.exec(LOCK_SCHEMA);
        const holder = this.db
          .prepare<[], { owner: string; pid: number; started_at: string }>(
            'SELECT owner, pid, started_at FROM read_model_replay WHERE id = 1',
          )
          .get();
        if (holder && !holderIsGone(holder.owner, holder.pid)) {
          throw new Error(
            `Another replay is running on this data directory (pid ${holder.pid}, started ${holder.started_at})`,
          );
        }
        this.db
          .prepare(
            `INSERT INTO read_model_replay (id, owner, pid, started_at) VALUES (1, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid,
               started_at = excluded.started_at`,
          )
          .run(owner, process.pid, new Date().toISOString());
      })
      .immediate();
    return () => {
      this.db.prepare('DELETE FROM read_model_replay WHERE owner = ?').run(owner);
    };
  }

  /** Tables of a replay that did not finish (shadow copies) or did not clean up (old ones). */
  private dropLeftovers(): void {
    const leftovers = this.db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_schema WHERE type = 'table'
           AND (name GLOB '*${SHADOW_INFIX}*' OR name GLOB '*${OLD_INFIX}*')`,
      )
      .all();
    for (const { name } of leftovers) this.dropInChunks(name);
  }

  /**
   * Empties a table a chunk per transaction, then drops it: a single DROP of a large table
   * would hold the write lock, and so a running service's appends, for the whole of it.
   */
  private dropInChunks(table: string): void {
    const deleteChunk = this.db.prepare(
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} LIMIT ${DROP_CHUNK})`,
    );
    while (deleteChunk.run().changes > 0) {
      // until empty
    }
    this.db.exec(`DROP TABLE IF EXISTS ${table}`);
  }

  private countRows(projections: readonly SqliteProjection[]): Record<string, number> {
    return Object.fromEntries(
      projections
        .flatMap((p) => p.tables)
        .map((table) => [
          table,
          this.db.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck().get()!,
        ]),
    );
  }
}

/**
 * Applies a batch to each projection, as the runner does: the events its filter takes, up to
 * its own `until` position (verify stops each at its live checkpoint).
 */
function applyAll(
  projections: readonly SqliteProjection[],
  events: readonly RecordedEvent[],
  until?: readonly number[],
): void {
  projections.forEach((projection, i) => {
    const last = until?.[i] ?? Number.MAX_SAFE_INTEGER;
    for (const event of events) {
      if (event.position <= last && matchesFilter(event, projection.filter)) {
        projection.apply(event);
      }
    }
  });
}

/** The table's primary-key column (every read-model table has a single-column one). */
function primaryKey(db: Database.Database, table: string): string {
  const columns = db
    .prepare<[], { name: string; pk: number }>(`PRAGMA table_info(${table})`)
    .all()
    .filter((c) => c.pk > 0);
  if (columns.length !== 1) throw new Error(`Table ${table} has no single-column primary key`);
  return columns[0].name;
}

function sortedRows(
  db: Database.Database,
  table: string,
  key: string,
): IterableIterator<Record<string, unknown>> {
  return db
    .prepare<[], Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ${key}`)
    .iterate();
}

function* countingRows(
  db: Database.Database,
  table: string,
  key: string,
  onRow: () => void,
): Generator<Record<string, unknown>> {
  for (const row of sortedRows(db, table, key)) {
    onRow();
    yield row;
  }
}
