import type { Statement } from 'better-sqlite3';
import { SqliteDatabase } from './sqlite-database';

/**
 * Parsed read-model documents of one connection, kept between reads of the hot paths (a token
 * per request, the endpoints of a publish or a delivery). It empties itself whenever the rows may
 * have changed:
 * - the read model's projection applied an event on this connection (`clear()`, called from
 *   `apply`, inside the same transaction);
 * - another connection (the CLI, another process) committed to the file since the last read:
 *   `PRAGMA data_version`, read on every `get`, changes then. A request made after a CLI command
 *   returned therefore sees its change, as it did without the cache.
 *
 * Documents are frozen: one object serves every reader, so none may change it.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, V>();
  private readonly dataVersion: Statement<[], number>;
  private version: number;

  constructor(
    db: SqliteDatabase,
    private readonly maxEntries = 1024,
  ) {
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.version = this.dataVersion.get()!;
  }

  get(key: string, load: () => V): V {
    const version = this.dataVersion.get()!;
    if (version !== this.version) {
      this.version = version;
      this.entries.clear();
    }
    if (this.entries.has(key)) return this.entries.get(key)!;
    const value = deepFreeze(load());
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
