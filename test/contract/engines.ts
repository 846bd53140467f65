import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, openEmbeddedEngine } from '../../src/engine/engine';
import { openSqliteDatabase } from '../../src/eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../src/eventstore/sqlite/sqlite-event-store';
import { ContractStorage, EventStoreHandle } from './contract-support';

/**
 * Every engine the contract suites run against. An engine whose server is not configured is
 * listed as unavailable with the reason, and its suites are skipped with one log line.
 * The production adapters join as entries here, e.g.
 * `{ name: 'eventstoredb+mongodb', available: !!process.env.EVENTSTORE_CONNECTION_STRING && ... }`.
 */
export interface ContractEngine {
  name: string;
  available: boolean;
  skipReason?: string;
  storage: ContractStorage;
}

/** Opens an engine the way the service does: projections started and caught up. */
export async function startEngine(engine: Engine): Promise<Engine> {
  engine.projections.start();
  await engine.projections.waitFor(await engine.eventStore.headPosition());
  return engine;
}

/** The embedded engine; a storage is a fresh temporary directory holding the SQLite file. */
export const sqliteStorage: ContractStorage = {
  async create() {
    return mkdtempSync(join(tmpdir(), 'rapidly-contract-'));
  },
  async openEventStore(dataDir: string): Promise<EventStoreHandle> {
    const db = openSqliteDatabase(dataDir);
    const store = new SqliteEventStore(db);
    return {
      store,
      async close() {
        await store.close();
        db.close();
      },
    };
  },
  openEngine(dataDir: string) {
    return startEngine(openEmbeddedEngine(dataDir));
  },
  async destroy(dataDir: string) {
    rmSync(dataDir, { recursive: true, force: true });
  },
};

export const CONTRACT_ENGINES: readonly ContractEngine[] = [
  { name: 'sqlite', available: true, storage: sqliteStorage },
];
