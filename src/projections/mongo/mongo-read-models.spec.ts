import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase, openSqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { openMongoReadModels } from './mongo-read-models';

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('No port');
  return address.port;
}

describe('openMongoReadModels failures', () => {
  let dataDir: string;
  let db: SqliteDatabase;
  let eventStore: SqliteEventStore;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rapidly-mongo-open-'));
    db = openSqliteDatabase(dataDir);
    eventStore = new SqliteEventStore(db);
  });
  afterEach(async () => {
    await eventStore.close();
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails with the hosts, the database and the cause when no server answers, never the password', async () => {
    const port = await closedPort();
    const uri = `mongodb://alice:s3cr3t-pw@127.0.0.1:${port}/?serverSelectionTimeoutMS=300&directConnection=true`;
    const error = await openMongoReadModels({ uri, database: 'rw', eventStore }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^Cannot open the read models in MongoDB at mongodb://127\\.0\\.0\\.1:${port}, database rw: .+`,
      ),
    );
    expect(message).toMatch(/ECONNREFUSED|Server selection timed out/);
    expect(message).not.toContain('s3cr3t');
    expect(message).not.toContain('alice');
    expect((error as Error).cause).toBeUndefined();
  });

  it('fails on a malformed URI without echoing its credentials', async () => {
    const uri = 'mongodb://bob:hunter2@db.example.com:27017/?notAnOption=1&ssl=maybe';
    const error = await openMongoReadModels({ uri, database: 'rw', eventStore }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /^Cannot open the read models in MongoDB at mongodb:\/\/db\.example\.com:27017, database rw: /,
    );
    expect(error?.message).not.toContain('hunter2');
  });
});
