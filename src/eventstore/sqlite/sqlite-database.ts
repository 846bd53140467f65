import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'rapidly.db';

/**
 * Opens the embedded engine's single file. WAL lets readers run beside the writer;
 * synchronous=FULL makes every commit durable before an append is acknowledged (group commit
 * amortises the fsync); the busy timeout makes a writer wait out another process (the CLI)
 * instead of failing with SQLITE_BUSY.
 */
export function openSqliteDatabase(dataDir: string): SqliteDatabase {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DATABASE_FILE), { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}
