import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { AccessTokensRepository } from '../auth/access-tokens.repository';
import { DeliveriesRepository } from '../deliveries/deliveries.repository';
import { DueWorkQueue } from '../delivery/due-work';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { EventStore } from '../eventstore/event-store';
import { openSqliteDatabase } from '../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../eventstore/sqlite/sqlite-event-store';
import { CheckpointStore } from '../projections/checkpoints';
import { ProjectionRunner } from '../projections/projection-runner';
import { SqliteCheckpoints } from '../projections/sqlite/sqlite-checkpoints';
import { SqliteProjectionRunner } from '../projections/sqlite/sqlite-projection-runner';
import { createSqliteReadModels } from '../projections/sqlite/sqlite-read-models';
import { ReadModelReplay } from '../replay/read-model-replay';
import { SqliteReplay } from '../replay/sqlite/sqlite-replay';
import { AppConfig, EventStoreDbConfig, MongoDbConfig } from '../config/config';
import { connectionTarget, safeErrorLine, scrubCredentials } from '../config/connection-strings';

/** One storage engine: the event store, the projections and every read-model repository. */
export interface Engine {
  /** For the start-up log line: which engines are in use, and where. */
  readonly description: string;
  readonly eventStore: EventStore;
  readonly projections: ProjectionRunner;
  readonly endpoints: EndpointsRepository;
  readonly accessTokens: AccessTokensRepository;
  readonly deliveries: DeliveriesRepository;
  readonly dueWork: DueWorkQueue;
  /** Positions of consumers that are not projections (the delivery saga). */
  readonly checkpoints: CheckpointStore;
  /** Rebuilds the read models from the log (CLI `replay`), or checks them against it. */
  readonly replay: ReadModelReplay;
  close(): Promise<void>;
}

export const ENGINE = Symbol('Engine');

/** The zero set-up default: event store and read models in one SQLite file in `dataDir`. */
export function openEmbeddedEngine(dataDir: string): Engine {
  const db = openSqliteDatabase(dataDir);
  const eventStore = new SqliteEventStore(db);
  const readModels = createSqliteReadModels(db, () => eventStore.durableHead());
  const { endpoints, accessTokens, deliveries, dueWork } = readModels;
  const projections = new SqliteProjectionRunner(db, eventStore, readModels.all);
  return {
    description: `embedded SQLite in ${dataDir}`,
    eventStore,
    projections,
    endpoints,
    accessTokens,
    deliveries,
    dueWork,
    checkpoints: new SqliteCheckpoints(db),
    replay: new SqliteReplay(db, eventStore, readModels.all),
    async close() {
      await projections.stop();
      await eventStore.close();
      dueWork.close();
      db.close();
    },
  };
}

/**
 * The engine the configuration asks for: neither production variable → the embedded engine;
 * MONGODB_URI → the SQLite event store in `dataDir` with MongoDB read models; both → EventStoreDB
 * with MongoDB read models. (EVENTSTORE_CONNECTION_STRING alone is refused by loadConfig.)
 * An engine that cannot be reached fails here with a one-line message naming it and its hosts,
 * never its credentials. The production adapters are loaded only when asked for, so the
 * embedded default (the service's and the CLI's) never loads their drivers.
 */
export async function openEngine(config: AppConfig): Promise<Engine> {
  const { eventStoreDb, mongoDb } = config.engines;
  if (mongoDb === null) {
    if (eventStoreDb !== null) {
      throw new Error('EVENTSTORE_CONNECTION_STRING needs MONGODB_URI for the read models');
    }
    return openEmbeddedEngine(config.dataDir);
  }
  const eventStore =
    eventStoreDb !== null
      ? await connectEventStore(eventStoreDb)
      : openSqliteEventStore(config.dataDir);
  return openWithMongoReadModels(eventStore, mongoDb);
}

/** An event store opened on its own, with what the engine's description says of it. */
export interface OpenedEventStore {
  readonly store: EventStore;
  readonly description: string;
  close(): Promise<void>;
}

/** The SQLite event store alone (its read-model tables stay unused). */
export function openSqliteEventStore(dataDir: string): OpenedEventStore {
  const db = openSqliteDatabase(dataDir);
  const store = new SqliteEventStore(db);
  return {
    store,
    description: `SQLite in ${dataDir}`,
    async close() {
      await store.close();
      db.close();
    },
  };
}

/**
 * EventStoreDB, checked to answer. Its subscriptions survive a lost connection by subscribing
 * again with a growing delay; each drop is logged, so an outage shows while it lasts.
 */
export async function connectEventStore(config: EventStoreDbConfig): Promise<OpenedEventStore> {
  const { connectEventStoreDb } = await import('../eventstore/esdb/esdb-event-store');
  const logger = new Logger('EventStoreDB');
  const store = await connectEventStoreDb(config.connectionString, {
    streamPrefix: config.streamPrefix,
    onSubscriptionDropped: (error, retryInMs) => {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn(
        `Subscription dropped, retrying in ${retryInMs} ms: ` +
          scrubCredentials(reason, config.connectionString),
      );
    },
  }).catch((error: unknown) => {
    throw startupError(error, 'EVENTSTORE_CONNECTION_STRING', config.connectionString);
  });
  const prefix = config.streamPrefix ? ` (stream prefix "${config.streamPrefix}")` : '';
  return {
    store,
    description: `EventStoreDB at ${connectionTarget(config.connectionString)}${prefix}`,
    close: () => store.close(),
  };
}

/**
 * MongoDB read models over an opened event store. Each process is its own replica: its id
 * marks the projection lease and the due-work leases it holds, so releasing leases at start-up
 * never ends another replica's (nor one held by a CLI run beside the service). Closing the
 * engine closes the event store too; if MongoDB cannot be reached, the event store is closed
 * before the error is thrown.
 */
export async function openWithMongoReadModels(
  eventStore: OpenedEventStore,
  config: MongoDbConfig,
  replicaId = newReplicaId(),
): Promise<Engine> {
  try {
    const { openMongoReadModels } = await import('../projections/mongo/mongo-read-models');
    const readModels = await openMongoReadModels({
      uri: config.uri,
      database: config.database,
      eventStore: eventStore.store,
      replicaId,
    }).catch((error: unknown) => {
      throw startupError(error, 'MONGODB_URI', config.uri);
    });
    return {
      description: `event store: ${eventStore.description}; read models: ${readModels.description}`,
      eventStore: eventStore.store,
      projections: readModels.projections,
      endpoints: readModels.endpoints,
      accessTokens: readModels.accessTokens,
      deliveries: readModels.deliveries,
      dueWork: readModels.dueWork,
      checkpoints: readModels.checkpoints,
      replay: readModels.replay,
      async close() {
        await readModels.close();
        await eventStore.close();
      },
    };
  } catch (error) {
    // The first failure is the one to report, not a failure to close after it.
    await eventStore.close().catch(() => undefined);
    throw error;
  }
}

/** Unique per process, and readable in a lease: which host and process holds it. */
function newReplicaId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * The adapter's own message (it names the engine and its hosts) on one line, with the variable
 * to check: main.ts prints it as the single line of a failed start. The message is scrubbed once
 * more, in case an error the adapter did not word quotes the connection string, and the original
 * error is not kept as the cause: a driver's error may echo credentials, and whoever logs the
 * error with its cause would print them.
 */
function startupError(error: unknown, variable: string, connectionString: string): Error {
  return new Error(`${safeErrorLine(error, [connectionString])} (check ${variable})`);
}
