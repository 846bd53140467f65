import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Engine } from '../../src/engine/engine';
import {
  Endpoint,
  EndpointCommand,
  EndpointEvent,
  decide,
  endpointStream,
  evolve,
} from '../../src/endpoints/endpoint';
import { executeOnStream } from '../../src/eventstore/command-execution';
import { EventStore, RecordedEvent } from '../../src/eventstore/event-store';
import { SqliteDatabase, openSqliteDatabase } from '../../src/eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../src/eventstore/sqlite/sqlite-event-store';
import { SqliteProjection } from '../../src/projections/sqlite/sqlite-projection';
import { SqliteProjectionRunner } from '../../src/projections/sqlite/sqlite-projection-runner';
import { Received, Storages, within } from './contract-support';
import { publish } from './deliveries.contract';
import { sqliteStorage } from './engines';

// The shared contract suites run for every engine in engines.contract-spec.ts; these are the
// SQLite engine's own properties: one file shared by several processes.

const decider = { evolve, initialState: null as Endpoint | null };

async function onEndpoint(store: EventStore, id: string, command: EndpointCommand) {
  const result = await executeOnStream<Endpoint | null, EndpointEvent>(
    store,
    endpointStream(id),
    decider,
    (state) => decide(state, command),
  );
  return result.position!;
}

const create = (id: string): EndpointCommand => ({
  type: 'CreateEndpoint',
  endpointId: id,
  workspaceId: randomUUID(),
  url: `https://hooks.example.com/${id}`,
  format: 'raw',
  events: [],
  secret: `whsec_${randomBytes(32).toString('base64')}`,
  now: new Date().toISOString(),
});

const rotate = (): EndpointCommand => ({
  type: 'RotateEndpointSecret',
  secret: `whsec_${randomBytes(32).toString('base64')}`,
  secretGracePeriodMs: 60_000,
  now: new Date().toISOString(),
});

/** A fresh data directory for each test of the calling describe, closed and deleted after it. */
function eachDataDir(): { storages: Storages; dataDir: string } {
  const dir = {} as { storages: Storages; dataDir: string };
  beforeEach(async () => {
    dir.storages = new Storages(sqliteStorage);
    dir.dataDir = await dir.storages.create();
  });
  afterEach(() => dir.storages.release());
  return dir;
}

