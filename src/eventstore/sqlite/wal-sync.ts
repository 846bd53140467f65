import { closeSync, fdatasync, fsync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Makes commits durable off the event loop. The connection commits with `synchronous = NORMAL`
 * (WAL frames written, not synced); `afterCommit()` then resolves once an fdatasync of the WAL
 * file, run on libuv's thread pool, has covered every commit made before the call. One sync
 * serves every commit that queued while the previous one ran (group commit), and the event loop
 * never blocks on the disk. A failed sync fails its waiters and every later call: after an
 * fsync error the kernel may have dropped the data, so nothing more may be acknowledged.
 */
export class WalSync {
  private fd: number | undefined;
  private running: Promise<void> | undefined;
  private waiting: Waiter[] = [];
  private failure: unknown;

  /**
   * `databaseFile` null: an in-memory database, nothing to sync. `onIdle` is called whenever a
   * sync ends with no commit waiting for the next one. Before that, `idleWork` may start work
   * that needs every commit synced and none made meanwhile: `busy` holds until it settles.
   */
  constructor(
    private readonly databaseFile: string | null,
    private readonly onIdle: () => void = () => undefined,
    private readonly idleWork: () => Promise<void> | undefined = () => undefined,
  ) {}

  /** A sync is under way: a commit made now is covered only by the one after it. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  afterCommit(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failed());
    if (this.databaseFile === null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.next();
    });
  }

  /** Waits for the syncs under way, then releases the file. */
  async close(): Promise<void> {
    while (this.running) await this.running;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private next(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.running = this.sync()
      .then(
        () => batch.forEach((w) => w.resolve()),
        (error: unknown) => {
          this.failure = error;
          const failed = this.failed();
          for (const w of [...batch, ...this.waiting.splice(0)]) w.reject(failed);
        },
      )
      .finally(() => this.settled());
  }

  private settled(idleWorkDone = false): void {
    this.running = undefined;
    if (this.waiting.length > 0) return this.next();
    const work = idleWorkDone || this.failure !== undefined ? undefined : this.idleWork();
    if (!work) return this.onIdle();
    this.running = work.catch(() => undefined).finally(() => this.settled(true));
  }

  private async sync(): Promise<void> {
    if (this.fd === undefined) {
      // The WAL exists once the connection has committed. Its directory entry is synced once, so
      // a file created since the last sync of the directory survives a power cut too.
      this.fd = openSync(`${this.databaseFile}-wal`, 'r');
      const dir = openSync(dirname(this.databaseFile!), 'r');
      try {
        await fsyncAsync(dir);
      } finally {
        closeSync(dir);
      }
    }
    await fdatasyncAsync(this.fd);
  }

  private failed(): Error {
    return new Error(
      `Writing to the database file failed, restart the service: ${String(this.failure)}`,
    );
  }
}
