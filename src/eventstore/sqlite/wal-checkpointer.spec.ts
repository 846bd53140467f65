import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASE_FILE, SqliteDatabase, openSqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event-store';

describe('WAL checkpoints in a worker thread', () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-checkpoint-'));
    db = openSqliteDatabase(dir);
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One group commit of `count` appends, each to a new stream. */
  const appendMany = (store: SqliteEventStore, round: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        store.append(
          `checkpointed-${round}-${i}`,
          [{ type: 'Noted', data: { round, i, text: 'x'.repeat(200) } }],
          'no_stream',
        ),
      ),
    );

  it('copies the WAL into the database file from the worker, and every event reads back after re-open', async () => {
    const store = new SqliteEventStore(db, { backgroundCheckpointAfterCommits: 0 });
    expect(store.checkpointer.running).toBe(true);
    // The connection no longer checkpoints at SQLite's default of 1,000 pages.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThan(1000);
    const before = statSync(join(dir, DATABASE_FILE)).size;
    for (let round = 0; round < 5; round++) await appendMany(store, round, 200);

    await store.checkpointer.checkpointNow();
    expect(store.checkpointer.last).toEqual(
      expect.objectContaining({ busy: 0, log: expect.any(Number) }),
    );
    expect(store.checkpointer.last!.checkpointed).toBe(store.checkpointer.last!.log);
    expect(statSync(join(dir, DATABASE_FILE)).size).toBeGreaterThan(before);

    await store.close();
    expect(store.checkpointer.running).toBe(false);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();

    const reopened = openSqliteDatabase(dir);
    const again = new SqliteEventStore(reopened);
    try {
      const log = await again.readAll({ fromPosition: 0, maxCount: 10_000 });
      expect(log.map((e) => `${String(e.data.round)}-${String(e.data.i)}`).sort()).toEqual(
        Array.from({ length: 1000 }, (_, n) => `${Math.floor(n / 200)}-${n % 200}`).sort(),
      );
    } finally {
      await again.close();
      reopened.close();
    }
  });

  it('starts the WAL over under appends that never pause, and every event reads back after re-open', async () => {
    const store = new SqliteEventStore(db, {
      backgroundCheckpointAfterCommits: 0,
      walRestartFrames: 64,
    });
    // Appenders that never pause: whenever a sync ends, the next group commit is waiting, so a
    // periodic checkpoint never finds the WAL fully copied when a commit begins.
    const events = 6000;
    let next = 0;
    const appender = async () => {
      while (next < events) {
        const i = next++;
        await store.append(`restarted-${i}`, [{ type: 'Noted', data: { i } }], 'no_stream');
      }
    };
    await Promise.all(Array.from({ length: 16 }, appender));
    expect(store.checkpointer.restarts).toBeGreaterThan(0);
    // The WAL file keeps the size of its longest stretch between restarts: a few times 64 frames
    // (4 KiB pages; 300-660 in 18 runs here, more when a busy machine cuts restart holds short),
    // where without restarts it would hold every frame written (over 1,500 here).
    const walFrames = statSync(join(dir, `${DATABASE_FILE}-wal`)).size / (4096 + 24);
    expect(walFrames).toBeLessThan(1000);
    await store.close();
    db.close();

    const reopened = openSqliteDatabase(dir);
    const again = new SqliteEventStore(reopened);
    try {
      const log = await again.readAll({ fromPosition: 0, maxCount: 10_000 });
      expect(log.map((e) => e.data.i).sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: events }, (_, i) => i),
      );
    } finally {
      await again.close();
      reopened.close();
    }
  });

  it('starts the worker only once the store has made enough commits', async () => {
    const store = new SqliteEventStore(db, { backgroundCheckpointAfterCommits: 3 });
    try {
      await store.append('a', [{ type: 'Noted', data: {} }], 'no_stream');
      await store.append('b', [{ type: 'Noted', data: {} }], 'no_stream');
      expect(store.checkpointer.running).toBe(false);
      await store.append('c', [{ type: 'Noted', data: {} }], 'no_stream');
      expect(store.checkpointer.running).toBe(true);
      await store.checkpointer.checkpointNow();
    } finally {
      await store.close();
    }
  });

  it('never starts a worker for an in-memory database', async () => {
    const memory = new Database(':memory:');
    const store = new SqliteEventStore(memory, { backgroundCheckpointAfterCommits: 0 });
    expect(store.checkpointer.running).toBe(false);
    await store.close();
    memory.close();
  });
});