/** Another process (the CLI) on the same file: its own better-sqlite3 connection. */
describe('SQLite engine shared by two processes', () => {
  let storages: Storages;
  let dataDir: string;
  let service: Engine;

  beforeEach(async () => {
    storages = new Storages(sqliteStorage);
    dataDir = await storages.create();
    service = await storages.openEngine(dataDir);
  });
  afterEach(() => storages.release());

  it("notices another connection's appends in a live subscription and in its projections", async () => {
    const received = new Received();
    const subscription = service.eventStore.subscribeToAll(
      { fromPosition: await service.eventStore.headPosition() },
      received.handler,
    );
    const cli = await storages.openEventStore(dataDir);

    const id = randomUUID();
    const position = await onEndpoint(cli.store, id, create(id));

    await received.until((e) => e.some((x) => x.position === position), 'the CLI append');
    expect(received.events.map((e) => e.streamId)).toEqual([endpointStream(id)]);
    await within(service.projections.waitFor(position), 'the projections to reach the CLI append');
    expect(await service.endpoints.findById(id)).toMatchObject({ id, deletedAt: null });
    await subscription.stop();
  });

  it('applies each event once when both processes run projections on the file', async () => {
    // The CLI opens a whole engine and runs its projections too.
    const cli = await storages.openEngine(dataDir);
    const ids = Array.from({ length: 8 }, () => randomUUID());
    for (const id of ids) await onEndpoint(service.eventStore, id, create(id));
    let last = 0;
    for (let round = 0; round < 3; round++) {
      for (const [i, id] of ids.entries()) {
        const writer = i % 2 === 0 ? service : cli;
        last = await onEndpoint(writer.eventStore, id, rotate());
      }
    }
    await within(service.projections.waitFor(last), 'the service projections');
    await within(cli.projections.waitFor(last), 'the CLI projections');

    for (const id of ids) {
      const stream = await service.eventStore.readStream(endpointStream(id));
      const folded = stream.reduce<Endpoint | null>(
        (state, e) => evolve(state, { type: e.type, data: e.data } as EndpointEvent),
        null,
      );
      expect(await service.endpoints.findById(id)).toEqual(folded);
      expect(await cli.endpoints.findById(id)).toEqual(folded);
    }
  });

  it("reads another connection's change to a read model from the very next read", async () => {
    // The service reads (and keeps) an endpoint, then the CLI's own engine changes it on the file.
    const cli = await storages.openEngine(dataDir);
    const id = randomUUID();
    await within(
      service.projections.waitFor(await onEndpoint(service.eventStore, id, create(id))),
      'the service projections',
    );
    const before = (await service.endpoints.findById(id))!;
    expect(Object.isFrozen(before)).toBe(true);
    expect(await service.endpoints.listForWorkspace(before.workspaceId)).toEqual([before]);

    await onEndpoint(cli.eventStore, id, rotate());
    const rotated = (await service.endpoints.findById(id))!;
    expect(rotated.secret).not.toBe(before.secret);
    expect(rotated.previousSecret).toBe(before.secret);

    await onEndpoint(cli.eventStore, id, { type: 'DeleteEndpoint', now: new Date().toISOString() });
    expect(await service.endpoints.listForWorkspace(before.workspaceId)).toEqual([]);
    expect((await service.endpoints.findById(id))!.deletedAt).not.toBeNull();
  });
});

/** Counts how many times each position of the log was applied: exactly-once made visible. */
class AppliedPositions implements SqliteProjection {
  readonly name = 'contract_applied_positions';
  readonly filter = {};
  readonly tables = ['contract_applied'];

  constructor(private readonly db: SqliteDatabase) {
    db.exec(
      'CREATE TABLE IF NOT EXISTS contract_applied (position INTEGER PRIMARY KEY, times INTEGER NOT NULL)',
    );
  }

  apply(event: RecordedEvent): void {
    this.db
      .prepare(
        'INSERT INTO contract_applied (position, times) VALUES (?, 1) ON CONFLICT (position) DO UPDATE SET times = times + 1',
      )
      .run(event.position);
  }

  reset(): void {
    this.db.exec('DELETE FROM contract_applied');
  }

  times(): Array<{ position: number; times: number }> {
    return this.db
      .prepare<[], { position: number; times: number }>(
        'SELECT position, times FROM contract_applied ORDER BY position',
      )
      .all();
  }
}

