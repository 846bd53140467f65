import { CONTRACT_ENGINES, ContractEngine, MONGODB_URI } from './engines';
import { eventStoreContract } from './event-store.contract';
import { mongoReplicasContract } from './mongo-replicas.contract';
import { readModelsContract } from './read-models.contract';

/**
 * The shared contract suites against every engine: the embedded one always, the production ones
 * when their servers are configured (MONGODB_URI, EVENTSTORE_CONNECTION_STRING), and the MongoDB
 * replica suite. Each group left out prints one line saying why, and its suites show as skipped.
 */
function contractSuites(engine: ContractEngine): void {
  if (engine.suites.includes('event-store')) eventStoreContract(engine.name, engine.storage);
  if (engine.suites.includes('read-models')) readModelsContract(engine.name, engine.storage);
}

/** One plain line, not a console.log block with its stack location. */
const skipped = (what: string, reason: string) =>
  process.stdout.write(`${what} skipped: ${reason}\n`);

for (const engine of CONTRACT_ENGINES) {
  if (engine.available) {
    contractSuites(engine);
  } else {
    skipped(`Contract suites for ${engine.name}`, engine.skipReason ?? 'unavailable');
    describe.skip(`${engine.name} (skipped: ${engine.skipReason})`, () => contractSuites(engine));
  }
}

// What only a shared MongoDB promises: several replicas on one database.
if (MONGODB_URI) {
  mongoReplicasContract(MONGODB_URI);
} else {
  skipped('MongoDB replica suite', 'MONGODB_URI is not set');
  describe.skip('MongoDB replicas (skipped: MONGODB_URI is not set)', () =>
    mongoReplicasContract('mongodb://unused'));
}
