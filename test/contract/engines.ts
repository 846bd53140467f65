import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoDbConfig } from '../../src/config/config';
import {
  Engine,
  OpenedEventStore,
  connectEventStore,
  openEmbeddedEngine,
  openSqliteEventStore,
  openWithMongoReadModels,
} from '../../src/engine/engine';
import { openSqliteDatabase } from '../../src/eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../src/eventstore/sqlite/sqlite-event-store';
import { ContractStorage, EventStoreHandle } from './contract-support';

/** The shared contract suites: one per port. */
export type ContractSuite = 'event-store' | 'read-models';

/**
 * Every engine the contract suites run against. An engine whose server is not configured is
 * listed as unavailable with the reason, and its suites are skipped with one log line.
 */
export interface ContractEngine {
  name: string;
  available: boolean;
  skipReason?: string;
  /** The suites it runs: an engine whose event store another entry already proves runs fewer. */
  suites: readonly ContractSuite[];
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

/** The servers of the production engines, from the same variables the service reads. */
export const MONGODB_URI = process.env.MONGODB_URI?.trim() || undefined;
const EVENTSTORE_CONNECTION_STRING = process.env.EVENTSTORE_CONNECTION_STRING?.trim() || undefined;

/**
 * A storage on a shared server is a unique name: the MongoDB database `rapidly_contract_<id>`
 * (dropped by destroy), plus either a temporary directory for the SQLite log or the EventStoreDB
 * stream prefix `contract-<id>-`, which gives every storage a fresh, empty global log on one
 * server. Prefixed streams are left on the EventStoreDB server: invisible to other prefixes.
 */
const newStorageId = () => randomUUID().replace(/-/g, '').slice(0, 16);
const mongoFor = (uri: string, storageId: string): MongoDbConfig => ({
  uri,
  database: `rapidly_contract_${storageId}`,
});
const sqliteDirFor = (storageId: string) => join(tmpdir(), `rapidly-contract-${storageId}`);
const streamPrefixFor = (storageId: string) => `contract-${storageId}-`;

async function dropDatabase(mongo: MongoDbConfig): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(mongo.uri);
  try {
    await client.db(mongo.database).dropDatabase();
  } finally {
    await client.close();
  }
}

function handle(opened: OpenedEventStore): EventStoreHandle {
  return { store: opened.store, close: () => opened.close() };
}

/** The SQLite event store in a temporary directory, with the read models in MongoDB. */
function sqliteMongoStorage(uri: string): ContractStorage {
  return {
    async create() {
      const storageId = newStorageId();
      mkdirSync(sqliteDirFor(storageId));
      return storageId;
    },
    async openEventStore(storageId) {
      return handle(openSqliteEventStore(sqliteDirFor(storageId)));
    },
    async openEngine(storageId) {
      const eventStore = openSqliteEventStore(sqliteDirFor(storageId));
      return startEngine(await openWithMongoReadModels(eventStore, mongoFor(uri, storageId)));
    },
    async destroy(storageId) {
      await dropDatabase(mongoFor(uri, storageId));
      rmSync(sqliteDirFor(storageId), { recursive: true, force: true });
    },
  };
}

/** EventStoreDB, namespaced by a stream prefix per storage, with the read models in MongoDB. */
function eventStoreDbMongoStorage(connectionString: string, uri: string): ContractStorage {
  const connect = (storageId: string) =>
    connectEventStore({ connectionString, streamPrefix: streamPrefixFor(storageId) });
  return {
    async create() {
      return newStorageId();
    },
    async openEventStore(storageId) {
      return handle(await connect(storageId));
    },
    async openEngine(storageId) {
      const eventStore = await connect(storageId);
      return startEngine(await openWithMongoReadModels(eventStore, mongoFor(uri, storageId)));
    },
    async destroy(storageId) {
      await dropDatabase(mongoFor(uri, storageId));
    },
  };
}

/** An engine whose server is not configured: its suites are skipped, saying which variables. */
function unavailable(
  name: string,
  suites: readonly ContractSuite[],
  variables: readonly string[],
): ContractEngine {
  const unset = variables.filter((v) => !process.env[v]?.trim());
  const skipReason = `${unset.join(' and ')} ${unset.length === 1 ? 'is' : 'are'} not set`;
  const refuse = async (): Promise<never> => {
    throw new Error(`${name} is unavailable: ${skipReason}`);
  };
  return {
    name,
    available: false,
    skipReason,
    suites,
    storage: { create: refuse, openEventStore: refuse, openEngine: refuse, destroy: refuse },
  };
}

const ALL_SUITES: readonly ContractSuite[] = ['event-store', 'read-models'];
// Its event store is the SQLite adapter the `sqlite` entry proves: only the read models differ.
const READ_MODELS: readonly ContractSuite[] = ['read-models'];

export const CONTRACT_ENGINES: readonly ContractEngine[] = [
  { name: 'sqlite', available: true, suites: ALL_SUITES, storage: sqliteStorage },
  MONGODB_URI
    ? {
        name: 'sqlite+mongodb',
        available: true,
        suites: READ_MODELS,
        storage: sqliteMongoStorage(MONGODB_URI),
      }
    : unavailable('sqlite+mongodb', READ_MODELS, ['MONGODB_URI']),
  EVENTSTORE_CONNECTION_STRING && MONGODB_URI
    ? {
        name: 'eventstoredb+mongodb',
        available: true,
        suites: ALL_SUITES,
        storage: eventStoreDbMongoStorage(EVENTSTORE_CONNECTION_STRING, MONGODB_URI),
      }
    : unavailable('eventstoredb+mongodb', ALL_SUITES, [
        'EVENTSTORE_CONNECTION_STRING',
        'MONGODB_URI',
      ]),
];
