import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { connectionTarget, scrubCredentials } from '../../config/connection-strings';
import { AccessTokensRepository } from '../../auth/access-tokens.repository';
import { MongoAccessTokens } from '../../auth/mongo/mongo-access-tokens';
import { DeliveriesRepository } from '../../deliveries/deliveries.repository';
import { MongoDeliveries } from '../../deliveries/mongo/mongo-deliveries';
import { DueWorkQueue } from '../../delivery/due-work';
import { MongoDueWork } from '../../delivery/mongo/mongo-due-work';
import { EndpointsRepository } from '../../endpoints/endpoints.repository';
import { MongoEndpoints } from '../../endpoints/mongo/mongo-endpoints';
import { EventStore } from '../../eventstore/event-store';
import { MongoReplay } from '../../replay/mongo/mongo-replay';
import { ReadModelReplay } from '../../replay/read-model-replay';
import { CheckpointStore } from '../checkpoints';
import { ProjectionRunner } from '../projection-runner';
import { MongoCheckpoints } from './mongo-checkpoints';
import { MongoProjectionRunner } from './mongo-projection-runner';
import { MongoProjectionLeases } from './projection-lease';

export interface MongoReadModels {
  projections: ProjectionRunner;
  endpoints: EndpointsRepository;
  accessTokens: AccessTokensRepository;
  deliveries: DeliveriesRepository;
  dueWork: DueWorkQueue;
  checkpoints: CheckpointStore;
  replay: ReadModelReplay;
  /** Where the read models are (hosts and database; never credentials). */
  description: string;
  /** Stops the projections and closes the client; the event store is the caller's. */
  close(): Promise<void>;
}

export interface MongoReadModelsOptions {
  uri: string;
  database: string;
  eventStore: EventStore;
  /** Identifies this process in the projection lease and the due-work leases. */
  replicaId?: string;
}

/** Unless the URI says otherwise: an unreachable server fails start-up in 10 s, not 30. */
const SERVER_SELECTION_TIMEOUT_MS = 10_000;

/**
 * Connects to MongoDB (checking it answers), creates every read model's indexes, and returns the
 * repositories and the projection runner, not started: the app calls `projections.start()`.
 * Works on any server the driver supports (MongoDB 4.4 or later: update pipelines and `$$NOW`).
 * Uses no transaction (every write is one guarded single-document update), so a standalone
 * server works as well as a replica set. A failure names the hosts and the cause, never the
 * credentials (the driver's error is not kept as the cause, since it may echo them).
 */
export async function openMongoReadModels(
  options: MongoReadModelsOptions,
): Promise<MongoReadModels> {
  const { uri, database, eventStore } = options;
  const replicaId = options.replicaId ?? randomUUID();
  const where = `${connectionTarget(uri)}, database ${database}`;
  let client: MongoClient | undefined;
  try {
    client = new MongoClient(uri, {
      appName: 'rapidly-webhooks',
      ...(!/[?&]serverSelectionTimeoutMS=/i.test(uri) && {
        serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
      }),
    });
    await client.connect();
    const db = client.db(database);
    await db.command({ ping: 1 });
    const endpoints = new MongoEndpoints(db);
    const accessTokens = new MongoAccessTokens(db);
    const deliveries = new MongoDeliveries(db);
    const dueWork = new MongoDueWork(db, replicaId);
    const readModels = [endpoints, accessTokens, deliveries, dueWork];
    await Promise.all(readModels.map((model) => model.ensureIndexes()));
    const leases = new MongoProjectionLeases(db, replicaId);
    const projections = new MongoProjectionRunner(eventStore, readModels, leases);
    const connected = client;
    return {
      projections,
      endpoints,
      accessTokens,
      deliveries,
      dueWork,
      checkpoints: new MongoCheckpoints(db),
      replay: new MongoReplay({
        db,
        store: eventStore,
        live: readModels,
        build: (suffix) => [
          new MongoEndpoints(db, suffix),
          new MongoAccessTokens(db, suffix),
          new MongoDeliveries(db, suffix),
          new MongoDueWork(db, replicaId, suffix),
        ],
        leases: new MongoProjectionLeases(db, `replay/${replicaId}`),
      }),
      description: `MongoDB at ${where}`,
      async close() {
        await projections.stop();
        await connected.close();
      },
    };
  } catch (error) {
    await client?.close().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot open the read models in MongoDB at ${where}: ${scrubCredentials(reason, uri)}`,
    );
  }
}
