import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { holderIsGone, newOwnerId } from '../../common/process-owner';
import { EventFilter, combinedFilter, matchesFilter } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { TableNames } from '../../projections/sqlite/schema';
import { SqliteCheckpoints } from '../../projections/sqlite/sqlite-checkpoints';
import { SqliteProjection, applyTo } from '../../projections/sqlite/sqlite-projection';
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
/** Page cache during a replay: 64 MiB (negative: KiB). */
const BULK_CACHE_KIB = -65_536;
/** WAL pages between automatic checkpoints during a replay (64 MiB of 4 KiB pages). */
const BULK_AUTOCHECKPOINT_PAGES = 16_384;
/** Rows deleted per transaction when the replaced tables are removed. */
const DROP_CHUNK = 5_000;
const SHADOW_INFIX = '__replay_';
const OLD_INFIX = '__old_';

const LOCK_SCHEMA = `
  CREATE TABLE IF NOT EXISTS read_model_replay (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    until INTEGER NOT NULL
  )
`;

/**
 * How long the replay lock lasts without being renewed (every batch renews it). A replay killed
 * on another host, in another container, or under a pid that is ours now, cannot be seen to be
 * gone: its lock is taken over once this has passed.
 */
const LOCK_LEASE_MS = 60_000;

interface ReplayLock {
  /** Extends the lease; fails if another replay has taken the lock over meanwhile. */
  renew(): void;
  release(): void;
}

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
    /** Bytes free on the disk holding the database file (a test's stand-in for a full disk). */
    private readonly freeDiskBytes: (file: string) => number = freeBytesBeside,
  ) {}

  async replay(onProgress: ProgressListener): Promise<ReplaySummary> {
    const lock = this.lock();
    const restore = this.bulkSettings();
    try {
      this.dropLeftovers(lock);
      this.checkDiskSpace();
      // The rebuild proper: the checks before it read the whole read models once (dbstat).
      const started = Date.now();
      const live = this.live;
      const suffix = `${SHADOW_INFIX}${Date.now().toString(36)}`;
      const shadow = this.db
        .transaction(() => createSqliteReadModels(this.db, undefined, new TableNames(suffix)).all)
        .immediate();
      const checkpoints = new SqliteCheckpoints(this.db);
      const log = new LogCursor(this.store, shadow, this.batchSize);
      // The bulk of the log, a batch per transaction, up to the head as it moves.
      for (;;) {
        const head = this.store.headPositionSync();
        if (head - log.position <= this.batchSize) break;
        this.db
          .transaction(() => {
            lock.renew();
            log.applyNext(head);
          })
          .immediate();
        onProgress({ applied: log.position, total: head });
      }
      // The rest and the switch, under the write lock: nothing is appended meanwhile.
      const oldSuffix = suffix.replace(SHADOW_INFIX, OLD_INFIX);
      this.db
        .transaction(() => {
          lock.renew();
          const head = this.store.headPositionSync();
          while (log.position < head) log.applyNext(head);
          live.forEach((projection, i) => {
            projection.tables.forEach((table, j) => {
              this.db.exec(`ALTER TABLE ${table} RENAME TO ${table}${oldSuffix}`);
              this.db.exec(`ALTER TABLE ${shadow[i].tables[j]} RENAME TO ${table}`);
            });
            checkpoints.set(projection.name, head);
          });
        })
        .immediate();
      const position = log.position;
      onProgress({ applied: position, total: position });
      const switched = Date.now();
      const rows = this.countRows(live);
      for (const table of live.flatMap((p) => p.tables)) {
        this.dropTable(`${table}${oldSuffix}`, lock);
      }
      return {
        events: position,
        position,
        rows,
        rebuildMs: switched - started,
        cleanupMs: Date.now() - switched,
      };
    } finally {
      restore();
      lock.release();
    }
  }

  /**
   * For the length of a replay, on its own connection: a page cache that holds the shadow
   * tables' hot index pages (the default 2 MB thrashes once they grow), and a WAL copied into
   * the file every 64 MB rather than every 4 MB (each copy ends with an fsync). About 25% faster
   * on a 200,000-event log; the service's connection keeps its own settings.
   */
  private bulkSettings(): () => void {
    const cache = this.db.pragma('cache_size', { simple: true }) as number;
    const auto = this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
    this.db.pragma(`cache_size = ${BULK_CACHE_KIB}`);
    this.db.pragma(`wal_autocheckpoint = ${BULK_AUTOCHECKPOINT_PAGES}`);
    return () => {
      this.db.pragma(`cache_size = ${cache}`);
      this.db.pragma(`wal_autocheckpoint = ${auto}`);
    };
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
        const log = new LogCursor(this.store, rebuilt, this.batchSize, targets);
        while (log.position < position) {
          scratch.transaction(() => log.applyNext(position))();
          onProgress({ applied: log.position, total: position });
        }
        onProgress({ applied: position, total: position });
        let differences = 0;
        const rows: Record<string, number> = {};
        live.forEach((projection, i) => {
          projection.tables.forEach((table, j) => {
            const key = primaryKey(this.db, table);
            let count = 0;
            const columns = comparedColumns(this.db, table, projection.unprojectedColumns ?? []);
            const liveRows = countingRows(this.db, table, key, columns, () => count++);
            for (const difference of diffSortedRows(
              table,
              key,
              liveRows,
              sortedRows(scratch, rebuilt[i].tables[j], key, columns),
            )) {
              differences++;
              onDifference(difference);
            }
            rows[table] = count;
          });
        });
        return { events: position, position, rows, differences };
      } finally {
        this.db.exec('ROLLBACK');
      }
    } finally {
      scratch.close();
      rmSync(scratchDir, { recursive: true, force: true });
    }
  }

  /**
   * Refuses to start when the new read models, built beside the live ones, would not fit: they
   * take about as much as the live ones (measured with dbstat), plus the WAL between checkpoints.
   * Pages the file has free are reused first.
   */
  private checkDiskSpace(): void {
    const tables = this.live.flatMap((p) => p.tables);
    const names = this.db
      .prepare<unknown[], { name: string }>(
        `SELECT name FROM sqlite_schema WHERE tbl_name IN (${tables.map(() => '?').join(', ')})`,
      )
      .all(...tables)
      .map((r) => r.name);
    const used = this.db
      .prepare<unknown[], { bytes: number | null }>(
        `SELECT SUM(pgsize) AS bytes FROM dbstat
         WHERE aggregate = TRUE AND name IN (${names.map(() => '?').join(', ')})`,
      )
      .get(...names)!.bytes;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const reusable = (this.db.pragma('freelist_count', { simple: true }) as number) * pageSize;
    const needed = (used ?? 0) + BULK_AUTOCHECKPOINT_PAGES * pageSize;
    const available = this.freeDiskBytes(this.db.name) + reusable;
    if (needed > available) {
      throw new Error(
        `Not enough disk space for a replay: the new read models need about ${mb(needed)} MB ` +
          `beside the live ones, and ${mb(available)} MB are free for ${this.db.name}`,
      );
    }
  }

  /**
   * Takes the file's replay lock, or fails naming the replay that holds it. A holder counts as
   * gone once its lease has run out, at once if its process is seen to be gone on this host, and
   * if it recorded our own pid (a process before us in a container, which had that pid too).
   */
  private lock(): ReplayLock {
    const owner = newOwnerId();
    const now = Date.now();
    this.db
      .transaction(() => {
        this.db.exec(LOCK_SCHEMA);
        const holder = this.db
          .prepare<[], { owner: string; pid: number; started_at: string; until: number }>(
            'SELECT owner, pid, started_at, until FROM read_model_replay WHERE id = 1',
          )
          .get();
        const gone =
          !holder ||
          holder.until <= now ||
          holder.pid === process.pid ||
          holderIsGone(holder.owner, holder.pid);
        if (!gone) {
          throw new Error(
            `Another replay is running on this data directory (pid ${holder.pid}, started ` +
              `${holder.started_at}; taken over if it has not renewed its lock by ` +
              `${new Date(holder.until).toISOString()})`,
          );
        }
        this.db
          .prepare(
            `INSERT INTO read_model_replay (id, owner, pid, started_at, until) VALUES (1, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid,
               started_at = excluded.started_at, until = excluded.until`,
          )
          .run(owner, process.pid, new Date(now).toISOString(), now + LOCK_LEASE_MS);
      })
      .immediate();
    const renew = this.db.prepare('UPDATE read_model_replay SET until = ? WHERE owner = ?');
    return {
      renew: () => {
        if (renew.run(Date.now() + LOCK_LEASE_MS, owner).changes === 0) {
          throw new Error('Replay stopped: another replay took its lock over (it ran too slowly)');
        }
      },
      release: () => {
        this.db.prepare('DELETE FROM read_model_replay WHERE owner = ?').run(owner);
      },
    };
  }

  /** Tables of a replay that did not finish (shadow copies) or did not clean up (old ones). */
  private dropLeftovers(lock: ReplayLock): void {
    const leftovers = this.db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_schema WHERE type = 'table'
           AND (name GLOB '*${SHADOW_INFIX}*' OR name GLOB '*${OLD_INFIX}*')`,
      )
      .all();
    for (const { name } of leftovers) this.dropTable(name, lock);
  }

  /**
   * Empties a table a chunk per transaction, then drops it. A single DROP frees every page in one
   * transaction, and must read each one first: with the file out of the OS cache that held the
   * write lock, so a running service's appends, for 12 s after a 1,000,000-event replay, longer
   * than its 10 s busy timeout. A chunk holds it for a fraction of a second at worst.
   */
  private dropTable(table: string, lock: ReplayLock): void {
    const deleteChunk = this.db.prepare(
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} LIMIT ${DROP_CHUNK})`,
    );
    const chunk = this.db.transaction(() => {
      lock.renew();
      return deleteChunk.run().changes;
    });
    while (chunk.immediate() > 0) {
      // until empty
    }
    this.db.exec(`DROP TABLE ${table}`);
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
 * Reads the log forward from position 0 and applies it to a set of projections, as the runner
 * does: each projection gets the events its filter takes, up to its own `until` position
 * (verify stops each at its live checkpoint). Events no projection takes (the publications)
 * are skipped by the store without being parsed.
 */
