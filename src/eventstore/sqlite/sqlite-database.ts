import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'rapidly.db';

/**
 * Opens the embedded engine's single file. WAL lets readers run beside the writer. Commits are
 * not fsynced by SQLite (synchronous=NORMAL: in WAL mode still atomic and in order, and safe from
 * a killed process): the event store makes its appends durable itself, off the event loop
 * (WalSync), before acknowledging them, and a read-model commit reaches the disk with the next
 * one of those; after a power cut read models are re-applied from their checkpoints. The busy
 * timeout makes a writer wait out another process (the CLI) instead of failing with SQLITE_BUSY.
 */
export function openSqliteDatabase(dataDir: string): SqliteDatabase {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DATABASE_FILE), { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  return db;
}
