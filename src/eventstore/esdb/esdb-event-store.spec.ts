import { binaryEvent, jsonEvent } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import {
  EventFilter,
  NewEvent,
  RecordedEvent,
  WrongExpectedRevisionError,
  matchesFilter,
} from '../event-store';
import { EsdbEventStore, connectEventStoreDb } from './esdb-event-store';
import { FakeEsdbClient } from './testing/fake-esdb-client';
import { FAST_RECONNECT, eventually, settle } from './testing/waiting';

/*
 * The adapter's own logic against FakeEsdbClient, an in-memory FAKE of the client methods it
 * uses. Whether a real EventStoreDB behaves as the fake assumes is what the contract suite in
 * test/contract proves, run against a server (EVENTSTORE_CONNECTION_STRING).
 */

function event(type = 'Tested', data: Record<string, unknown> = {}): NewEvent {
  return { type, data: { id: randomUUID(), ...data } };
}

const events = (count: number, type?: string) => Array.from({ length: count }, () => event(type));

/** Everything the store's log holds, read in pages. */
async function wholeLog(store: EsdbEventStore, filter?: EventFilter): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (;;) {
    const from = all.length > 0 ? all[all.length - 1].position : 0;
    const page = await store.readAll({ fromPosition: from, maxCount: 100, filter });
    if (page.length === 0) return all;
    if (page[0].position <= from) throw new Error(`readAll from ${from} went back`);
    all.push(...page);
  }
}

