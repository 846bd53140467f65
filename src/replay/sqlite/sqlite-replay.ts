import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setImmediate, setTimeout as delay } from 'node:timers/promises';
import { holderIsGone, newOwnerId } from '../../common/process-owner';
import { SqliteLogPages } from '../../eventstore/sqlite/log-pages';
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
  ReplayOptions,
  ReplaySummary,
  VerifySummary,
} from '../read-model-replay';
import { diffSortedRows } from '../row-diff';
import { LogCursor } from './log-cursor';
import { buildPartitionBeside, openScratchDatabase, removeScratch } from './partition-build';

/** Events per transaction while rebuilding: a service on the same file appends between them. */
const BATCH_SIZE = 5_000;
/** Page cache during a replay: 64 MiB (negative: KiB). */
const BULK_CACHE_KIB = -65_536;
/** WAL pages between automatic checkpoints during a replay (64 MiB of 4 KiB pages). */
const BULK_AUTOCHECKPOINT_PAGES = 16_384;
/** Rows deleted per transaction when the replaced tables are removed. */
const DROP_CHUNK = 5_000;
/**
 * Longest log whose replay makes the secondary indexes at the end. Making one takes about 1.5 s
 * per 1,000,000 events on a 2-core VM (the covering list indexes of the deliveries), so up to
 * here each holds the write lock for a few seconds at most.
 */
const DEFER_INDEXES_UP_TO = 2_000_000;
/** Rows copied per transaction from the half of a replay built on the worker thread. */
const COPY_CHUNK = 20_000;
/** While waiting for the worker thread: how often progress is shown and the lock renewed. */
const WAIT_REPORT_MS = 1_000;
const DEFAULT_THREADS = Math.min(2, availableParallelism());
const SHADOW_INFIX = '__replay_';
/** The worker thread's scratch file: the database file's name, this, an id. */
const SCRATCH_INFIX = '.replay-scratch-';
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

export interface SqliteReplayOptions {
  /** Events per transaction (default 5,000). */
  batchSize?: number;
  /** Bytes free on the disk holding the database file (a test's stand-in for a full disk). */
  freeDiskBytes?: (file: string) => number;
  /** Longest log (events) whose replay makes the secondary indexes at the end. */
  deferIndexesUpTo?: number;
}

