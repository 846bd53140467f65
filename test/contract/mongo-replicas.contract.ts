import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { DueWork } from '../../src/delivery/due-work';
import { openSqliteDatabase } from '../../src/eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../src/eventstore/sqlite/sqlite-event-store';
import {
  MongoReadModels,
  openMongoReadModels,
} from '../../src/projections/mongo/mongo-read-models';
import { within } from './contract-support';
import { publish } from './deliveries.contract';

const LEASE_MS = 60_000;

/**
 * What only a shared MongoDB gives: several replicas on one database, each with its own
 * replicaId (the embedded engine is one process and has no such guarantees). Run against a real
 * server when MONGODB_URI is set; each test gets its own database and SQLite log.
 */
export function mongoReplicasContract(uri: string): void {
  describe('MongoDB read models shared by replicas', () => {
    let dataDir: string;
    let database: string;
    const closers: Array<() => Promise<void>> = [];

    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'rapidly-replicas-'));
      database = `rapidly_replicas_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    });
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      const client = new MongoClient(uri);
      try {
        await client.db(database).dropDatabase();
      } finally {
        await client.close();
      }
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** One replica: its own connection to the shared log and its own read models. */
    async function replica(replicaId: string, start = true) {
      const db = openSqliteDatabase(dataDir);
      const eventStore = new SqliteEventStore(db);
      const readModels: MongoReadModels = await openMongoReadModels({
        uri,
        database,
        eventStore,
        replicaId,
      });
      closers.push(async () => {
        await readModels.close();
        await eventStore.close();
        db.close();
      });
      if (start) readModels.projections.start();
      return { eventStore, readModels };
    }

    async function caughtUp(...replicas: Array<Awaited<ReturnType<typeof replica>>>) {
      for (const r of replicas) {
        const head = await r.eventStore.headPosition();
        await within(r.readModels.projections.waitFor(head), `replica to reach ${head}`);
      }
    }

    it("ends only this replica's leases on releaseLeases()", async () => {
      const a = await replica('replica-a');
      const b = await replica('replica-b');
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const id = randomUUID();
        ids.push(id);
        await publish(a.eventStore, {
          id,
          endpointId: randomUUID(),
          workspaceId: randomUUID(),
          eventType: 'customer.created',
          createdAt: new Date(Date.now() - 60_000 + i).toISOString(),
        });
      }
      await caughtUp(a, b);
      const now = Date.now();
      const byA = await a.readModels.dueWork.claim(now, 2, LEASE_MS);
      const byB = await b.readModels.dueWork.claim(now, 2, LEASE_MS);
      expect([...byA, ...byB].map((w) => w.webhookEventId).sort()).toEqual([...ids].sort());

      await a.readModels.dueWork.releaseLeases();
      // A's items are free again; B's are still B's.
      expect(await b.readModels.dueWork.claim(now, 10, LEASE_MS)).toEqual(byA);
      expect(await a.readModels.dueWork.claim(now, 10, LEASE_MS)).toEqual([]);
    });

    it('never lets two replicas hold first attempts of one endpoint at once (publish order)', async () => {
      const replicas = [await replica('r1'), await replica('r2'), await replica('r3')];
      const endpoints = Array.from({ length: 5 }, () => randomUUID());
      for (let i = 0; i < 40; i++) {
        await publish(replicas[0].eventStore, {
          id: randomUUID(),
          endpointId: endpoints[i % endpoints.length],
          workspaceId: randomUUID(),
          eventType: 'customer.created',
          createdAt: new Date(Date.now() - 60_000 + i).toISOString(),
        });
      }
      await caughtUp(...replicas);
      const now = Date.now();
      const held = replicas.map(() => [] as DueWork[]);
      for (let round = 0; round < 30; round++) {
        const claims = await Promise.all(
          replicas.map((r) => r.readModels.dueWork.claim(now, 2, LEASE_MS)),
        );
        claims.forEach((claimed, i) => held[i].push(...claimed));
        if (claims.every((c) => c.length === 0)) break;
      }
      const holders = new Map<string, Set<number>>();
      held.forEach((items, i) =>
        items.forEach((w) =>
          holders.set(w.endpointId, (holders.get(w.endpointId) ?? new Set()).add(i)),
        ),
      );
      expect([...holders.values()].filter((h) => h.size > 1)).toEqual([]);
      expect(held.flat()).toHaveLength(40);
    });

    it('applies the projections on one replica; a standby sees its writes and takes over when it stops', async () => {
      const a = await replica('replica-a');
      const b = await replica('replica-b');
      const id = randomUUID();
      await publish(b.eventStore, {
        id,
        endpointId: randomUUID(),
        workspaceId: randomUUID(),
        eventType: 'share.created',
        createdAt: new Date().toISOString(),
      });
      await caughtUp(a, b);
      expect(await b.readModels.deliveries.findEvent(id)).toMatchObject({ id });

      await closers.shift()!(); // replica A stops and releases the lease
      const next = randomUUID();
      await publish(b.eventStore, {
        id: next,
        endpointId: randomUUID(),
        workspaceId: randomUUID(),
        eventType: 'share.created',
        createdAt: new Date().toISOString(),
      });
      await caughtUp(b);
      expect(await b.readModels.deliveries.findEvent(next)).toMatchObject({ id: next });
      expect(Object.values(await b.readModels.projections.checkpoints())).toEqual(
        Array(4).fill(await b.eventStore.headPosition()),
      );
    });
  });
}
