import { EventEmitter } from 'node:events';
import type { Statement } from 'better-sqlite3';
import {
  AppendResult,
  EventFilter,
  EventHandler,
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
import { SqliteDatabase } from './sqlite-database';

interface EventRow {
  position: number;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

interface PendingAppend {
  streamId: string;
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

const SUBSCRIPTION_BATCH = 500;
/** How often a live reader looks for appends made by another process (the CLI). */
const CROSS_PROCESS_POLL_MS = 100;

/**
 * The embedded event store. Appends requested in the same tick of the event loop are written
 * in one transaction (group commit): one fsync for many appends, each still checked against
 * its own expected revision, each acknowledged only after the commit is durable.
 */
export class SqliteEventStore implements EventStore {
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastSeenHead = 0;

  private readonly currentRevision: Statement<[string], { revision: number | null }>;
  private readonly insert: Statement<[string, number, string, string, string, string]>;
  private readonly selectStream: Statement<[string], EventRow>;
  private readonly selectAll: Statement<[number, number], EventRow>;
  private readonly selectHead: Statement<[], { head: number | null }>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (stream_id, revision)
      );
    `);
    this.currentRevision = db.prepare(
      'SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?',
    );
    this.insert = db.prepare(
      'INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.selectStream = db.prepare('SELECT * FROM events WHERE stream_id = ? ORDER BY revision');
    this.selectAll = db.prepare(
      'SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?',
    );
    this.selectHead = db.prepare('SELECT MAX(position) AS head FROM events');
    this.appended.setMaxListeners(0);
    this.lastSeenHead = this.headPositionSync();
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('Event store is closed'));
    if (events.length === 0) return Promise.reject(new Error('Cannot append zero events'));
    return new Promise((resolve, reject) => {
      this.queue.push({ streamId, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes every queued append in one IMMEDIATE transaction; a conflict fails only its append. */
  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    const recordedAt = new Date().toISOString();
    let outcomes: Array<AppendResult | WrongExpectedRevisionError>;
    try {
      outcomes = this.db
        .transaction(() => batch.map((pending) => this.appendInTransaction(pending, recordedAt)))
        .immediate();
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
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
  }

  private appendInTransaction(
    { streamId, events, expected }: PendingAppend,
    recordedAt: string,
  ): AppendResult | WrongExpectedRevisionError {
    const actual = this.currentRevision.get(streamId)?.revision ?? NO_STREAM_REVISION;
    if (!revisionMatches(expected, actual)) {
      return new WrongExpectedRevisionError(streamId, expected, actual);
    }
    let revision = actual;
    let position = 0;
    for (const event of events) {
      revision += 1;
      const info = this.insert.run(
        streamId,
        revision,
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata ?? {}),
        recordedAt,
      );
      position = Number(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position };
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    return this.selectStream.all(streamId).map(toRecorded);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.readAllSync(options);
  }

  /**
   * Synchronous read, for callers that must read inside their own transaction (the projection
   * runner commits read models and checkpoint atomically). The filter is applied after the
   * scan, so `maxCount` bounds the rows scanned, not the rows returned.
   */
  readAllSync({ fromPosition, maxCount, filter }: ReadAllOptions): RecordedEvent[] {
    const rows = this.selectAll.all(fromPosition, maxCount).map(toRecorded);
    return filter ? rows.filter((e) => matchesFilter(e, filter)) : rows;
  }

  async headPosition(): Promise<number> {
    return this.headPositionSync();
  }

  headPositionSync(): number {
    return this.selectHead.get()?.head ?? 0;
  }

  subscribeToAll(options: SubscribeOptions, handler: EventHandler): Subscription {
    let stopped = false;
    let wake: (() => void) | undefined;
    const stop = () => {
      stopped = true;
      wake?.();
    };
    const run = async (): Promise<void> => {
      let position = options.fromPosition;
      while (!stopped) {
        const head = this.headPositionSync();
        if (head > position) {
          position = await this.deliverRange(
            position,
            head,
            options.filter,
            handler,
            () => stopped,
          );
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.waitForAppend(position).then(resolve, resolve);
        });
        wake = undefined;
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

  /** Hands events in (from, to] to the handler in order; returns the last position handled. */
  private async deliverRange(
    from: number,
    to: number,
    filter: EventFilter | undefined,
    handler: EventHandler,
    isStopped: () => boolean,
  ): Promise<number> {
    let position = from;
    while (position < to && !isStopped()) {
      const rows = this.selectAll.all(position, SUBSCRIPTION_BATCH);
      if (rows.length === 0) return to;
      for (const row of rows) {
        if (isStopped()) return position;
        const event = toRecorded(row);
        if (matchesFilter(event, filter)) await handler(event);
        position = event.position;
      }
    }
    return position;
  }

  /**
   * Resolves once the log's head is past `position`: at once for appends made by this process,
   * within a poll interval for appends made by another process sharing the file.
   */
  waitForAppend(position: number): Promise<void> {
    if (this.lastSeenHead > position) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (head: number) => {
        if (head > position) {
          this.appended.off('head', listener);
          this.stopPollingIfIdle();
          resolve();
        }
      };
      this.appended.on('head', listener);
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
    this.pollTimer = setInterval(() => this.notify(this.headPositionSync()), CROSS_PROCESS_POLL_MS);
    this.pollTimer.unref();
  }

  private stopPollingIfIdle(): void {
    if (this.appended.listenerCount('head') === 0 && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    // Release anything still waiting for an append that will never come.
    this.appended.emit('head', Number.MAX_SAFE_INTEGER);
    this.appended.removeAllListeners();
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    streamId: row.stream_id,
    revision: row.revision,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    recordedAt: row.recorded_at,
  };
}
