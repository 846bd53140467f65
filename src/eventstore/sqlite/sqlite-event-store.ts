import { EventEmitter } from 'node:events';
import type { Statement, Transaction } from 'better-sqlite3';
import {
  AppendResult,
  EventFilter,
  EventHandler,
  EventData,
  EventStore,
  ExpectedRevision,
  NO_STREAM_REVISION,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
  WrongExpectedRevisionError,
  matchesFilter,
  revisionMatches,
} from '../event-store';
import { PAGE_COLUMNS, PageRow, SqliteLogPages, fromPageRow } from './log-pages';
import { SqliteDatabase } from './sqlite-database';
import { WalCheckpointer } from './wal-checkpointer';
import { WalSync } from './wal-sync';

/** Serialised when appended, so a payload that cannot be stored fails its own append only. */
interface SerialisedEvent {
  type: string;
  data: string;
  metadata: string;
}

interface PendingAppend {
  streamId: string;
  events: SerialisedEvent[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** The embedded projection runner applies read models here, atomically with the events. */
export interface CommitHook {
  /**
   * Inside an append's write transaction, with the events it inserted (in position order) and
   * the log's head before them; throwing aborts the whole batch.
   */
  apply(events: readonly RecordedEvent[], headBefore: number): void;
  /** Once that transaction has committed (not yet synced), with its last event's position. */
  committed(head: number): void;
}

/**
 * At most this many recent events are kept in memory for a live subscriber that lags behind; past
 * it, the subscriber reads the log.
 */
const RECENT_EVENTS = 4096;

/** How often a live reader looks for appends made by another process (the CLI). */
const CROSS_PROCESS_POLL_MS = 100;
/**
 * Commits after which a busy store hands WAL checkpoints to a worker thread (WalCheckpointer).
 * Short-lived users (the CLI, most tests) never start one.
 */
const BACKGROUND_CHECKPOINT_AFTER_COMMITS = 256;

export interface SqliteEventStoreOptions {
  /** Commits after which WAL checkpoints move to a worker thread; 0 starts it at once. */
  backgroundCheckpointAfterCommits?: number;
  /** WAL frames past which it is checkpointed whole and started over (tests use a few). */
  walRestartFrames?: number;
}

/**
 * The embedded event store. Appends requested in the same tick of the event loop are written
 * in one transaction (group commit), each still checked against its own expected revision, and
 * each acknowledged only once the commit is durable: the WAL is fsynced off the event loop
 * (WalSync), one sync for every commit made while the previous one ran.
 */
export class SqliteEventStore implements EventStore {
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastSeenHead = 0;
  private readonly walSync: WalSync;
  /** Commits of this process not yet synced: until they are, the table's head is not visible. */
  private unsynced = 0;
  private commitHook: CommitHook | undefined;
  /**
   * Where each live subscription has got to. While there are none (and no hook), appends are not
   * parsed back.
   */
  private readonly readers = new Set<{ position: number }>();
  /**
   * This process's latest durable events that a live subscription has not handled yet, in
   * position order (gaps where others appended). Nothing else is kept: an event held here for
   * long outlives the young generation, and every such event made the old one grow.
   */
  private recent: RecordedEvent[] = [];
  /** Copies the WAL into the database file off the event loop, once the store is busy. */
  readonly checkpointer: WalCheckpointer;
  private readonly checkpointAfter: number;
  private commits = 0;

  /** Plucked: the stream's last revision, or null when it has no events. */
  private readonly currentRevision: Statement<[string], number | null>;
  private readonly insert: Statement<[string, number, string, string, string, string]>;
  /** Revision 0 unless the stream exists: a `no_stream` check and first insert in one statement. */
  private readonly insertFirst: Statement<[string, string, string, string, string]>;
  private readonly writeBatch: Transaction<
    (
      batch: readonly PendingAppend[],
      recordedAt: string,
    ) => {
      outcomes: Array<AppendResult | WrongExpectedRevisionError>;
      recorded: RecordedEvent[] | null;
      head: number;
    }
  >;
  private readonly selectStream: Statement<[string], PageRow>;
  /** Reads of the log forward (readAllSync, subscribers that lag behind). */
  private readonly pages: SqliteLogPages;
  private readonly selectHead: Statement<[], { head: number | null }>;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteEventStoreOptions = {},
  ) {
    this.checkpointer = new WalCheckpointer(db, undefined, options.walRestartFrames);
    this.checkpointAfter =
      options.backgroundCheckpointAfterCommits ?? BACKGROUND_CHECKPOINT_AFTER_COMMITS;
    if (this.checkpointAfter === 0) this.checkpointer.start();
    // The position is the rowid: the largest one plus 1 on insert. No AUTOINCREMENT, whose only
    // difference (never reusing the number of a deleted last row) cannot arise in an append-only
    // table, and which costs a write to sqlite_sequence in every commit. (Files made by earlier
    // versions keep it; they behave the same.)
    db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY,
        stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (stream_id, revision)
      );
    `);
    this.currentRevision = db
      .prepare<[string], number | null>('SELECT MAX(revision) FROM events WHERE stream_id = ?')
      .pluck();
    this.insert = db.prepare(
      'INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // Revisions are dense from 0, so revision 0 exists exactly when the stream does.
    this.insertFirst = db.prepare(
      `INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) VALUES (?, 0, ?, ?, ?, ?)
       ON CONFLICT (stream_id, revision) DO NOTHING`,
    );
    this.writeBatch = db.transaction((batch: readonly PendingAppend[], recordedAt: string) => {
      const headBefore = this.commitHook ? this.headPositionSync() : 0;
      // Last revision of each stream written earlier in this transaction: no query to re-read it.
      const written = new Map<string, number>();
      // Built (parsed back) only for someone to hand them to.
      const recorded: RecordedEvent[] | null = this.commitHook || this.readers.size > 0 ? [] : null;
      const outcomes = batch.map((pending) =>
        this.appendInTransaction(pending, recordedAt, written, recorded),
      );
      const head = recorded?.length ? recorded[recorded.length - 1].position : 0;
      if (this.commitHook && head > 0) this.commitHook.apply(recorded!, headBefore);
      return { outcomes, recorded, head };
    });
    this.selectStream = db
      .prepare<[string], PageRow>(
        `SELECT ${PAGE_COLUMNS} FROM events WHERE stream_id = ? ORDER BY revision`,
      )
      .raw();
    this.pages = new SqliteLogPages(db);
    this.selectHead = db.prepare('SELECT MAX(position) AS head FROM events');
    this.appended.setMaxListeners(0);
    this.lastSeenHead = this.headPositionSync();
    // Appends left waiting for the sync that just ended (see flushWhenReady) are written now;
    // first, when the WAL has grown long, it is checkpointed whole so that they start it over.
    this.walSync = new WalSync(
      db.memory ? null : db.name,
      () => {
        if (this.queue.length > 0 && !this.flushScheduled) void this.flush();
      },
      () => this.checkpointer.checkpointForRestart(),
    );
  }

  /** At most one hook (the embedded projection runner); `undefined` removes it. */
  setCommitHook(hook: CommitHook | undefined): void {
    this.commitHook = hook;
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('Event store is closed'));
    if (events.length === 0) return Promise.reject(new Error('Cannot append zero events'));
    let serialised: SerialisedEvent[];
    try {
      serialised = events.map((e) => ({
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: serialiseMetadata(e.metadata),
      }));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ streamId, events: serialised, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushWhenReady());
      }
    });
  }

  /**
   * Commits the queued appends now, or when the WAL sync under way ends. An append committed
   * during a sync would wait for that sync and then for its own anyway: waiting to commit costs no
   * latency, and everything queued meanwhile shares one commit (fewer, fuller WAL pages written)
   * and one sync.
   */
  private flushWhenReady(): void {
    this.flushScheduled = false;
    if (!this.walSync.busy) void this.flush();
  }

  /**
   * Writes every queued append in one IMMEDIATE transaction; a conflict fails only its append.
   * Answers (conflicts included: they rest on what was read) once the commit is on disk.
   */
  private flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    if (batch.length === 0) return Promise.resolve();
    const recordedAt = new Date().toISOString();
    let written: ReturnType<typeof this.writeBatch>;
    try {
      written = this.writeBatch.immediate(batch, recordedAt);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return Promise.resolve();
    }
    const { outcomes, recorded } = written;
    if (this.commitHook && written.head > 0) this.commitHook.committed(written.head);
    if (++this.commits === this.checkpointAfter) this.checkpointer.start();
    this.unsynced += 1;
    return this.walSync.afterCommit().then(
      () => {
        this.unsynced -= 1;
        if (recorded) this.remember(recorded);
        let head = 0;
        outcomes.forEach((outcome, i) => {
          if (outcome instanceof WrongExpectedRevisionError) {
            batch[i].reject(outcome);
          } else {
            head = Math.max(head, outcome.position);
            batch[i].resolve(outcome);
          }
        });
        if (head > 0) this.notify(head);
      },
      (error: unknown) => {
        this.unsynced -= 1;
        for (const pending of batch) pending.reject(error);
      },
    );
  }

  /** Keeps `events` for the live subscriptions, and drops what all of them have handled. */
  private remember(events: readonly RecordedEvent[]): void {
    if (this.readers.size === 0) {
      this.recent = [];
      return;
    }
    let handled = Number.MAX_SAFE_INTEGER;
    for (const reader of this.readers) handled = Math.min(handled, reader.position);
    let kept = this.recent;
    let first = 0;
    while (first < kept.length && kept[first].position <= handled) first += 1;
    if (first > 0) kept = kept.slice(first);
    kept.push(...events);
    this.recent = kept.length > RECENT_EVENTS ? kept.slice(-RECENT_EVENTS) : kept;
  }

  /** Events (from, to] from memory when all of them are there, in order and without gaps. */
  private recentRange(from: number, to: number): RecordedEvent[] | undefined {
    const recent = this.recent;
    if (recent.length === 0) return undefined;
    const start = from + 1 - recent[0].position;
    const end = to - recent[0].position;
    if (start < 0 || end >= recent.length || start > end) return undefined;
    // Positions strictly increase, so matching ends mean no gap between them.
    if (recent[start].position !== from + 1 || recent[end].position !== to) return undefined;
    return recent.slice(start, end + 1);
  }

  private appendInTransaction(
    { streamId, events, expected }: PendingAppend,
    recordedAt: string,
    written: Map<string, number>,
    recorded: RecordedEvent[] | null,
  ): AppendResult | WrongExpectedRevisionError {
    // Parsed back, so what subscribers and projections see is exactly what a read returns.
    const record = (
      { type, data, metadata }: SerialisedEvent,
      revision: number,
      position: number,
    ) =>
      recorded?.push(fromPageRow([position, streamId, revision, type, data, metadata, recordedAt]));
    let revision = written.get(streamId);
    let position = 0;
    let next = 0;
    if (revision === undefined && expected === 'no_stream') {
      // Fast path for new streams: the insert is the existence check.
      const first = events[0];
      const info = this.insertFirst.run(
        streamId,
        first.type,
        first.data,
        first.metadata,
        recordedAt,
      );
      if (info.changes === 0) {
        const actual = this.currentRevision.get(streamId) ?? NO_STREAM_REVISION;
        return new WrongExpectedRevisionError(streamId, expected, actual);
      }
      revision = 0;
      position = Number(info.lastInsertRowid);
      record(first, 0, position);
      next = 1;
    } else {
      const actual = revision ?? this.currentRevision.get(streamId) ?? NO_STREAM_REVISION;
      if (!revisionMatches(expected, actual)) {
        return new WrongExpectedRevisionError(streamId, expected, actual);
      }
      revision = actual;
    }
    for (let i = next; i < events.length; i++) {
      const event = events[i];
      revision += 1;
      const info = this.insert.run(
        streamId,
        revision,
        event.type,
        event.data,
        event.metadata,
        recordedAt,
      );
      position = Number(info.lastInsertRowid);
      record(event, revision, position);
    }
    written.set(streamId, revision);
    return { nextExpectedRevision: revision, position };
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    return this.selectStream.all(streamId).map(fromPageRow);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.readAllSync(options);
  }

  /**
   * Synchronous read, for callers that must read inside their own transaction (the projection
   * runner commits read models and checkpoint atomically). See SqliteLogPages.read.
   */
  readAllSync({ fromPosition, maxCount, filter }: ReadAllOptions): RecordedEvent[] {
    return this.pages.read(fromPosition, maxCount, filter);
  }

  /** The durable head (see durableHead): what a reader may act on. */
  async headPosition(): Promise<number> {
    return this.durableHead();
  }

  /** The last position in the table, synced or not. */
  headPositionSync(): number {
    return this.selectHead.get()?.head ?? 0;
  }

  /**
   * The head as far as it is known to be on disk: this process's appends count once synced;
   * another process's (the CLI) are taken from the table whenever none of ours is waiting for
   * its sync. Subscriptions and the dispatcher read up to here, so nothing is delivered before
   * it is durable.
   */
  durableHead(): number {
    if (this.unsynced === 0 && !this.closed) this.notify(this.headPositionSync());
    return this.lastSeenHead;
  }

  subscribeToAll(options: SubscribeOptions, handler: EventHandler): Subscription {
    let stopped = false;
    const stopping = new AbortController();
    const reader = { position: options.fromPosition };
    this.readers.add(reader);
    const stop = () => {
      this.readers.delete(reader);
      stopped = true;
      stopping.abort();
    };
    const run = async (): Promise<void> => {
      while (!stopped) {
        const head = this.durableHead();
        if (head > reader.position) {
          await this.deliverRange(reader, head, options.filter, handler, () => stopped);
          continue;
        }
        await this.waitForAppend(reader.position, stopping.signal);
      }
    };
    const done = run().finally(stop);
    return {
      done,
      stop: async () => {
        stop();
        await done.catch(() => undefined);
      },
    };
  }

  /**
   * Hands the events after the reader's position, up to `to`, to the handler in order; the
   * reader's position follows each one handled.
   */
  private async deliverRange(
    reader: { position: number },
    to: number,
    filter: EventFilter | undefined,
    handler: EventHandler,
    isStopped: () => boolean,
  ): Promise<void> {
    const cached = this.recentRange(reader.position, to);
    if (cached) {
      for (const event of cached) {
        if (isStopped()) return;
        if (matchesFilter(event, filter)) await handler(event);
        reader.position = event.position;
      }
      return;
    }
    while (reader.position < to && !isStopped()) {
      const rows = this.pages.page(reader.position);
      if (rows.length === 0) {
        reader.position = to;
        return;
      }
      for (const row of rows) {
        if (isStopped() || row[0] > to) return;
        if (matchesFilter({ streamId: row[1], type: row[3] }, filter)) {
          await handler(fromPageRow(row));
        }
        reader.position = row[0];
      }
    }
  }

  /**
   * Resolves once the log's head is past `position`: at once for appends made by this process,
   * within a poll interval for appends made by another process sharing the file.
   */
  waitForAppend(position: number, signal?: AbortSignal): Promise<void> {
    if (this.lastSeenHead > position || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.appended.off('head', listener);
        signal?.removeEventListener('abort', done);
        this.stopPollingIfIdle();
        resolve();
      };
      const listener = (head: number) => {
        if (head > position) done();
      };
      this.appended.on('head', listener);
      signal?.addEventListener('abort', done);
      this.startPolling();
    });
  }

  private notify(head: number): void {
    if (head <= this.lastSeenHead) return;
    this.lastSeenHead = head;
    this.appended.emit('head', head);
  }

  private startPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => this.durableHead(), CROSS_PROCESS_POLL_MS);
    this.pollTimer.unref();
  }

  private stopPollingIfIdle(): void {
    if (this.appended.listenerCount('head') === 0 && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0) await this.flush();
    await this.walSync.close();
    await this.checkpointer.stop();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    // Release anything still waiting for an append that will never come.
    this.appended.emit('head', Number.MAX_SAFE_INTEGER);
    this.appended.removeAllListeners();
  }
}

function serialiseMetadata(metadata: EventData | undefined): string {
  return metadata === undefined || metadata === null ? '{}' : JSON.stringify(metadata);
}