describe('SQLite projection runner checkpoints', () => {
  const dir = eachDataDir();

  /** A process's own connection, event store and runner with the counting projection. */
  function openProcess() {
    const db = openSqliteDatabase(dir.dataDir);
    const store = new SqliteEventStore(db);
    const applied = new AppliedPositions(db);
    const runner = new SqliteProjectionRunner(db, store, [applied]);
    runner.start();
    return dir.storages.adopt({
      store,
      runner,
      applied,
      async close() {
        await runner.stop();
        await store.close();
        db.close();
      },
    });
  }

  const appendMany = (store: EventStore, count: number, label: string) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        store.append(`contract-${label}-${i % 13}`, [{ type: 'Counted', data: { i } }], 'any'),
      ),
    );

  /** Every position of the log, each applied once. */
  async function onceEach(store: EventStore): Promise<Array<{ position: number; times: number }>> {
    const log = await store.readAll({ fromPosition: 0, maxCount: 100_000 });
    return log.map((e) => ({ position: e.position, times: 1 }));
  }

  it('resumes from its stored checkpoint after a restart and applies every event exactly once', async () => {
    const first = openProcess();
    await appendMany(first.store, 300, 'before');
    await within(first.runner.waitFor(await first.store.headPosition()), 'the first runner');
    await dir.storages.close(first);

    // Appended while no runner runs: more than one runner batch.
    const offline = await dir.storages.openEventStore(dir.dataDir);
    await appendMany(offline.store, 2500, 'offline');
    await dir.storages.close(offline);

    const second = openProcess();
    await within(second.runner.waitFor(await second.store.headPosition()), 'the restarted runner');
    await appendMany(second.store, 50, 'after');
    await within(second.runner.waitFor(await second.store.headPosition()), 'live events');

    const expected = await onceEach(second.store);
    expect(expected).toHaveLength(2850);
    expect(second.applied.times()).toEqual(expected);
    expect(await second.runner.checkpoints()).toEqual({
      contract_applied_positions: await second.store.headPosition(),
    });
  });

  it('applies every event exactly once when two processes run the runner on one file', async () => {
    const service = openProcess();
    const cli = openProcess();
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        appendMany(service.store, 200, 'service'),
        appendMany(cli.store, 60, 'cli'),
      ]);
    }
    const head = await service.store.headPosition();
    await within(service.runner.waitFor(head), 'the service runner');
    await within(cli.runner.waitFor(head), 'the CLI runner');

    const expected = await onceEach(service.store);
    expect(expected).toHaveLength(5 * 260);
    expect(service.applied.times()).toEqual(expected);
  });
});

/**
 * Due-work leases live in the dispatching connection's memory, so one connection at a time hands
 * work out: it holds a row of the file while it runs, and another takes over when it closes, when
 * its process is gone, or when the row has not been renewed in time.
 */
describe('SQLite due work: one dispatching connection', () => {
  const dir = eachDataDir();
  const workspaceId = randomUUID();
  const lease = 60_000;

  /** Two due WebhookEvents, projected on `engine`; their ids in due order. */
  async function scheduleTwo(engine: Engine): Promise<string[]> {
    const ids = [randomUUID(), randomUUID()];
    const due = Date.now() - 60_000;
    for (const [i, id] of ids.entries()) {
      await publish(engine.eventStore, {
        id,
        endpointId: randomUUID(),
        workspaceId,
        eventType: 'customer.created',
        createdAt: new Date(due + i).toISOString(),
      });
    }
    await within(
      engine.projections.waitFor(await engine.eventStore.headPosition()),
      'the projections',
    );
    return ids;
  }

  const claimIds = async (engine: Engine, now = Date.now()) =>
    (await engine.dueWork.claim(now, 10, lease)).map((w) => w.webhookEventId);

  it('hands work out from one connection only, and from the next one once it closes', async () => {
    const first = await dir.storages.openEngine(dir.dataDir);
    const second = await dir.storages.openEngine(dir.dataDir);
    const ids = await scheduleTwo(first);
    await within(second.projections.waitFor(await first.eventStore.headPosition()), 'second');

    expect(await claimIds(first)).toEqual(ids);
    // The second connection does not dispatch, even though it leased nothing itself...
    expect(await claimIds(second)).toEqual([]);
    // ...and says when to look again, not that work is due now.
    expect(await second.dueWork.nextDueAt()).toBeGreaterThan(Date.now());

    await dir.storages.close(first);
    // The first one's leases ended with it: everything is handed out again, at once.
    expect(await claimIds(second)).toEqual(ids);
  });

  it('takes over at once from a process that is gone, and from a holder that stopped renewing', async () => {
    const first = await dir.storages.openEngine(dir.dataDir);
    const ids = await scheduleTwo(first);
    expect(await claimIds(first)).toEqual(ids);

    // A holder whose process has exited (a crash): its pid no longer runs.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const db = openSqliteDatabase(dir.dataDir);
    try {
      const gonePid = Number(gone.stdout.toString());
      const second = await dir.storages.openEngine(dir.dataDir);
      await within(second.projections.waitFor(await first.eventStore.headPosition()), 'second');
      // Written from another host (a container sharing the directory): its pid means nothing
      // here, so the holder is waited out even though no such process runs on this one.
      db.prepare('UPDATE due_work_dispatcher SET owner = ?, pid = ?').run(
        `elsewhere-${randomUUID()}/${randomUUID()}`,
        gonePid,
      );
      expect(await claimIds(second)).toEqual([]);
      // Written on this host by a process that has exited: taken over at once.
      db.prepare('UPDATE due_work_dispatcher SET owner = ?, pid = ?').run(
        `${hostname()}/${randomUUID()}`,
        gonePid,
      );
      expect(await claimIds(second)).toEqual(ids);

      // A holder in a live process (this one) that has not renewed its row: taken once expired.
      const third = await dir.storages.openEngine(dir.dataDir);
      await within(third.projections.waitFor(await first.eventStore.headPosition()), 'third');
      expect(await claimIds(third)).toEqual([]);
      const until = (db.prepare('SELECT until FROM due_work_dispatcher').get() as { until: number })
        .until;
      expect(await claimIds(third, until - 1)).toEqual([]);
      expect(await claimIds(third, until)).toEqual(ids);
    } finally {
      db.close();
    }
  });
});

