import { randomUUID } from 'node:crypto';
import {
  EventData,
  EventFilter,
  EventStore,
  NewEvent,
  RecordedEvent,
  Subscription,
  WrongExpectedRevisionError,
  matchesFilter,
} from '../../src/eventstore/event-store';
import {
  ContractStorage,
  Received,
  Storages,
  expectStrictlyIncreasing,
  uniquePrefix,
  within,
} from './contract-support';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A test event; `data.id` identifies it wherever it shows up. */
function event(type = 'ContractTested', data: Record<string, unknown> = {}): NewEvent {
  return { type, data: { id: randomUUID(), ...data }, metadata: { source: 'contract' } };
}

function events(count: number, type?: string): NewEvent[] {
  return Array.from({ length: count }, (_, n) => event(type, { n }));
}

const ids = (list: ReadonlyArray<{ data: EventData }>) => list.map((e) => e.data.id);

/** Everything in the log, read in pages so no adapter-side page limit gets in the way. */
async function readWholeLog(store: EventStore, filter?: EventFilter): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (;;) {
    const fromPosition = all.length > 0 ? all[all.length - 1].position : 0;
    const page = await store.readAll({ fromPosition, maxCount: 250, filter });
    if (page.length === 0) return all;
    // Guards the loop itself: a page that does not move forward would never end it.
    if (page[0].position <= fromPosition) throw new Error(`readAll from ${fromPosition} went back`);
    all.push(...page);
  }
}

async function expectConflict(promise: Promise<unknown>, streamId: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  expect((error as WrongExpectedRevisionError).streamId).toBe(streamId);
}

