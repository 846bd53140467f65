import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticLog } from '../../../bench/support/synthetic-log';
import { uuidv7 } from '../../common/ids';
import { webhookEventStream } from '../../delivery/webhook-event';
import { openEmbeddedEngine } from '../../engine/engine';
import { EventStore, NewEvent } from '../../eventstore/event-store';
import { SqliteLogPages } from '../../eventstore/sqlite/log-pages';
import { DATABASE_FILE, openSqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { createSqliteReadModels } from '../../projections/sqlite/sqlite-read-models';
import { buildPartitionBeside } from './partition-build';
import { SqliteReplay } from './sqlite-replay';

/**
 * Appends a webhook event whose first `failures` attempts failed and whose next one is due in an
 * hour: still in the queue.
 */
async function appendPending(store: EventStore, failures: number): Promise<{ id: string }> {
  const id = uuidv7();
  const endpointId = uuidv7();
  const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, s)).toISOString();
  const events: NewEvent[] = [
    {
      type: 'WebhookEventCreated',
      data: {
        webhookEventId: id,
        endpointId,
        workspaceId: uuidv7(),
        publicationId: uuidv7(),
        eventType: 'customer.created',
        payload: JSON.stringify({ id }),
        createdAt: at(0),
      },
    },
  ];
  for (let i = 0; i < failures; i++) {
    events.push({
      type: 'DeliveryAttempted',
      data: {
        webhookEventId: id,
        deliveryId: uuidv7(),
        endpointId,
        succeeded: false,
        httpCode: 503,
        response: 'unavailable',
        durationMs: 20,
        attemptedAt: at(i + 1),
        retryAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
  }
  await store.append(webhookEventStream(id), events, 'no_stream');
  return { id };
}

/**
 * A replay on two threads builds half the log's streams apart (on this thread when the tests run
 * from the TypeScript sources: there is no compiled worker; the CLI's end-to-end tests run it on
 * a worker thread) and copies them in. The result must be the read models a single thread builds
 * and the inline projections keep, row for row.
 */
describe('SqliteReplay in two parts', () => {
  let dir: string;
  let db: Database.Database;
  let store: SqliteEventStore;
  let replay: SqliteReplay;
  const READ_MODEL_TABLES = [
    'endpoints',
    'access_tokens',
    'webhook_events',
    'deliveries',
    'due_work',
  ];

  /** Every row of every read-model table, in primary-key order (rowids left out). */
  const snapshot = () =>
    Object.fromEntries(
      READ_MODEL_TABLES.map((table) => {
        const key = db
          .prepare<[], { name: string; pk: number }>(`PRAGMA table_info(${table})`)
          .all()
          .find((c) => c.pk === 1)!.name;
        return [table, db.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all()];
      }),
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-two-part-'));
    // A realistic mix (endpoints, tokens, events, attempts, retries, failures), projected inline
    // as the service does.
    await writeSyntheticLog(dir, { events: 6_000, workspaces: 2, endpoints: 8, project: true });
    // The synthetic log settles every event: some that are still being retried, so that the
    // queue has rows (due time, sequence, attempts) to compare.
    const engine = openEmbeddedEngine(dir);
    engine.projections.start();
    for (let i = 0; i < 40; i++) await appendPending(engine.eventStore, i % 3);
    await engine.projections.waitFor(await engine.eventStore.headPosition());
    await engine.close();
    db = openSqliteDatabase(dir);
    store = new SqliteEventStore(db);
    // Small batches: many transactions, and both halves are read in many pages.
    replay = new SqliteReplay(db, store, createSqliteReadModels(db).all, {
      batchSize: 250,
    });
  }, 120_000);

  afterAll(async () => {
    await store.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends with the rows the inline projections wrote, as one thread does', async () => {
    const live = snapshot();
    expect(live.deliveries.length).toBeGreaterThan(1_000);
    expect(live.endpoints.length).toBe(8);
    expect(live.due_work.length).toBe(40);

    const two = await replay.replay(() => undefined, { threads: 2 });
    expect(two.events).toBe(store.headPositionSync());
    expect(snapshot()).toEqual(live);

    await replay.replay(() => undefined, { threads: 1 });
    expect(snapshot()).toEqual(live);

    // A log too long to make the indexes at the end: kept up to date during the load instead.
    const indexedAlong = new SqliteReplay(db, store, createSqliteReadModels(db).all, {
      batchSize: 250,
      deferIndexesUpTo: 0,
    });
    await indexedAlong.replay(() => undefined, { threads: 2 });
    expect(snapshot()).toEqual(live);

    const verified = await replay.verify(
      () => undefined,
      () => undefined,
    );
    expect(verified.differences).toBe(0);
  });

  it('leaves no scratch file, and removes one a killed replay left', async () => {
    const leftover = `${DATABASE_FILE}.replay-scratch-dead`;
    writeFileSync(join(dir, leftover), 'left by a replay that was killed');
    await replay.replay(() => undefined, { threads: 2 });
    expect(readdirSync(dir).filter((f) => f.includes('scratch'))).toEqual([]);
  });

  it('reports a half that cannot be built, so the replay stops', async () => {
    const build = buildPartitionBeside({
      databaseFile: join(dir, 'missing.db'),
      scratchFile: join(dir, 'scratch-of-missing'),
      until: 10,
      partition: { of: 2, index: 1 },
      batchSize: 250,
    });
    await expect(build.done).rejects.toThrow('missing.db');
    expect(build.progress.failure).toBeInstanceOf(Error);
  });

  it('reads the log in two disjoint parts that hold whole streams', () => {
    const pages = new SqliteLogPages(db);
    const all = pages.read(0, 1_000_000);
    const parts = [0, 1].map((index) => pages.read(0, 1_000_000, undefined, { of: 2, index }));
    expect(parts[0].length + parts[1].length).toBe(all.length);
    expect(parts[0].length).toBeGreaterThan(all.length / 4);
    expect(parts[1].length).toBeGreaterThan(all.length / 4);
    const merged = [...parts[0], ...parts[1]].map((e) => e.position).sort((a, b) => a - b);
    expect(merged).toEqual(all.map((e) => e.position));
    const streamsOf = (events: typeof all) => new Set(events.map((e) => e.streamId));
    const [first, second] = parts.map(streamsOf);
    expect([...first].filter((stream) => second.has(stream))).toEqual([]);
    // A filter by stream prefix applies within the part.
    const webhookEvents = pages.read(
      0,
      1_000_000,
      { streamPrefixes: ['webhook_event-'] },
      { of: 2, index: 1 },
    );
    expect(webhookEvents.length).toBeGreaterThan(0);
    expect(
      webhookEvents.every((e) => e.streamId.startsWith('webhook_event-') && second.has(e.streamId)),
    ).toBe(true);
    expect(() => pages.read(0, 10, undefined, { of: 2, index: 2 })).toThrow(
      'Invalid stream partition 2 of 2',
    );
  });
});
