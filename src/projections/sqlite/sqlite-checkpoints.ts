import type { Statement } from 'better-sqlite3';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { CheckpointStore } from '../checkpoints';

/** Checkpoints in the embedded database; the sync methods run inside the runner's transactions. */
export class SqliteCheckpoints implements CheckpointStore {
  private readonly select: Statement<[string], { position: number }>;
  private readonly upsert: Statement<[string, number]>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(
      'CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)',
    );
    this.select = db.prepare('SELECT position FROM checkpoints WHERE name = ?');
    this.upsert = db.prepare(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
    );
  }

  get(name: string): number {
    return this.select.get(name)?.position ?? 0;
  }

  set(name: string, position: number): void {
    this.upsert.run(name, position);
  }

  async load(name: string): Promise<number> {
    return this.get(name);
  }

  /** A lost save only makes its consumer repeat idempotent work, so it needs no fsync of its own. */
  async save(name: string, position: number): Promise<void> {
    this.set(name, position);
  }
}
