import { AccessTokensRepository } from '../auth/access-tokens.repository';
import { SqliteAccessTokens } from '../auth/sqlite/sqlite-access-tokens';
import { DeliveriesRepository } from '../deliveries/deliveries.repository';
import { SqliteDeliveries } from '../deliveries/sqlite/sqlite-deliveries';
import { DueWorkQueue } from '../delivery/due-work';
import { SqliteDueWork } from '../delivery/sqlite/sqlite-due-work';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { SqliteEndpoints } from '../endpoints/sqlite/sqlite-endpoints';
import { EventStore } from '../eventstore/event-store';
import { openSqliteDatabase } from '../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../eventstore/sqlite/sqlite-event-store';
import { CheckpointStore } from '../projections/checkpoints';
import { ProjectionRunner } from '../projections/projection-runner';
import { SqliteCheckpoints } from '../projections/sqlite/sqlite-checkpoints';
import { SqliteProjectionRunner } from '../projections/sqlite/sqlite-projection-runner';

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
  close(): Promise<void>;
}

export const ENGINE = Symbol('Engine');

/** The zero set-up default: event store and read models in one SQLite file in `dataDir`. */
export function openEmbeddedEngine(dataDir: string): Engine {
  const db = openSqliteDatabase(dataDir);
  const eventStore = new SqliteEventStore(db);
  const endpoints = new SqliteEndpoints(db);
  const accessTokens = new SqliteAccessTokens(db);
  const deliveries = new SqliteDeliveries(db);
  const dueWork = new SqliteDueWork(db, () => eventStore.durableHead());
  const projections = new SqliteProjectionRunner(db, eventStore, [
    endpoints,
    accessTokens,
    deliveries,
    dueWork,
  ]);
  return {
    description: `embedded SQLite in ${dataDir}`,
    eventStore,
    projections,
    endpoints,
    accessTokens,
    deliveries,
    dueWork,
    checkpoints: new SqliteCheckpoints(db),
    async close() {
      await projections.stop();
      await eventStore.close();
      db.close();
    },
  };
}