interface ReplayLock {
  /**
   * Runs `work` in a write transaction of its own (IMMEDIATE), the lease extended first; fails if
   * another replay has taken the lock over meanwhile.
   */
  hold<T>(work: () => T): T;
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
  private readonly batchSize: number;
  private readonly freeDiskBytes: (file: string) => number;
  private readonly deferIndexesUpTo: number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly store: SqliteEventStore,
    /** The live read models, in the runner's order. */
    private readonly live: readonly SqliteProjection[],
    options: SqliteReplayOptions = {},
  ) {
    this.batchSize = options.batchSize ?? BATCH_SIZE;
    this.freeDiskBytes = options.freeDiskBytes ?? freeBytesBeside;
    this.deferIndexesUpTo = options.deferIndexesUpTo ?? DEFER_INDEXES_UP_TO;
  }

  async replay(onProgress: ProgressListener, options: ReplayOptions = {}): Promise<ReplaySummary> {
    const threads = options.threads ?? DEFAULT_THREADS;
    const lock = this.lock();
    const restore = this.bulkSettings(threads);
    try {
      this.dropLeftovers(lock);
      this.checkDiskSpace(threads);
      // The rebuild proper: the checks before it read the whole read models once (dbstat).
      const started = Date.now();
      const live = this.live;
      const suffix = `${SHADOW_INFIX}${Date.now().toString(36)}`;
      // Secondary indexes are made once the bulk of the log is in: a sort each, much cheaper
      // than keeping them up to date row by row. But each sort holds the file's write lock: past
      // a size, a running service would wait longer than it does (10 s), so a log that long is
      // applied to indexed tables.
      const names = new TableNames(suffix, this.store.headPositionSync() <= this.deferIndexesUpTo);
      const shadow = this.db
        .transaction(() => createSqliteReadModels(this.db, undefined, names).all)
        .immediate();
      const checkpoints = new SqliteCheckpoints(this.db);
      const pages = new SqliteLogPages(this.db);
      const parts =
        threads > 1
          ? await this.applyInTwoParts(shadow, pages, lock, onProgress)
          : { until: 0, threadsUsed: 1 };
      const from = parts.until;
      const log = new LogCursor(pages, shadow, this.batchSize, { from });
      const applyNext = (head: number) => lock.hold(() => log.applyNext(head));
      // The bulk of the log (or what was appended while it was built in two parts), a batch per
      // transaction, up to the head as it moves.
      for (;;) {
        const head = this.store.headPositionSync();
        if (head - log.position <= this.batchSize) break;
        applyNext(head);
        onProgress({ applied: log.position, total: head });
      }
      names.createDeferredIndexes(this.db, (index, create) => {
        onProgress({
          applied: log.position,
          total: this.store.headPositionSync(),
          stage: `indexing: ${index}`,
        });
        lock.hold(create);
      });
      // Appended while the indexes were made: applied to them row by row, outside the switch.
      while (this.store.headPositionSync() - log.position > this.batchSize) {
        applyNext(this.store.headPositionSync());
      }
      // The rest and the switch, under the write lock: nothing is appended meanwhile.
      const oldSuffix = suffix.replace(SHADOW_INFIX, OLD_INFIX);
      lock.hold(() => {
        const head = this.store.headPositionSync();
        while (log.position < head) log.applyNext(head);
        live.forEach((projection, i) => {
          projection.tables.forEach((table, j) => {
            this.db.exec(`ALTER TABLE ${table} RENAME TO ${table}${oldSuffix}`);
            this.db.exec(`ALTER TABLE ${shadow[i].tables[j]} RENAME TO ${table}`);
          });
          checkpoints.set(projection.name, head);
        });
      });
      const position = log.position;
      onProgress({ applied: position, total: position });
      const switched = Date.now();
      const rows = this.countRows(live);
      // Dropping an index is a sort's worth of pages read under the write lock too: only for
      // the logs whose indexes were made that way.
      const indexesFirst = position <= this.deferIndexesUpTo;
      for (const table of live.flatMap((p) => p.tables)) {
        this.dropTable(`${table}${oldSuffix}`, lock, indexesFirst);
      }
      return {
        events: position,
        position,
        rows,
        rebuildMs: switched - started,
        cleanupMs: Date.now() - switched,
        threads: parts.threadsUsed,
      };
    } finally {
      restore();
      lock.release();
    }
  }

  /**
   * Applies the log up to its current head in two halves by stream (see StreamPartition), side
   * by side: one on this thread, straight into the shadow tables; the other on a worker thread,
   * into a scratch file beside the database, whose rows are then copied into the shadow tables.
   * Returns the position both reached, and the threads that ran.
   */
  private async applyInTwoParts(
    shadow: readonly SqliteProjection[],
    pages: SqliteLogPages,
    lock: ReplayLock,
    onProgress: ProgressListener,
  ): Promise<{ until: number; threadsUsed: number }> {
    const until = this.store.headPositionSync();
    if (until === 0) return { until, threadsUsed: 1 };
    const scratchFile = `${this.db.name}${SCRATCH_INFIX}${Date.now().toString(36)}`;
    const other = buildPartitionBeside({
      databaseFile: this.db.name,
      scratchFile,
      until,
      partition: { of: 2, index: 1 },
      batchSize: this.batchSize,
    });
    try {
      const own = new LogCursor(pages, shadow, this.batchSize, { partition: { of: 2, index: 0 } });
      const applyNext = () => lock.hold(() => own.applyNext(until));
      const report = () =>
        onProgress({
          applied: Math.floor((own.position + other.progress.position) / 2),
          total: until,
        });
      while (own.position < until) {
        if (other.progress.failure) throw other.progress.failure;
        applyNext();
        report();
        // Lets the worker's progress reports in.
        await setImmediate();
      }
      for (let finished = false; !finished;) {
        finished = await Promise.race([other.done.then(() => true), delay(WAIT_REPORT_MS, false)]);
        lock.hold(() => undefined); // renews the lease
        report();
      }
      onProgress({ applied: until, total: until, stage: "copying in the second thread's half" });
      this.copyScratch(scratchFile, shadow, lock);
      return { until, threadsUsed: other.onWorkerThread ? 2 : 1 };
    } finally {
      await other.stop();
      removeScratch(scratchFile);
    }
  }

  /**
   * Copies every row of the scratch file's read-model tables into the shadow tables (the same
   * tables under their plain names), a chunk per transaction: a service appending meanwhile
   * waits for one chunk at most. Both halves hold disjoint streams, so no key is in both.
   */
  private copyScratch(file: string, shadow: readonly SqliteProjection[], lock: ReplayLock): void {
    this.db.prepare('ATTACH DATABASE ? AS replay_scratch').run(file);
    try {
      this.live.forEach((projection, i) => {
        projection.tables.forEach((table, j) => {
          const columns = this.db
            .prepare<[], { name: string }>(`PRAGMA replay_scratch.table_info(${table})`)
            .all()
            .map((c) => c.name)
            .join(', ');
          const boundary = this.db
            .prepare<[number], number>(
              `SELECT rowid FROM replay_scratch.${table} WHERE rowid > ?
               ORDER BY rowid LIMIT 1 OFFSET ${COPY_CHUNK - 1}`,
            )
            .pluck();
          const copy = this.db.prepare<[number, number]>(
            `INSERT INTO main.${shadow[i].tables[j]} (${columns})
             SELECT ${columns} FROM replay_scratch.${table} WHERE rowid > ? AND rowid <= ?
             ORDER BY rowid`,
          );
          const chunk = (after: number) =>
            lock.hold(() => {
              const last = boundary.get(after) ?? Number.MAX_SAFE_INTEGER;
              copy.run(after, last);
              return last;
            });
          for (let after = 0; after < Number.MAX_SAFE_INTEGER;) after = chunk(after);
        });
      });
    } finally {
      this.db.exec('DETACH DATABASE replay_scratch');
    }
  }

  /**
   * For the length of a replay, on its own connection: a page cache that holds the shadow
   * tables' hot pages (the default 2 MB thrashes once they grow); a WAL copied into the file
   * every 64 MB rather than every 4 MB (each copy ends with an fsync); and, on two threads, a
   * helper thread for the sorts that make the indexes. The service's connection keeps its own
   * settings. (No memory map for the log: it reads a little faster, but every page read counts
   * in the process's resident memory, gigabytes for a big log.)
   */
  private bulkSettings(threads: number): () => void {
    const names = ['cache_size', 'wal_autocheckpoint', 'threads'];
    const before = names.map((name) => this.db.pragma(name, { simple: true }) as number);
    this.db.pragma(`cache_size = ${BULK_CACHE_KIB}`);
    this.db.pragma(`wal_autocheckpoint = ${BULK_AUTOCHECKPOINT_PAGES}`);
    this.db.pragma(`threads = ${threads - 1}`);
    return () => names.forEach((name, i) => this.db.pragma(`${name} = ${before[i]}`));
  }

  async verify(
    onProgress: ProgressListener,
    onDifference: (difference: Difference) => void,
  ): Promise<VerifySummary> {
    const scratchDir = mkdtempSync(join(tmpdir(), 'rapidly-verify-'));
    const scratch = openScratchDatabase(join(scratchDir, 'read-models.db'));
    try {
      // No secondary indexes: the comparison reads each table in primary-key order, and nothing
      // else queries the scratch file.
      const rebuilt = createSqliteReadModels(scratch, undefined, new TableNames('', true)).all;
      const live = this.live;
      const checkpoints = new SqliteCheckpoints(this.db);
      this.db.exec('BEGIN');
      try {
        const targets = live.map((p) => checkpoints.get(p.name));
        const position = Math.max(0, ...targets);
        const log = new LogCursor(new SqliteLogPages(this.db), rebuilt, this.batchSize, {
          until: targets,
        });
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
   * take about as much as the live ones (measured with dbstat), plus the WAL between checkpoints
   * (or the largest index, made in one transaction), plus (on two threads) the scratch file of the
   * half built apart, on the same disk. Pages the file has free are reused first.
   */
  private checkDiskSpace(threads: number): void {
    const tables = this.live.flatMap((p) => p.tables);
    const objects = this.db
      .prepare<unknown[], { name: string; type: string }>(
        `SELECT name, type FROM sqlite_schema
         WHERE tbl_name IN (${tables.map(() => '?').join(', ')})`,
      )
      .all(...tables);
    const sizes = this.db
      .prepare<unknown[], { name: string; bytes: number }>(
        `SELECT name, SUM(pgsize) AS bytes FROM dbstat
         WHERE aggregate = TRUE AND name IN (${objects.map(() => '?').join(', ')}) GROUP BY name`,
      )
      .all(...objects.map((o) => o.name));
    const used = sizes.reduce((sum, s) => sum + s.bytes, 0);
    const indexes = new Set(objects.filter((o) => o.type === 'index').map((o) => o.name));
    const largestIndex = Math.max(
      0,
      ...sizes.filter((s) => indexes.has(s.name)).map((s) => s.bytes),
    );
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const reusable = (this.db.pragma('freelist_count', { simple: true }) as number) * pageSize;
    // The WAL between checkpoints; an index made at the end is written to it in one transaction.
    const wal = Math.max(BULK_AUTOCHECKPOINT_PAGES * pageSize, largestIndex);
    const needed = used * (threads > 1 ? 1.5 : 1) + wal;
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
    const extend = () => {
      if (renew.run(Date.now() + LOCK_LEASE_MS, owner).changes === 0) {
        throw new Error('Replay stopped: another replay took its lock over (it ran too slowly)');
      }
    };
    return {
      hold: (work) =>
        this.db
          .transaction(() => {
            extend();
            return work();
          })
          .immediate(),
      release: () => {
        this.db.prepare('DELETE FROM read_model_replay WHERE owner = ?').run(owner);
      },
    };
  }

  /**
   * Tables of a replay that did not finish (shadow copies) or did not clean up (old ones), and
   * the scratch file of one killed while building on two threads.
   */
  private dropLeftovers(lock: ReplayLock): void {
    const leftovers = this.db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_schema WHERE type = 'table'
           AND (name GLOB '*${SHADOW_INFIX}*' OR name GLOB '*${OLD_INFIX}*')`,
      )
      .all();
    for (const { name } of leftovers) this.dropTable(name, lock, false);
    const prefix = `${basename(this.db.name)}${SCRATCH_INFIX}`;
    for (const file of readdirSync(dirname(this.db.name))) {
      if (file.startsWith(prefix)) rmSync(join(dirname(this.db.name), file), { force: true });
    }
  }

  /**
   * Empties a table a chunk per transaction, then drops it. A single DROP frees every page in one
   * transaction, and must read each one first: with the file out of the OS cache that held the
   * write lock, so a running service's appends, for 12 s after a 1,000,000-event replay, longer
   * than its 10 s busy timeout. A chunk holds it for a fraction of a second at worst. With
   * `indexesFirst`, the table's secondary indexes are dropped first, each in a transaction of its
   * own (about 0.2 s for the largest at 1,000,000 events): the chunks then have no index entries
   * to delete, and the whole takes less than half as long.
   */
  private dropTable(table: string, lock: ReplayLock, indexesFirst: boolean): void {
    if (indexesFirst) {
      const indexes = this.db
        .prepare<[string], string>(
          "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        )
        .pluck()
        .all(table);
      for (const index of indexes) lock.hold(() => this.db.exec(`DROP INDEX ${index}`));
    }
    const deleteChunk = this.db.prepare(
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} LIMIT ${DROP_CHUNK})`,
    );
    while (lock.hold(() => deleteChunk.run().changes) > 0) {
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
