import { pbkdf2 } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteDatabase, openSqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event-store';
import { WalSync } from './wal-sync';

describe('WalSync', () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-wal-sync-'));
    db = openSqliteDatabase(dir);
    // A commit, so that the WAL file exists.
    db.exec('CREATE TABLE noted (n INTEGER)');
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settled = () => new Promise((resolve) => setImmediate(resolve));

  it('is busy while a sync runs, and says so when it ends with no commit waiting', async () => {
    const idle = jest.fn();
    const sync = new WalSync(db.name, idle);
    expect(sync.busy).toBe(false);
    const first = sync.afterCommit();
    expect(sync.busy).toBe(true);
    // Committed during the first sync: covered by a second one, started when the first ends.
    const second = sync.afterCommit();
    await first;
    expect(idle).not.toHaveBeenCalled();
    await second;
    await settled();
    expect(sync.busy).toBe(false);
    expect(idle).toHaveBeenCalledTimes(1);
    await sync.close();
  });

  it('stays busy through the idle work it is given, runs it once per idle moment, then says it is idle', async () => {
    const idle = jest.fn();
    let finish!: () => void;
    const idleWork = jest.fn((): Promise<void> | undefined => undefined);
    idleWork.mockReturnValueOnce(new Promise<void>((resolve) => (finish = resolve)));
    const sync = new WalSync(db.name, idle, idleWork);
    await sync.afterCommit();
    await settled();
    expect(idleWork).toHaveBeenCalledTimes(1);
    // The work holds the gate: a commit made meanwhile waits for it, then for its own sync.
    expect(sync.busy).toBe(true);
    expect(idle).not.toHaveBeenCalled();
    let synced = false;
    const during = sync.afterCommit().then(() => (synced = true));
    await settled();
    expect(synced).toBe(false);
    finish();
    await during;
    await settled();
    // Idle once more after that sync: asked again, there is no work this time.
    expect(sync.busy).toBe(false);
    expect(idleWork).toHaveBeenCalledTimes(2);
    expect(idle).toHaveBeenCalledTimes(1);
    await sync.close();
  });

  it('lets the event store write appends made during a sync in one commit after it', async () => {
    const store = new SqliteEventStore(db);
    const commits: number[] = [];
    store.setCommitHook({ apply: (events) => commits.push(events.length), committed: () => {} });
    // Keep libuv's thread pool busy for a while, so the first append's sync (an fdatasync on that
    // pool) is still under way while the next appends are made, one per turn of the event loop.
    const poolBusy = Array.from({ length: 4 }, () =>
      promisify(pbkdf2)('x', 'salt', 200_000, 32, 'sha256'),
    );
    const first = store.append('deferred-0', [{ type: 'Noted', data: {} }], 'no_stream');
    await settled();
    const later: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 5; i++) {
      later.push(store.append(`deferred-${i}`, [{ type: 'Noted', data: { i } }], 'no_stream'));
      await settled();
    }
    await Promise.all([first, ...later, ...poolBusy]);
    // Without waiting for the sync, each of the five would have been a commit of its own.
    expect(commits).toEqual([1, 5]);
    await store.close();
  });
});
