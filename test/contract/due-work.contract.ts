import { randomUUID } from 'node:crypto';
import { DueWork } from '../../src/delivery/due-work';
import { Engine } from '../../src/engine/engine';
import { EventStore } from '../../src/eventstore/event-store';
import { ContractStorage, Storages, within } from './contract-support';
import { archive, attempt, publish, redeliver, skip } from './deliveries.contract';

const LEASE_MS = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The due-work queue's contract, run against every engine. Work is scheduled by appending real
 * WebhookEvent events (created, attempted, failed, skipped, redelivered, archived); claims pass
 * explicit times, so leases end when a test says so, without waiting. Due times are near the real
 * clock, since `nextDueAt` has no `now` of its own.
 */
export function dueWorkContract(name: string, storage: ContractStorage): void {
  describe(`Due-work queue contract: ${name}`, () => {
    let storages: Storages;
    let storageId: string;
    let engine: Engine;
    let store: EventStore;
    /** A minute ago: due times are this plus a few seconds. */
    let t0: number;
    const workspaceId = randomUUID();

    beforeEach(async () => {
      storages = new Storages(storage);
      storageId = await storages.create();
      engine = await storages.openEngine(storageId);
      store = engine.eventStore;
      t0 = Date.now() - 60_000;
    });
    afterEach(() => storages.release());

    async function projected(on: Engine = engine): Promise<void> {
      const head = await store.headPosition();
      await within(on.projections.waitFor(head), `projections to reach ${head}`);
    }

    /** A new WebhookEvent for `endpointId`, due at `dueAt` (its creation time). */
    async function schedule(endpointId: string, dueAt: number): Promise<string> {
      const id = randomUUID();
      await publish(store, {
        id,
        endpointId,
        workspaceId,
        eventType: 'customer.created',
        createdAt: iso(dueAt),
      });
      return id;
    }

    const work = (webhookEventId: string, endpointId: string, attemptsMade = 0): DueWork => ({
      webhookEventId,
      endpointId,
      attemptsMade,
    });

    it('claims due work oldest due first, then in publish order, up to the limit, never what is not due', async () => {
      const [e1, e2, e3] = [randomUUID(), randomUUID(), randomUUID()];
      const a = await schedule(e1, t0 + 2000);
      const b = await schedule(e2, t0 + 1000);
      const c = await schedule(e1, t0 + 1000);
      const d = await schedule(e3, t0 + 3000);
      const future = await schedule(e1, Date.now() + 3_600_000);
      await projected();

      expect(await engine.dueWork.depth()).toBe(5);
      expect(await engine.dueWork.pendingFor(e1)).toEqual([a, c, future]);
      expect(await engine.dueWork.pendingFor(e2)).toEqual([b]);
      expect(await engine.dueWork.pendingFor(randomUUID())).toEqual([]);

      const now = Date.now();
      expect(await engine.dueWork.claim(now, 2, LEASE_MS)).toEqual([work(b, e2), work(c, e1)]);
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toEqual([work(a, e1), work(d, e3)]);
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toEqual([]);
      // Leasing does not take anything out of the queue.
      expect(await engine.dueWork.depth()).toBe(5);
      expect(await engine.dueWork.pendingFor(e1)).toEqual([a, c, future]);
    });

    it('hands a leased item out again only once its lease has ended (a crash between send and record)', async () => {
      const [e1, e2] = [randomUUID(), randomUUID()];
      const a = await schedule(e1, t0);
      const b = await schedule(e2, t0 + 1000);
      const c = await schedule(e1, t0 + 2000);
      await projected();

      const now = Date.now();
      expect(await engine.dueWork.claim(now, 10, 30_000)).toEqual([
        work(a, e1),
        work(b, e2),
        work(c, e1),
      ]);
      expect(await engine.dueWork.claim(now + 29_999, 10, 30_000)).toEqual([]);
      expect(await engine.dueWork.claim(now + 30_000, 1, 30_000)).toEqual([work(a, e1)]);
      expect(await engine.dueWork.claim(now + 30_000, 10, 30_000)).toEqual([
        work(b, e2),
        work(c, e1),
      ]);
      expect(await engine.dueWork.claim(now + 59_999, 10, 30_000)).toEqual([]);
    });

    it('ends its own leases on releaseLeases(), so a restarted dispatcher resends at once', async () => {
      const e1 = randomUUID();
      const a = await schedule(e1, t0);
      const b = await schedule(e1, t0 + 1);
      await projected();

      const now = Date.now();
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toEqual([work(a, e1), work(b, e1)]);
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toEqual([]);
      await engine.dueWork.releaseLeases();
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toEqual([work(a, e1), work(b, e1)]);
    });

    it('reschedules a failed attempt, counting attempts; removes finished work; a redelivery comes back fresh', async () => {
      const [e1, e2, e3] = [randomUUID(), randomUUID(), randomUUID()];
      const x = await schedule(e1, t0);
      const y = await schedule(e1, t0 + 1000);
      const z = await schedule(e2, t0 + 2000);
      const w = await schedule(e3, t0 + 3000);
      await projected();
      const now = Date.now();
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toHaveLength(4);

      await attempt(store, x, { httpCode: 500, at: iso(now), retryDelayMs: 5000 });
      await attempt(store, y, { httpCode: 200, at: iso(now), retryDelayMs: null });
      // Budget spent: the attempt and WebhookEventFailed.
      await attempt(store, z, { httpCode: 404, at: iso(now), retryDelayMs: null });
      await skip(store, w, iso(now));
      await projected();

      expect(await engine.dueWork.depth()).toBe(1);
      expect(await engine.dueWork.pendingFor(e1)).toEqual([x]);
      expect(await engine.dueWork.pendingFor(e2)).toEqual([]);
      // Rescheduled: due at the retry time, and its lease is over.
      expect(await engine.dueWork.claim(now + 4999, 10, LEASE_MS)).toEqual([]);
      expect(await engine.dueWork.claim(now + 5000, 10, LEASE_MS)).toEqual([work(x, e1, 1)]);
      await attempt(store, x, { httpCode: null, at: iso(now + 5000), retryDelayMs: 10_000 });
      await projected();
      expect(await engine.dueWork.claim(now + 15_000, 10, LEASE_MS)).toEqual([work(x, e1, 2)]);

      // A new event and then a redelivery, both due at the same time: publish order.
      const v = await schedule(e2, now + 20_000);
      await redeliver(store, y, iso(now + 20_000));
      await projected();
      expect(await engine.dueWork.pendingFor(e1)).toEqual([x, y]);
      expect(await engine.dueWork.claim(now + 20_000, 10, LEASE_MS)).toEqual([
        work(v, e2),
        work(y, e1),
      ]);

      // Archived while leased: gone.
      await archive(store, x, iso(now + 21_000));
      await projected();
      expect(await engine.dueWork.pendingFor(e1)).toEqual([y]);
      expect(await engine.dueWork.depth()).toBe(2);
    });

    it('says when the next item falls due: the earliest unleased due time or lease end, null when empty', async () => {
      expect(await engine.dueWork.nextDueAt()).toBeNull();
      const e1 = randomUUID();
      const due = t0 + 1000;
      const later = Date.now() + 3_600_000;
      const a = await schedule(e1, due);
      const future = await schedule(randomUUID(), later);
      await projected();
      expect(await engine.dueWork.nextDueAt()).toBe(due);

      const now = Date.now();
      expect(await engine.dueWork.claim(now, 10, LEASE_MS)).toEqual([work(a, e1)]);
      expect(await engine.dueWork.nextDueAt()).toBe(now + LEASE_MS);

      await attempt(store, a, { httpCode: 204, at: iso(now), retryDelayMs: null });
      await projected();
      expect(await engine.dueWork.nextDueAt()).toBe(later);
      await skip(store, future, iso(now));
      await projected();
      expect(await engine.dueWork.nextDueAt()).toBeNull();
      expect(await engine.dueWork.depth()).toBe(0);
    });

    it('rebuilds the same queue from the log: finished work stays finished', async () => {
      const [e1, e2] = [randomUUID(), randomUUID()];
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await schedule(i % 2 ? e1 : e2, t0 + i * 1000));
      const now = Date.now();
      await attempt(store, ids[0], { httpCode: 200, at: iso(now), retryDelayMs: null });
      await attempt(store, ids[1], { httpCode: 500, at: iso(now), retryDelayMs: 7000 });
      await skip(store, ids[2], iso(now));
      await attempt(store, ids[3], { httpCode: 500, at: iso(now), retryDelayMs: null });
      await redeliver(store, ids[3], iso(now + 1));
      await archive(store, ids[4], iso(now));
      await projected();
      const snapshot = async () => ({
        depth: await engine.dueWork.depth(),
        e1: await engine.dueWork.pendingFor(e1),
        e2: await engine.dueWork.pendingFor(e2),
        next: await engine.dueWork.nextDueAt(),
      });
      const before = await snapshot();
      expect(before).toEqual({
        depth: 5,
        e1: [ids[1], ids[5], ids[7], ids[3]],
        e2: [ids[6]],
        next: t0 + 5000,
      });

      await within(engine.projections.rebuild(), 'rebuild');
      expect(await snapshot()).toEqual(before);
      expect(await engine.dueWork.claim(now + 7000, 10, LEASE_MS)).toEqual([
        work(ids[5], e1),
        work(ids[6], e2),
        work(ids[7], e1),
        work(ids[3], e1),
        work(ids[1], e1, 1),
      ]);
    });

    it('never hands one item to two engines sharing the storage, and hands every item out', async () => {
      const second = await storages.openEngine(storageId);
      const endpoints = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const ids: string[] = [];
      for (let i = 0; i < 16; i++) ids.push(await schedule(endpoints[i % 4], t0 + i * 10));
      await projected();
      await projected(second);

      const now = Date.now();
      const claimed: string[] = [];
      for (let round = 0; round < 50; round++) {
        const [first, other] = await Promise.all([
          engine.dueWork.claim(now, 3, LEASE_MS),
          second.dueWork.claim(now, 3, LEASE_MS),
        ]);
        claimed.push(...[...first, ...other].map((w) => w.webhookEventId));
        if (first.length === 0 && other.length === 0) break;
      }
      expect(claimed.filter((id, i) => claimed.indexOf(id) !== i)).toEqual([]);
      expect([...claimed].sort()).toEqual([...ids].sort());
      expect(await second.dueWork.depth()).toBe(16);
    });
  });
}