describe('SQLite files written by earlier versions', () => {
  const dir = eachDataDir();

  const indexesOf = (db: SqliteDatabase) =>
    db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
         AND tbl_name IN ('webhook_events', 'deliveries') ORDER BY name`,
      )
      .all()
      .map((r) => r.name);

  it('goes on numbering an AUTOINCREMENT log and replaces the descending list indexes', async () => {
    // The log as earlier versions created it, with one event in it.
    let db = openSqliteDatabase(dir.dataDir);
    db.exec(`
      CREATE TABLE events (
        position INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
        metadata TEXT NOT NULL, recorded_at TEXT NOT NULL, UNIQUE (stream_id, revision)
      );
      INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at)
        VALUES ('contract-old', 0, 'Noted', '{}', '{}', '2026-01-01T00:00:00.000Z');
    `);
    db.close();
    await dir.storages.close(await dir.storages.openEngine(dir.dataDir));
    // Their descending indexes, in place of this version's.
    db = openSqliteDatabase(dir.dataDir);
    const current = indexesOf(db);
    for (const name of current) db.exec(`DROP INDEX ${name}`);
    db.exec(`
      CREATE INDEX webhook_events_by_workspace ON webhook_events (workspace_id, created_at DESC, id DESC);
      CREATE INDEX webhook_events_outcomes ON webhook_events (endpoint_id, modified_at DESC)
        WHERE succeeded IS NOT NULL;
      CREATE INDEX deliveries_by_workspace ON deliveries (workspace_id, created_at DESC, id DESC);
      CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, created_at DESC, id DESC);
    `);
    db.close();

    const engine = await dir.storages.openEngine(dir.dataDir);
    const workspaceId = randomUUID();
    const ids = [randomUUID(), randomUUID()];
    const positions: number[] = [];
    for (const [i, id] of ids.entries()) {
      positions.push(
        await publish(engine.eventStore, {
          id,
          endpointId: randomUUID(),
          workspaceId,
          eventType: 'share.created',
          createdAt: new Date(Date.UTC(2026, 0, 2 + i)).toISOString(),
        }),
      );
    }
    expect(positions).toEqual([2, 3]);
    await within(engine.projections.waitFor(3), 'the events to be projected');
    const listed = await engine.deliveries.listEvents({
      workspaceIds: [workspaceId],
      page: { page: 1, limit: 10 },
    });
    expect(listed.items.map((e) => e.id)).toEqual([...ids].reverse());

    db = openSqliteDatabase(dir.dataDir);
    try {
      expect(indexesOf(db)).toEqual(current);
    } finally {
      db.close();
    }
  });
});