describe('EsdbEventStore (against FakeEsdbClient)', () => {
  let server: FakeEsdbClient;
  let store: EsdbEventStore;

  beforeEach(() => {
    server = new FakeEsdbClient();
    store = new EsdbEventStore(server, { streamPrefix: 'ns-', reconnect: FAST_RECONNECT });
  });
  afterEach(() => store.close());

  /** Another deployment, or a system service, writing to the same server. */
  async function foreign(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await server.appendToStream(`other-${i % 3}`, [jsonEvent({ type: 'Tested', data: { i } })]);
    }
    await server.appendToStream('$stats-127.0.0.1:2113', [
      jsonEvent({ type: '$statsCollected', data: {} }),
    ]);
  }

  describe('append', () => {
    it('writes to the namespaced stream and answers with the revision and the last position', async () => {
      const result = await store.append('order-1', events(3), 'no_stream');

      expect(result.nextExpectedRevision).toBe(2);
      expect(server.log.map((e) => e.streamId)).toEqual(['ns-order-1', 'ns-order-1', 'ns-order-1']);
      expect(result.position).toBe(Number(server.log[2].position.commit));
      const read = await store.readStream('order-1');
      expect(read.map((e) => e.revision)).toEqual([0, 1, 2]);
      expect(result.position).toBe(read[2].position);
    });

    it('turns a conflict into WrongExpectedRevisionError naming the port stream', async () => {
      await store.append('order-1', events(2), 'no_stream');
      for (const expected of [0, 5, 'no_stream'] as const) {
        const error = await store.append('order-1', events(1), expected).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: 'order-1', expected, actual: 1 });
      }
      const missing = await store.append('nope', events(1), 'stream_exists').catch((e) => e);
      expect(missing).toMatchObject({ streamId: 'nope', expected: 'stream_exists', actual: -1 });
    });

    it('rejects data that JSON cannot hold without sending anything', async () => {
      const poisoned: NewEvent = { type: 'Poisoned', data: { big: BigInt(1) } };
      await expect(store.append('p', [event(), poisoned], 'any')).rejects.toThrow(TypeError);
      expect(server.appendCalls).toBe(0);
      expect(await store.readStream('p')).toEqual([]);
    });

    it('rejects an empty append', async () => {
      await expect(store.append('e', [], 'any')).rejects.toThrow('Cannot append zero events');
    });
  });

  describe('readStream', () => {
    it('reads a stream never written as empty', async () => {
      expect(await store.readStream('never-written')).toEqual([]);
    });

    it('reads back data, metadata ({} when none), the stream without prefix and an ISO time', async () => {
      await store.append('s', [{ type: 'A', data: { x: 1 }, metadata: { v: 1 } }], 'any');
      await store.append('s', [{ type: 'B', data: { y: [1, 2] } }], 'any');
      const read = await store.readStream('s');
      expect(
        read.map(({ streamId, type, data, metadata }) => ({ streamId, type, data, metadata })),
      ).toEqual([
        { streamId: 's', type: 'A', data: { x: 1 }, metadata: { v: 1 } },
        { streamId: 's', type: 'B', data: { y: [1, 2] }, metadata: {} },
      ]);
      for (const e of read)
        expect(e.recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('keeps streams of other namespaces apart', async () => {
      const other = new EsdbEventStore(server, { streamPrefix: 'other-ns-' });
      await other.append('s', events(2), 'any');
      expect(await store.readStream('s')).toEqual([]);
    });
  });

  describe('readAll', () => {
    it("reads only the namespace's events, none of other streams or system events", async () => {
      await foreign(5);
      await store.append('a', events(2), 'any');
      await foreign(5);
      await store.append('b', events(1), 'any');
      await server.appendToStream('ns-binary', [
        binaryEvent({ type: 'Raw', data: new Uint8Array([1]) }),
      ]);

      const log = await store.readAll({ fromPosition: 0, maxCount: 100 });
      expect(log.map((e) => e.streamId)).toEqual(['a', 'a', 'b']);
      expect(log).toEqual([...(await store.readStream('a')), ...(await store.readStream('b'))]);
    });

    it('reads from an exclusive position, maxCount at a time, across many pages', async () => {
      for (let i = 0; i < 30; i++) {
        await store.append(`s-${i % 4}`, events(50), 'any');
        await foreign(2);
      }
      const log = await store.readAll({ fromPosition: 0, maxCount: 5_000 });
      expect(log).toHaveLength(1_500);
      expect(log.every((e, i) => i === 0 || e.position > log[i - 1].position)).toBe(true);

      expect(await store.readAll({ fromPosition: log[10].position, maxCount: 5 })).toEqual(
        log.slice(11, 16),
      );
      expect(await store.readAll({ fromPosition: 0, maxCount: 1 })).toEqual(log.slice(0, 1));
      const last = log[log.length - 1].position;
      expect(await store.readAll({ fromPosition: last, maxCount: 10 })).toEqual([]);
      expect(await wholeLog(store)).toEqual(log);
    });

    it('counts matching events against maxCount and filters by stream prefix and type', async () => {
      for (let i = 0; i < 120; i++) {
        await store.append(`s-${i % 12}`, [event(i % 2 === 0 ? 'Even' : 'Odd')], 'any');
        if (i % 10 === 0) await foreign(3);
      }
      const log = await wholeLog(store);
      const filters: EventFilter[] = [
        { streamPrefixes: ['s-1'] },
        { streamPrefixes: ['s-2', 's-3'] },
        { eventTypes: ['Odd'] },
        { streamPrefixes: ['s-1'], eventTypes: ['Even'] },
        { streamPrefixes: ['nothing-'] },
        { streamPrefixes: [] },
      ];
      for (const filter of filters) {
        const expected = log.filter((e) => matchesFilter(e, filter));
        expect(await wholeLog(store, filter)).toEqual(expected);
        expect(await store.readAll({ fromPosition: 0, maxCount: 9, filter })).toEqual(
          expected.slice(0, 9),
        );
      }
    });

    it('skips, once it knows, the part of $all before the namespace began', async () => {
      await foreign(2_000);
      const first = server.readAllCalls;
      expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual([]);
      expect(server.readAllCalls - first).toBeGreaterThan(2);

      const again = server.readAllCalls;
      expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual([]);
      expect(server.readAllCalls - again).toBe(1);

      await store.append('a', events(2), 'any');
      await foreign(2_000);
      await store.append('b', events(1), 'any');
      const log = await store.readAll({ fromPosition: 0, maxCount: 10 });
      expect(log.map((e) => e.streamId)).toEqual(['a', 'a', 'b']);
      const later = server.readAllCalls;
      expect(await store.readAll({ fromPosition: 0, maxCount: 2 })).toEqual(log.slice(0, 2));
      expect(server.readAllCalls - later).toBe(1);
    });

    it('learns nothing from a read that started after a part it knows nothing of', async () => {
      const otherProcess = new EsdbEventStore(server, { streamPrefix: 'ns-' });
      const { position } = await otherProcess.append('a', events(1), 'any');
      await foreign(50);
      expect(await store.readAll({ fromPosition: position, maxCount: 10 })).toEqual([]);
      expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual(
        await store.readStream('a'),
      );
    });

    it('skips what a head read found empty', async () => {
      await foreign(2_000);
      expect(await store.headPosition()).toBe(0);
      const before = server.readAllCalls;
      expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual([]);
      expect(server.readAllCalls - before).toBe(1);
      await store.append('a', events(1), 'any');
      expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual(
        await store.readStream('a'),
      );
    });

    it('reads the whole log without a namespace, but for system events', async () => {
      const open = new EsdbEventStore(server);
      await open.append('x', events(2), 'any');
      await foreign(2);
      const log = await open.readAll({ fromPosition: 0, maxCount: 100 });
      expect(log.map((e) => e.streamId)).toEqual(['x', 'x', 'other-0', 'other-1']);
    });
  });

  describe('headPosition', () => {
    it('is 0 for an empty namespace, whatever else the server holds', async () => {
      expect(await store.headPosition()).toBe(0);
      await foreign(40);
      expect(await store.headPosition()).toBe(0);
    });

    it("is the namespace's newest event, past many newer events of others", async () => {
      const { position } = await store.append('a', events(2), 'any');
      await foreign(100);
      expect(await store.headPosition()).toBe(position);
    });

    it('reads again only what is new since the last call', async () => {
      const { position } = await store.append('a', events(1), 'any');
      await foreign(2_000);
      const before = server.readAllCalls;
      expect(await store.headPosition()).toBe(position);
      expect(server.readAllCalls - before).toBeGreaterThan(2);

      await foreign(5);
      const again = server.readAllCalls;
      expect(await store.headPosition()).toBe(position);
      expect(server.readAllCalls - again).toBe(1);
    });

    it('sees appends made by another process, and never goes back', async () => {
      await store.append('a', events(1), 'any');
      const otherProcess = new EsdbEventStore(server, { streamPrefix: 'ns-' });
      for (let i = 0; i < 5; i++) {
        await foreign(50);
        const { position } = await otherProcess.append('b', events(1), 'any');
        await foreign(7);
        expect(await store.headPosition()).toBe(position);
      }
      const head = await store.headPosition();
      await foreign(10);
      expect(await store.headPosition()).toBe(head);
      expect((await wholeLog(store)).pop()?.position).toBe(head);
    });
  });

  describe('subscribeToAll', () => {
    it('catches up, goes live, and delivers only matching events of the namespace', async () => {
      await store.append('keep-1', [event('Wanted'), event('Unwanted')], 'any');
      await foreign(3);
      await store.append('drop-1', [event('Wanted')], 'any');
      const received: RecordedEvent[] = [];
      const subscription = store.subscribeToAll(
        { fromPosition: 0, filter: { streamPrefixes: ['keep-'], eventTypes: ['Wanted'] } },
        (e) => {
          received.push(e);
        },
      );
      await store.append('keep-2', [event('Wanted')], 'any');
      await foreign(3);
      await eventually(() => received.length === 2, 'the wanted events');
      await subscription.stop();

      expect(received.map((e) => e.streamId)).toEqual(['keep-1', 'keep-2']);
      expect(received).toEqual(
        (await wholeLog(store)).filter(
          (e) => e.streamId.startsWith('keep-') && e.type === 'Wanted',
        ),
      );
      expect(server.subscribeCalls[0].filter).toMatchObject({ prefixes: ['ns-keep-'] });
    });

    it('from the head, sees only later events, and survives a dropped connection', async () => {
      await store.append('old', events(3), 'any');
      const received: RecordedEvent[] = [];
      const subscription = store.subscribeToAll(
        { fromPosition: await store.headPosition() },
        (e) => {
          received.push(e);
        },
      );
      await store.append('new', events(2), 'any');
      await eventually(() => received.length === 2, 'the first new events');
      server.dropSubscriptions(new Error('connection reset'));
      await store.append('new', events(2), 'any');
      await eventually(() => received.length === 4, 'the later events');
      await settle();
      await subscription.stop();

      expect(received).toEqual(await store.readStream('new'));
    });

    it('is stopped by close', async () => {
      const subscription = store.subscribeToAll({ fromPosition: 0 }, () => undefined);
      await store.close();
      await expect(subscription.done).resolves.toBeUndefined();
      expect(server.openSubscriptions).toBe(0);
      expect(server.disposed).toBe(true);
    });
  });

  describe('waitForAppend', () => {
    it('resolves at once when the head is already past the position', async () => {
      const { position } = await store.append('a', events(1), 'any');
      await store.waitForAppend(position - 1);
      expect(server.subscribeCalls).toHaveLength(0);
    });

    it("is woken by this store's append", async () => {
      const { position } = await store.append('a', events(1), 'any');
      let woken = false;
      const waiting = store.waitForAppend(position).then(() => (woken = true));
      await settle();
      expect(woken).toBe(false);
      await store.append('a', events(1), 'any');
      await waiting;
    });

    it("is woken by another process's append, and not by other namespaces'", async () => {
      const head = await store.headPosition();
      let woken = false;
      const waiting = store.waitForAppend(head).then(() => (woken = true));
      await eventually(() => server.openSubscriptions === 1, 'the watching subscription');
      await foreign(5);
      await settle();
      expect(woken).toBe(false);

      const otherProcess = new EsdbEventStore(server, { streamPrefix: 'ns-' });
      await otherProcess.append('b', events(1), 'any');
      await waiting;
    });

    it('misses no append made while the watching subscription starts', async () => {
      const waiting = store.waitForAppend(0);
      const otherProcess = new EsdbEventStore(server, { streamPrefix: 'ns-' });
      await otherProcess.append('b', events(1), 'any');
      await waiting;
    });

    it('releases a waiter whose signal aborts, and every waiter on close', async () => {
      const aborted = new AbortController();
      const first = store.waitForAppend(0, aborted.signal);
      const second = store.waitForAppend(0);
      aborted.abort();
      await first;
      await store.close();
      await second;
      expect(server.openSubscriptions).toBe(0);
    });
  });

  it('refuses calls once closed', async () => {
    await store.close();
    await expect(store.readStream('a')).rejects.toThrow('Event store is closed');
    await expect(store.append('a', events(1), 'any')).rejects.toThrow('Event store is closed');
    expect(() => store.subscribeToAll({ fromPosition: 0 }, () => undefined)).toThrow(
      'Event store is closed',
    );
  });
});

describe('connectEventStoreDb (real client, no server)', () => {
  it('fails on an unparseable connection string without printing its credentials', async () => {
    const error = await connectEventStoreDb('esdb://admin:hunter2-secret@').catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Invalid EventStoreDB connection string/);
    expect((error as Error).message).not.toContain('hunter2-secret');
  });

  it('fails when nothing answers, naming the host but not the credentials', async () => {
    const error = await connectEventStoreDb('esdb://admin:hunter2-secret@127.0.0.1:1?tls=false', {
      connectTimeoutMs: 5_000,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^Cannot use EventStoreDB at esdb:\/\/127\.0\.0\.1:1: /,
    );
    expect((error as Error).message).not.toContain('hunter2-secret');
  });

  it('refuses a stream prefix that names system streams', async () => {
    await expect(
      connectEventStoreDb('esdb://127.0.0.1:1?tls=false', { streamPrefix: '$x-' }),
    ).rejects.toThrow(/Invalid stream prefix/);
  });
});
