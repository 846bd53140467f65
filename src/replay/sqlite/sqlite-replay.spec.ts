import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessTokensService } from '../../auth/access-tokens.service';
import { uuidv7 } from '../../common/ids';
import { Engine, openEmbeddedEngine } from '../../engine/engine';
import { DATABASE_FILE, openSqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { createSqliteReadModels } from '../../projections/sqlite/sqlite-read-models';
import { SqliteReplay } from './sqlite-replay';

describe('SqliteReplay', () => {
  let dir: string;
  let engine: Engine;

  const file = () => new Database(join(dir, DATABASE_FILE), { timeout: 10_000 });
  const tables = (db: Database.Database) =>
    db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'")
      .all()
      .map((t) => t.name);
  const indexes = (db: Database.Database) =>
    db
      .prepare<[], { name: string; tbl_name: string }>(
        "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' ORDER BY tbl_name, name",
      )
      .all();

  /** Writes the replay lock row as another replay would have left it. */
  const holdLock = (owner: string, pid: number, until: number) => {
    const db = file();
    db.exec(`CREATE TABLE IF NOT EXISTS read_model_replay (
      id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL,
      started_at TEXT NOT NULL, until INTEGER NOT NULL)`);
    db.prepare(
      `INSERT OR REPLACE INTO read_model_replay VALUES (1, ?, ?, '2026-01-01T00:00:00Z', ?)`,
    ).run(owner, pid, until);
    db.close();
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-replay-'));
    engine = openEmbeddedEngine(dir);
    engine.projections.start();
    const tokens = new AccessTokensService(
      engine.eventStore,
      engine.projections,
      engine.accessTokens,
    );
    for (let i = 0; i < 3; i++) {
      await tokens.issue({
        kind: 'workspace',
        userName: null,
        workspaceIds: [uuidv7()],
        scopes: ['webhooks:read'],
      });
    }
  });

  afterEach(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds the same rows, and a reopened file gets no second copy of any index', async () => {
    const before = await engine.accessTokens.list();
    const summary = await engine.replay.replay(() => undefined);
    expect(summary).toMatchObject({ events: 3, position: 3, rows: { access_tokens: 3 } });
    expect(await engine.accessTokens.list()).toEqual(before);

    const db = file();
    const afterReplay = indexes(db);
    db.close();
    // The live tables now carry the indexes they were built with, named after the shadow.
    expect(afterReplay.some((i) => i.name.includes('__replay_'))).toBe(true);
    expect(afterReplay.some((i) => i.tbl_name.includes('__'))).toBe(false);
    await engine.close();
    engine = openEmbeddedEngine(dir);
    const reopened = file();
    expect(indexes(reopened)).toEqual(afterReplay);
    reopened.close();
  });

  it("removes a killed replay's leftovers and takes over its lock", async () => {
    // A process that has exited: its pid is free (or reused, which is waited out the same way).
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const db = file();
    db.exec(`
      CREATE TABLE endpoints__replay_dead (id TEXT PRIMARY KEY);
      INSERT INTO endpoints__replay_dead VALUES ('x');
      CREATE TABLE deliveries__old_dead (id TEXT PRIMARY KEY);
    `);
    db.close();
    holdLock(`${hostname()}/dead`, gone, Date.now() + 60_000);

    await engine.replay.replay(() => undefined);

    const after = file();
    expect(tables(after).filter((t) => t.includes('__'))).toEqual([]);
    expect(after.prepare('SELECT COUNT(*) AS n FROM read_model_replay').get()).toEqual({ n: 0 });
    after.close();
  });

  it('refuses to run beside a replay that is still running', async () => {
    holdLock(`${hostname()}/other`, process.ppid, Date.now() + 60_000);
    await expect(engine.replay.replay(() => undefined)).rejects.toThrow(
      `Another replay is running on this data directory (pid ${process.ppid}`,
    );
    // A lock on another host cannot be checked: it holds until its lease runs out.
    holdLock('elsewhere/other', 1, Date.now() + 60_000);
    await expect(engine.replay.replay(() => undefined)).rejects.toThrow('Another replay');
  });

  it('takes over a lock whose lease ran out, or that names our own pid', async () => {
    holdLock('elsewhere/other', 1, Date.now() - 1);
    await engine.replay.replay(() => undefined);
    // A process before us in a container, with the pid we have now.
    holdLock('container/earlier', process.pid, Date.now() + 60_000);
    await engine.replay.replay(() => undefined);
  });

  it('refuses to start when the new read models would not fit on the disk', async () => {
    await engine.close();
    const db = openSqliteDatabase(dir);
    const store = new SqliteEventStore(db);
    const live = createSqliteReadModels(db).all;
    try {
      const full = new SqliteReplay(db, store, live, { freeDiskBytes: () => 1024 });
      await expect(full.replay(() => undefined)).rejects.toThrow(
        /^Not enough disk space for a replay: the new read models need about [\d,]+ MB beside the live ones, and 1 MB are free for /,
      );
      // Nothing was built, and the lock is free again.
      expect(tables(db).filter((t) => t.includes('__'))).toEqual([]);
      const roomy = new SqliteReplay(db, store, live, { freeDiskBytes: () => 1e12 });
      expect((await roomy.replay(() => undefined)).rows).toMatchObject({ access_tokens: 3 });
    } finally {
      await store.close();
      db.close();
      engine = openEmbeddedEngine(dir);
    }
  });

  it('reports progress up to the head', async () => {
    const seen: Array<{ applied: number; total: number }> = [];
    await engine.replay.replay((p) => seen.push(p));
    expect(seen[seen.length - 1]).toEqual({ applied: 3, total: 3 });
    const verified: Array<{ applied: number; total: number }> = [];
    const result = await engine.replay.verify(
      (p) => verified.push(p),
      () => undefined,
    );
    expect(result).toMatchObject({ differences: 0, position: 3 });
    expect(verified[verified.length - 1]).toEqual({ applied: 3, total: 3 });
  });
});