class LogCursor {
  /** Every event up to here has been applied. */
  position = 0;
  private readonly filter: EventFilter | undefined;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly projections: readonly SqliteProjection[],
    private readonly batchSize: number,
    private readonly until?: readonly number[],
  ) {
    this.filter = combinedFilter(projections.map((p) => p.filter));
  }

  /** Applies the next batch of events up to `head`, in the caller's transaction. */
  applyNext(head: number): void {
    const read = this.store.readAllSync({
      fromPosition: this.position,
      maxCount: this.batchSize,
      filter: this.filter,
    });
    const batch = read.filter((e) => e.position <= head);
    this.projections.forEach((projection, i) => {
      const last = this.until?.[i] ?? head;
      applyTo(
        projection,
        batch.filter((e) => e.position <= last && matchesFilter(e, projection.filter)),
      );
    });
    // A full page that ends before the head: more may follow. Otherwise all up to it is done.
    const full = read.length === this.batchSize && read[read.length - 1].position < head;
    this.position = full ? read[read.length - 1].position : head;
  }
}

/** Bytes free for an unprivileged writer on the filesystem holding `file`. */
function freeBytesBeside(file: string): number {
  const stats = statfsSync(dirname(file));
  return stats.bavail * stats.bsize;
}

function mb(bytes: number): string {
  return Math.ceil(bytes / 1_048_576).toLocaleString('en-US');
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

/** The live table's columns that a rebuild reproduces (all but the projection's exceptions). */
function comparedColumns(db: Database.Database, table: string, skip: readonly string[]): string[] {
  return db
    .prepare<[], { name: string }>(`PRAGMA table_info(${table})`)
    .all()
    .map((c) => c.name)
    .filter((name) => !skip.includes(name));
}

function sortedRows(
  db: Database.Database,
  table: string,
  key: string,
  columns: readonly string[],
): IterableIterator<Record<string, unknown>> {
  return db
    .prepare<[], Record<string, unknown>>(
      `SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${key}`,
    )
    .iterate();
}

function* countingRows(
  db: Database.Database,
  table: string,
  key: string,
  columns: readonly string[],
  onRow: () => void,
): Generator<Record<string, unknown>> {
  for (const row of sortedRows(db, table, key, columns)) {
    onRow();
    yield row;
  }
}