function fulfilled<T>(results: PromiseSettledResult<T>[]): T[] {
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

function rejected<T>(results: PromiseSettledResult<T>[]): unknown[] {
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
}

/**
 * The EventStore port's contract, written once and run against every adapter. Each test gets a
 * fresh, empty storage from `storage.create()`.
 */
export function eventStoreContract(
  name: string,
  storage: Pick<ContractStorage, 'create' | 'openEventStore' | 'destroy'>,
): void {
  describe(`EventStore contract: ${name}`, () => {
    let storages: Storages;
    let store: EventStore;
    let prefix: string;

    beforeEach(async () => {
      storages = new Storages(storage);
      store = (await storages.freshEventStore()).handle.store;
      prefix = uniquePrefix('contract-');
    });
    afterEach(() => storages.release());

    describe('append and readStream', () => {
      it('appends to a new stream with no_stream and reads it back in revision order, intact', async () => {
        const stream = `${prefix}order`;
        const written: NewEvent[] = [
          {
            type: 'OrderPlaced',
            data: { id: randomUUID(), lines: [{ sku: 'a', qty: 2 }], note: 'é ✓ "quoted"' },
            metadata: { version: 1, correlationId: randomUUID() },
          },
          { type: 'OrderPaid', data: { id: randomUUID(), amount: 12.5, nothing: null } },
          { type: 'OrderShipped', data: { id: randomUUID(), nested: { deep: [1, [2, 3]] } } },
        ];

        const result = await store.append(stream, written, 'no_stream');

        expect(result.nextExpectedRevision).toBe(2);
        const read = await store.readStream(stream);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2]);
        expect(read.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }))).toEqual([
          written[0],
          { ...written[1], metadata: {} },
          { ...written[2], metadata: {} },
        ]);
        for (const e of read) {
          expect(e.streamId).toBe(stream);
          expect(e.recordedAt).toMatch(ISO_UTC);
          expect(Number.isNaN(Date.parse(e.recordedAt))).toBe(false);
        }
        expectStrictlyIncreasing(read.map((e) => e.position));
        expect(result.position).toBe(read[2].position);
      });

      it('appends with exact revisions, each result giving the next expected revision', async () => {
        const stream = `${prefix}exact`;
        const first = await store.append(stream, events(1), 'no_stream');
        expect(first.nextExpectedRevision).toBe(0);
        const second = await store.append(stream, events(2), first.nextExpectedRevision);
        expect(second.nextExpectedRevision).toBe(2);
        const third = await store.append(stream, events(1), second.nextExpectedRevision);
        expect(third.nextExpectedRevision).toBe(3);

        const read = await store.readStream(stream);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
        expect(read.map((e) => e.data.n)).toEqual([0, 0, 1, 0]);
        expect([first.position, second.position, third.position]).toEqual([
          read[0].position,
          read[2].position,
          read[3].position,
        ]);
      });

      it("appends with 'any' to a new and to an existing stream", async () => {
        const stream = `${prefix}any`;
        expect((await store.append(stream, events(2), 'any')).nextExpectedRevision).toBe(1);
        expect((await store.append(stream, events(1), 'any')).nextExpectedRevision).toBe(2);
        expect((await store.readStream(stream)).map((e) => e.revision)).toEqual([0, 1, 2]);
      });

      it("appends with 'stream_exists' to an existing stream and fails on a missing one", async () => {
        const missing = `${prefix}missing`;
        await expectConflict(store.append(missing, events(1), 'stream_exists'), missing);
        expect(await store.readStream(missing)).toEqual([]);

        const existing = `${prefix}existing`;
        await store.append(existing, events(1), 'no_stream');
        const result = await store.append(existing, events(1), 'stream_exists');
        expect(result.nextExpectedRevision).toBe(1);
      });

      it('rejects a stale or future revision and no_stream on an existing stream, writing nothing', async () => {
        const stream = `${prefix}stale`;
        await store.append(stream, events(2), 'no_stream');
        const before = await store.readStream(stream);

        for (const expected of [0, 2, 7, 'no_stream'] as const) {
          const error = await store.append(stream, events(1), expected).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: stream, expected, actual: 1 });
        }
        expect(await store.readStream(stream)).toEqual(before);
        expect(await store.headPosition()).toBe(before[1].position);
      });

      it('reads an unknown stream as empty and keeps streams with shared prefixes apart', async () => {
        expect(await store.readStream(`${prefix}never-written`)).toEqual([]);
        await store.append(`${prefix}a`, events(1), 'no_stream');
        await store.append(`${prefix}ab`, events(2), 'no_stream');
        expect(await store.readStream(`${prefix}a`)).toHaveLength(1);
        expect(await store.readStream(`${prefix}ab`)).toHaveLength(2);
      });
    });

    describe('optimistic concurrency', () => {
      it('detects two concurrent appends with the same expected revision: exactly one wins', async () => {
        const stream = `${prefix}race`;
        await store.append(stream, events(1), 'no_stream');
        const a = event('Won', { writer: 'a' });
        const b = event('Won', { writer: 'b' });

        const results = await Promise.allSettled([
          store.append(stream, [a], 0),
          store.append(stream, [b], 0),
        ]);

        expect(fulfilled(results)).toHaveLength(1);
        const errors = rejected(results);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(WrongExpectedRevisionError);
        expect(errors[0]).toMatchObject({ streamId: stream, expected: 0 });
        const winner = results[0].status === 'fulfilled' ? a : b;
        const read = await store.readStream(stream);
        expect(read).toHaveLength(2);
        expect(read[1].data).toEqual(winner.data);
        expect(fulfilled(results)[0]).toEqual({
          nextExpectedRevision: 1,
          position: read[1].position,
        });
      });

      it("lets only one of two concurrent 'no_stream' appends create the stream", async () => {
        const stream = `${prefix}create-race`;
        const results = await Promise.allSettled([
          store.append(stream, [event('Created', { writer: 'a' })], 'no_stream'),
          store.append(stream, [event('Created', { writer: 'b' })], 'no_stream'),
        ]);

        expect(fulfilled(results)).toHaveLength(1);
        expect(rejected(results)[0]).toBeInstanceOf(WrongExpectedRevisionError);
        const read = await store.readStream(stream);
        expect(read).toHaveLength(1);
        expect(read[0].data.writer).toBe(results[0].status === 'fulfilled' ? 'a' : 'b');
      });

      it('lets exactly one of 50 concurrent writers with the same expected revision win', async () => {
        const stream = `${prefix}crowd`;
        await store.append(stream, events(3), 'no_stream');
        const writers = Array.from({ length: 50 }, (_, writer) => [
          event('Written', { writer, part: 1 }),
          event('Written', { writer, part: 2 }),
        ]);

        const results = await Promise.allSettled(writers.map((w) => store.append(stream, w, 2)));

        expect(fulfilled(results)).toHaveLength(1);
        const errors = rejected(results);
        expect(errors).toHaveLength(49);
        for (const error of errors) expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        const read = await store.readStream(stream);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
        expect(read.slice(3).map((e) => e.data)).toEqual(writers[winner].map((e) => e.data));
        expect(fulfilled(results)[0].nextExpectedRevision).toBe(4);
      });

      it('fails a conflicting append without affecting the other appends made with it', async () => {
        const existing = `${prefix}existing`;
        await store.append(existing, events(2), 'no_stream');
        const appends: Array<[string, NewEvent[], Parameters<EventStore['append']>[2]]> = [
          [`${prefix}fresh`, events(2), 'no_stream'],
          [`${prefix}missing`, events(1), 'stream_exists'],
          [existing, events(1), 1],
          [existing, events(1), 0],
          [`${prefix}whatever`, events(3), 'any'],
          [`${prefix}fresh`, events(2), 'no_stream'],
        ];

        // Same tick: an adapter that batches appends (group commit) gets them together.
        const results = await Promise.allSettled(appends.map(([s, e, r]) => store.append(s, e, r)));

        expect(results.slice(1, 5).map((r) => r.status)).toEqual([
          'rejected',
          'fulfilled',
          'rejected',
          'fulfilled',
        ]);
        // The two creations of `fresh` race: whichever an adapter takes first wins.
        expect([results[0].status, results[5].status].sort()).toEqual(['fulfilled', 'rejected']);
        expect(rejected(results)).toHaveLength(3);
        for (const error of rejected(results)) {
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        }
        const freshWinner = results[0].status === 'fulfilled' ? appends[0] : appends[5];
        expect(ids(await store.readStream(`${prefix}fresh`))).toEqual(ids(freshWinner[1]));
        expect(await store.readStream(`${prefix}missing`)).toEqual([]);
        expect(ids((await store.readStream(existing)).slice(2))).toEqual(ids(appends[2][1]));
        expect(ids(await store.readStream(`${prefix}whatever`))).toEqual(ids(appends[4][1]));
        const log = await readWholeLog(store);
        expect(log).toHaveLength(2 + 2 + 1 + 3);
        expectStrictlyIncreasing(log.map((e) => e.position));
      });

      it('fails an append whose data cannot be serialised without affecting the others', async () => {
        const poisoned: NewEvent = { type: 'Poisoned', data: { id: randomUUID(), big: BigInt(1) } };
        const results = await Promise.allSettled([
          store.append(`${prefix}before`, events(1), 'no_stream'),
          store.append(`${prefix}poisoned`, [poisoned], 'no_stream'),
          store.append(`${prefix}after`, events(1), 'no_stream'),
        ]);

        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await store.readStream(`${prefix}before`)).toHaveLength(1);
        expect(await store.readStream(`${prefix}poisoned`)).toEqual([]);
        expect(await store.readStream(`${prefix}after`)).toHaveLength(1);
      });
    });

    describe('global log', () => {
      const STREAMS = 20;
      const APPENDS = 500;

      /** 500 appends of 1-3 events, all requested in the same tick, over 20 streams. */
      async function appendConcurrently(): Promise<{
        appended: Array<{ stream: string; events: NewEvent[]; position: number }>;
      }> {
        const requests = Array.from({ length: APPENDS }, (_, i) => ({
          stream: `${prefix}s-${i % STREAMS}`,
          events: events(1 + (i % 3), i % 2 === 0 ? 'Even' : 'Odd'),
        }));
        const results = await Promise.all(
          requests.map((r) => store.append(r.stream, r.events, 'any')),
        );
        return { appended: requests.map((r, i) => ({ ...r, position: results[i].position })) };
      }

      it('gives strictly increasing positions across streams to many concurrent appends', async () => {
        const { appended } = await appendConcurrently();
        const total = appended.reduce((n, a) => n + a.events.length, 0);

        const log = await store.readAll({ fromPosition: 0, maxCount: total + 100 });

        expect(log).toHaveLength(total);
        expectStrictlyIncreasing(log.map((e) => e.position));
        const written = appended.flatMap((a) => ids(a.events));
        expect(new Set(ids(log)).size).toBe(total);
        expect(new Set(ids(log))).toEqual(new Set(written));
        // Each append's result points at its own last event; its events are in stream order.
        const byId = new Map(log.map((e) => [e.data.id, e]));
        for (const a of appended) {
          const recorded = a.events.map((e) => byId.get(e.data.id)!);
          expect(recorded[recorded.length - 1].position).toBe(a.position);
          expect(recorded.every((e) => e.streamId === a.stream)).toBe(true);
          expectStrictlyIncreasing(recorded.map((e) => e.revision));
        }
        // Per stream, revisions are 0..n-1 in log order, matching readStream.
        for (let s = 0; s < STREAMS; s++) {
          const stream = `${prefix}s-${s}`;
          const inLog = log.filter((e) => e.streamId === stream);
          expect(inLog.map((e) => e.revision)).toEqual(inLog.map((_, i) => i));
          expect(await store.readStream(stream)).toEqual(inLog);
        }
        expect(await store.headPosition()).toBe(log[log.length - 1].position);
      });

      it('reads the log from an exclusive position, at most maxCount events at a time', async () => {
        expect(await store.headPosition()).toBe(0);
        expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual([]);
        await appendConcurrently();
        const log = await readWholeLog(store);

        const after = await store.readAll({ fromPosition: log[10].position, maxCount: 5 });
        expect(after).toEqual(log.slice(11, 16));
        expect(await store.readAll({ fromPosition: 0, maxCount: 7 })).toEqual(log.slice(0, 7));
        expect(await store.readAll({ fromPosition: 0, maxCount: 1 })).toEqual(log.slice(0, 1));
        const last = log[log.length - 1].position;
        expect(await store.readAll({ fromPosition: last, maxCount: 10 })).toEqual([]);
        expect(
          await store.readAll({ fromPosition: log[log.length - 3].position, maxCount: 10 }),
        ).toEqual(log.slice(-2));

        // Paging with an odd page size reconstructs the log exactly.
        const paged: RecordedEvent[] = [];
        for (;;) {
          const from = paged.length > 0 ? paged[paged.length - 1].position : 0;
          const page = await store.readAll({ fromPosition: from, maxCount: 37 });
          expect(page.length).toBeLessThanOrEqual(37);
          if (page.length === 0) break;
          expect(page[0].position).toBeGreaterThan(from);
          paged.push(...page);
        }
        expect(paged).toEqual(log);
        expect(await store.headPosition()).toBe(last);
      });

      it('filters the log by stream prefix and by event type', async () => {
        await appendConcurrently();
        const log = await readWholeLog(store);
        const filters: EventFilter[] = [
          // `s-1` also matches s-10..s-19: a prefix, not a stream name.
          { streamPrefixes: [`${prefix}s-1`] },
          { streamPrefixes: [`${prefix}s-2`, `${prefix}s-3`] },
          { eventTypes: ['Odd'] },
          { streamPrefixes: [`${prefix}s-1`], eventTypes: ['Even'] },
          { streamPrefixes: ['no-such-prefix-'] },
          { eventTypes: ['NoSuchType'] },
        ];

        for (const filter of filters) {
          const expected = log.filter((e) => matchesFilter(e, filter));
          expect(await readWholeLog(store, filter)).toEqual(expected);
          // maxCount counts matching events: a filtered page is full while matches remain.
          const page = await store.readAll({ fromPosition: 0, maxCount: 9, filter });
          expect(page).toEqual(expected.slice(0, 9));
          if (expected.length > 20) {
            const from = expected[10].position;
            const later = await store.readAll({ fromPosition: from, maxCount: 5, filter });
            expect(later).toEqual(expected.slice(11, 16));
          }
        }
        expect((await readWholeLog(store, filters[0])).length).toBeGreaterThan(0);
        expect((await readWholeLog(store, filters[3])).every((e) => e.type === 'Even')).toBe(true);
      });

      it('positions keep increasing across sequential appends, above the previous head', async () => {
        let head = await store.headPosition();
        for (let i = 0; i < 10; i++) {
          const result = await store.append(`${prefix}seq-${i % 3}`, events(2), 'any');
          expect(result.position).toBeGreaterThan(head);
          expect(await store.headPosition()).toBe(result.position);
          head = result.position;
        }
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from the start and then receives live appends, in order, once each', async () => {
        for (let i = 0; i < 30; i++) await store.append(`${prefix}s-${i % 4}`, events(2), 'any');
        const received = new Received();

        const subscription = store.subscribeToAll({ fromPosition: 0 }, received.handler);
        await received.until((e) => e.length >= 60, 'the existing events');
        expect(ids(received.events)).toEqual(ids(await readWholeLog(store)));

        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            store.append(`${prefix}s-${i % 5}`, events(1), 'any'),
          ),
        );
        await store.append(`${prefix}s-0`, events(2), 'any');
        const sentinel = event('Sentinel');
        await store.append(`${prefix}sentinel`, [sentinel], 'no_stream');
        await received.untilId(sentinel.data.id as string);

        const log = await readWholeLog(store);
        expect(received.events).toEqual(log);
        expectStrictlyIncreasing(received.positions);
        await subscription.stop();
        await expect(subscription.done).resolves.toBeUndefined();
      });

      it('misses nothing appended while it is catching up', async () => {
        await Promise.all(
          Array.from({ length: 300 }, (_, i) =>
            store.append(`${prefix}s-${i % 7}`, events(1), 'any'),
          ),
        );
        const received = new Received();

        const subscription = store.subscribeToAll({ fromPosition: 0 }, received.handler);
        const live = Array.from({ length: 300 }, (_, i) =>
          store.append(`${prefix}s-${i % 7}`, events(1), 'any'),
        );
        await Promise.all(live);
        const sentinel = event('Sentinel');
        await store.append(`${prefix}sentinel`, [sentinel], 'no_stream');
        await received.untilId(sentinel.data.id as string);

        expect(received.events).toEqual(await readWholeLog(store));
        await subscription.stop();
      });

      it('serves subscriptions of different speeds, and one started meanwhile, every event in order', async () => {
        const fast = new Received();
        const slow = new Received();
        const fastSubscription = store.subscribeToAll({ fromPosition: 0 }, fast.handler);
        const slowSubscription = store.subscribeToAll({ fromPosition: 0 }, async (e) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          slow.handler(e);
        });
        const late = new Received();
        let lateSubscription: Subscription | undefined;
        for (let wave = 0; wave < 6; wave++) {
          await Promise.all(
            Array.from({ length: 25 }, (_, i) =>
              store.append(`${prefix}w-${i % 4}`, events(1 + (i % 2)), 'any'),
            ),
          );
          if (wave === 2)
            lateSubscription = store.subscribeToAll({ fromPosition: 0 }, late.handler);
        }
        const sentinel = event('Sentinel');
        await store.append(`${prefix}sentinel`, [sentinel], 'no_stream');
        for (const received of [fast, slow, late])
          await received.untilId(sentinel.data.id as string);

        const log = await readWholeLog(store);
        expect(fast.events).toEqual(log);
        expect(slow.events).toEqual(log);
        expect(late.events).toEqual(log);
        await Promise.all(
          [fastSubscription, slowSubscription, lateSubscription!].map((s) => s.stop()),
        );
      });

      it('starts after the given position: from the head it sees only later events', async () => {
        await store.append(`${prefix}old`, events(5), 'no_stream');
        const head = await store.headPosition();
        const received = new Received();

        const subscription = store.subscribeToAll({ fromPosition: head }, received.handler);
        const fresh = events(3);
        await store.append(`${prefix}new`, fresh, 'no_stream');
        await received.untilId(fresh[2].data.id as string);

        expect(ids(received.events)).toEqual(ids(fresh));
        await subscription.stop();
      });

      it('resumed from the checkpoint of its last handled event, sees every later event once and in order', async () => {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.append(`${prefix}s-${i % 5}`, events(2), 'any'),
          ),
        );
        const K = 37;
        const first: RecordedEvent[] = [];
        let checkpoint = 0;
        let stopping: Promise<void> | undefined;
        const subscription = store.subscribeToAll({ fromPosition: 0 }, (e) => {
          first.push(e);
          checkpoint = e.position;
          if (first.length === K) stopping = subscription.stop();
        });
        await within(
          (async () => {
            while (!stopping) await new Promise((resolve) => setImmediate(resolve));
            await stopping;
          })(),
          'the subscription to stop',
        );
        await subscription.done;
        // Stopping during event K means nothing after K is handled.
        expect(first).toHaveLength(K);

        // Appended while stopped, then live after resuming.
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            store.append(`${prefix}s-${i % 6}`, events(1), 'any'),
          ),
        );
        const resumed = new Received();
        const second = store.subscribeToAll({ fromPosition: checkpoint }, resumed.handler);
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            store.append(`${prefix}t-${i % 6}`, events(1), 'any'),
          ),
        );
        const sentinel = event('Sentinel');
        await store.append(`${prefix}sentinel`, [sentinel], 'no_stream');
        await resumed.untilId(sentinel.data.id as string);
        await second.stop();

        const log = await readWholeLog(store);
        expect([...first, ...resumed.events]).toEqual(log);
        expect(resumed.events[0].position).toBeGreaterThan(checkpoint);
      });

      it('resumes from a checkpoint after the store is closed and re-opened', async () => {
        const { storageId, handle } = await storages.freshEventStore();
        const before = events(6);
        for (const e of before) await handle.store.append(`${prefix}a`, [e], 'any');
        const received = new Received();
        const subscription = handle.store.subscribeToAll({ fromPosition: 0 }, received.handler);
        await received.untilId(before[3].data.id as string);
        await subscription.stop();
        const checkpoint = received.events[received.events.length - 1].position;
        const handled = received.events.length;
        expect(handled).toBeGreaterThanOrEqual(4);
        await storages.close(handle);

        const reopened = await storages.openEventStore(storageId);
        const later = events(4);
        await reopened.store.append(`${prefix}b`, later, 'no_stream');
        const resumed = new Received();
        const second = reopened.store.subscribeToAll({ fromPosition: checkpoint }, resumed.handler);
        await resumed.untilId(later[3].data.id as string);
        await second.stop();

        expect([...received.events, ...resumed.events]).toEqual(await readWholeLog(reopened.store));
        expect(ids(resumed.events.slice(-4))).toEqual(ids(later));
      });

      it('delivers only the events that match its filter', async () => {
        const filter: EventFilter = { streamPrefixes: [`${prefix}keep-`], eventTypes: ['Wanted'] };
        const append = () =>
          Promise.all(
            Array.from({ length: 60 }, (_, i) =>
              store.append(
                `${prefix}${i % 3 === 0 ? 'drop' : 'keep'}-${i % 4}`,
                [event(i % 2 === 0 ? 'Wanted' : 'Unwanted')],
                'any',
              ),
            ),
          );
        await append();
        const received = new Received();

        const subscription = store.subscribeToAll({ fromPosition: 0, filter }, received.handler);
        await append();
        const sentinel = event('Wanted');
        await store.append(`${prefix}keep-sentinel`, [sentinel], 'no_stream');
        await received.untilId(sentinel.data.id as string);
        await subscription.stop();

        const expected = (await readWholeLog(store)).filter((e) => matchesFilter(e, filter));
        expect(received.events).toEqual(expected);
        expect(received.events.length).toBeGreaterThan(20);
      });

      it('hands events to an async handler one at a time', async () => {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.append(`${prefix}s-${i % 3}`, events(1), 'any'),
          ),
        );
        let active = 0;
        let maxActive = 0;
        const received = new Received();
        const subscription = store.subscribeToAll({ fromPosition: 0 }, async (e) => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise((resolve) => setImmediate(resolve));
          received.handler(e);
          active -= 1;
        });
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.append(`${prefix}s-${i % 3}`, events(1), 'any'),
          ),
        );
        await received.until((e) => e.length >= 40, 'all 40 events');
        await subscription.stop();

        expect(maxActive).toBe(1);
        expect(received.events).toEqual(await readWholeLog(store));
      });

      it('rejects done with the error of a throwing handler, and handles nothing after it', async () => {
        await store.append(`${prefix}s`, events(10), 'no_stream');
        const failure = new Error('handler failed');
        const handled: RecordedEvent[] = [];

        const subscription = store.subscribeToAll({ fromPosition: 0 }, (e) => {
          handled.push(e);
          if (handled.length === 4) throw failure;
        });

        await expect(within(subscription.done, 'done to reject')).rejects.toBe(failure);
        await store.append(`${prefix}s`, events(2), 'any');
        await subscription.stop();
        expect(handled).toHaveLength(4);
      });

      it('rejects done when an async handler rejects during live delivery', async () => {
        const failure = new Error('async handler failed');
        const subscription = store.subscribeToAll({ fromPosition: 0 }, async (e) => {
          if (e.type === 'Bad') throw failure;
        });
        const failed = expect(within(subscription.done, 'done to reject')).rejects.toBe(failure);
        await store.append(`${prefix}s`, [event('Good'), event('Bad'), event('Good')], 'no_stream');
        await failed;
      });

      it('stops while waiting for live events and resolves done', async () => {
        const received = new Received();
        const subscription = store.subscribeToAll({ fromPosition: 0 }, received.handler);
        const first = event();
        await store.append(`${prefix}s`, [first], 'no_stream');
        await received.untilId(first.data.id as string);

        await within(subscription.stop(), 'stop');
        await expect(subscription.done).resolves.toBeUndefined();
        await store.append(`${prefix}s`, events(3), 'any');
        // A subscription started after them sees the later events: the stopped one did not.
        const witness = new Received();
        const check = store.subscribeToAll({ fromPosition: 0 }, witness.handler);
        await witness.until((e) => e.length >= 4, 'all 4 events');
        await check.stop();
        expect(received.events).toHaveLength(1);
      });
    });

    describe('durability', () => {
      it('keeps every stream and the global log across close and re-open', async () => {
        const { storageId, handle } = await storages.freshEventStore();
        await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            handle.store.append(`${prefix}s-${i % 10}`, events(1 + (i % 2)), 'any'),
          ),
        );
        const log = await readWholeLog(handle.store);
        const streams = await Promise.all(
          Array.from({ length: 10 }, (_, s) => handle.store.readStream(`${prefix}s-${s}`)),
        );
        const head = await handle.store.headPosition();
        await storages.close(handle);

        const reopened = await storages.openEventStore(storageId);
        expect(await readWholeLog(reopened.store)).toEqual(log);
        expect(await reopened.store.headPosition()).toBe(head);
        for (let s = 0; s < 10; s++) {
          expect(await reopened.store.readStream(`${prefix}s-${s}`)).toEqual(streams[s]);
        }

        // Revisions and positions continue where they were.
        const last = streams[0][streams[0].length - 1].revision;
        await expectConflict(
          reopened.store.append(`${prefix}s-0`, events(1), last - 1),
          `${prefix}s-0`,
        );
        const next = await reopened.store.append(`${prefix}s-0`, events(1), last);
        expect(next.nextExpectedRevision).toBe(last + 1);
        expect(next.position).toBeGreaterThan(head);
        await expectConflict(
          reopened.store.append(`${prefix}s-1`, events(1), 'no_stream'),
          `${prefix}s-1`,
        );
      });
    });
  });
}
