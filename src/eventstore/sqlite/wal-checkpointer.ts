import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { settledWithin } from '../../common/promises';
import { SqliteDatabase } from './sqlite-database';

/** SQLite's own default: the connection checkpoints every time the WAL reaches this many pages. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/**
 * While the worker runs, the connection checkpoints by itself only past this many pages (64 MB
 * of 4 KiB pages): a safety net should the worker fall behind, never the usual path.
 */
const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;
/**
 * How often the worker checkpoints. Short: each checkpoint then writes and fsyncs less at once,
 * so the appends' own WAL fdatasyncs queue behind a smaller burst of disk writes (at 500
 * events/s, the latency runs' p99 was lower with 50 ms than with 200 ms in 4 of 6 paired runs).
 * A checkpoint with nothing to copy writes and syncs nothing.
 */
const DEFAULT_INTERVAL_MS = 50;
/**
 * WAL frames past which the next moment with no commit waiting checkpoints the WAL whole, so the
 * next commit starts it over (16 MiB of 4 KiB pages). Under steady load the periodic checkpoints
 * never catch up with it: a commit lands while each one runs, so the WAL would never start over.
 * It would grow until the connection's own fallback checkpoint (WAL fsync, copy, database fsync)
 * stalled the event loop for tens of milliseconds; and every commit that grows the file makes
 * its fdatasync write the file's size too, which holds the file's lock that the next commit's
 * writes wait for on the event loop.
 */
const RESTART_FRAMES = 4096;
/**
 * The longest commits are held for that checkpoint (a slow disk, a busy CPU): past it they go on,
 * and the WAL just does not start over this time.
 */
const RESTART_HOLD_MS = 100;

export interface CheckpointResult {
  /** 1 when a reader or writer kept the checkpoint from finishing (it resumes next time). */
  busy: number;
  /** Frames in the WAL, and how many of them are now copied into the database file. */
  log: number;
  checkpointed: number;
}

/** `requested`: the checkpoint asked for by a 'now' message, not a periodic one. */
type WorkerMessage = { requested: boolean } & (
  ({ type: 'checkpointed' } & CheckpointResult) | { type: 'failed'; message: string }
);

// Plain CommonJS run by the worker thread (eval: it needs no file of its own next to the compiled
// code, and runs the same under ts-jest). Its own connection: better-sqlite3 is synchronous, so
// the copy of WAL pages into the database file and the two fsyncs around it block this thread,
// not the service's event loop. PASSIVE never waits for, nor blocks, the service's connection.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma('synchronous = NORMAL');
// Background work: on Linux this lowers this thread's priority only, not the event loop's.
try { require('node:os').setPriority(19); } catch {}
const run = (requested) => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpointed', requested, busy: result.busy, log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ type: 'failed', requested, message: String((error && error.message) || error) });
  }
};
const timer = setInterval(() => run(false), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'now') run(true);
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;

/**
 * Checkpoints the WAL (copies committed pages back into the database file, so the WAL can start
 * over) from a worker thread, instead of SQLite doing it inside whichever commit crosses 1,000
 * pages: under load that is several times a second, each time a few milliseconds of copying and
 * two fsyncs on the event loop. With synchronous=NORMAL the worker's connection syncs the WAL
 * before and the database file after each checkpoint, so durability is SQLite's own. If the
 * worker fails, the connection goes back to checkpointing by itself.
 */
export class WalCheckpointer {
  private readonly logger = new Logger('WalCheckpointer');
  private worker: Worker | undefined;
  private stopping: Promise<void> | undefined;
  /** Checkpoints the worker reported, and the last one's figures (for tests and diagnostics). */
  completed = 0;
  last: CheckpointResult | undefined;
  /** Whole-WAL checkpoints asked for by checkpointForRestart (for tests and diagnostics). */
  restarts = 0;
  /** WAL frames at which the next one is due: raised when the WAL did not start over. */
  private restartAt: number;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
    private readonly restartFrames = RESTART_FRAMES,
  ) {
    this.restartAt = restartFrames;
  }

  get running(): boolean {
    return this.worker !== undefined && this.stopping === undefined;
  }

  start(): void {
    if (this.worker || this.db.memory) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Not the process's own flags: a preload given as a relative path (`node -r ./apm.js`)
      // or a profiler flag has no business in this thread, and the former would fail it.
      execArgv: [],
      workerData: {
        driver: require.resolve('better-sqlite3'),
        file: this.db.name,
        busyTimeoutMs: 10_000,
        intervalMs: this.intervalMs,
      },
    });
    worker.unref();
    worker.on('message', (message: WorkerMessage) => this.received(message));
    worker.on('error', (error) => this.fallBack(`the checkpoint worker failed: ${error.message}`));
    worker.on('exit', () => {
      if (this.worker === worker && !this.stopping) this.fallBack('the checkpoint worker exited');
    });
    this.worker = worker;
    this.db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  }

  /**
   * When the WAL has grown past `restartFrames`: a checkpoint of all of it, which resolves once
   * done (never rejects). The event store asks when no commit waits and holds its commits until
   * then; the next commit then starts the WAL over. Undefined when none is due.
   */
  checkpointForRestart(): Promise<void> | undefined {
    if (!this.running || !this.last || this.last.log < this.restartAt) return undefined;
    this.restarts += 1;
    // Should the WAL not start over (another process reading it, a checkpoint cut short), the
    // next one is due once it has grown as much again, not at every idle moment.
    this.restartAt = this.last.log + this.restartFrames;
    return settledWithin(
      this.checkpointNow().catch(() => undefined),
      RESTART_HOLD_MS,
    );
  }

  /** Asks for a checkpoint now and resolves once it has been reported (or the worker is gone). */
  checkpointNow(): Promise<void> {
    if (!this.running) return Promise.reject(new Error('The checkpoint worker is not running'));
    return new Promise((resolve) => {
      this.listeners.add(resolve);
      // Referenced while an answer is awaited: it may be what the process still waits for.
      this.worker!.ref();
      this.worker!.postMessage('now');
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.stopping ??= (async () => {
      const exited = once(worker, 'exit');
      // Referenced while it winds down: an unreferenced worker's exit would not keep us waiting.
      worker.ref();
      worker.postMessage('stop');
      await exited;
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
      this.worker = undefined;
      this.releaseListeners();
    })();
    await this.stopping;
    this.stopping = undefined;
  }

  private received(message: WorkerMessage): void {
    if (message.type === 'failed') {
      // e.g. SQLITE_BUSY past the timeout: the next interval tries again.
      this.logger.warn(`WAL checkpoint failed: ${message.message}`);
    } else {
      const { busy, log, checkpointed } = message;
      this.completed += 1;
      this.last = { busy, log, checkpointed };
      // Fewer frames than at the last restart checkpoint: the WAL started over.
      if (log < this.restartAt - this.restartFrames) this.restartAt = this.restartFrames;
    }
    // A periodic checkpoint may have started before the request: only the requested one counts.
    if (message.requested) this.releaseListeners();
  }

  private releaseListeners(): void {
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
    if (this.worker && !this.stopping) this.worker.unref();
  }

  private fallBack(reason: string): void {
    this.logger.error(`${reason}; the database connection checkpoints by itself again`);
    this.worker = undefined;
    this.releaseListeners();
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}
