import {
  ANY,
  EVENT_TYPE,
  NO_STREAM,
  STREAM_EXISTS,
  STREAM_NAME,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import type { AllStreamRecordedEvent } from '@eventstore/db-client';
import { NO_STREAM_REVISION, WrongExpectedRevisionError } from '../event-store';
import {
  StreamNamespace,
  isStoreEvent,
  serverFilter,
  toEsdbEvent,
  toEsdbExpectedRevision,
  toPortAppendError,
  toPortEvent,
  toPortRevision,
} from './esdb-mapping';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function recorded(overrides: Partial<AllStreamRecordedEvent> = {}): AllStreamRecordedEvent {
  return {
    streamId: 'ns-order-1',
    id: 'f6a2e0c5-7f37-4d4c-9a57-6e0f3e0f0a01',
    revision: 2n,
    type: 'OrderPlaced',
    created: new Date('2025-03-04T05:06:07.089Z'),
    position: { commit: 4_711n, prepare: 4_711n },
    isJson: true,
    data: { id: 'order-1', lines: [{ sku: 'a', qty: 2 }] },
    metadata: { version: 1 },
    ...overrides,
  } as AllStreamRecordedEvent;
}

describe('StreamNamespace', () => {
  it('prefixes stream names on the server and strips the prefix again', () => {
    const ns = new StreamNamespace('ns-');
    expect(ns.serverStream('order-1')).toBe('ns-order-1');
    expect(ns.portStream('ns-order-1')).toBe('order-1');
    expect(ns.portStream('other-order-1')).toBeUndefined();
    expect(ns.portStream('ns')).toBeUndefined();
  });

  it('without a prefix, owns every stream but the system ones', () => {
    const ns = new StreamNamespace();
    expect(ns.serverStream('order-1')).toBe('order-1');
    expect(ns.portStream('order-1')).toBe('order-1');
    expect(ns.portStream('$stats-127.0.0.1:2113')).toBeUndefined();
    expect(ns.portStream('$$order-1')).toBeUndefined();
  });

  it('refuses a prefix that would make every stream a system stream', () => {
    expect(() => new StreamNamespace('$ns-')).toThrow(/"\$" starts system streams/);
  });
});

describe('toEsdbExpectedRevision', () => {
  it.each([
    ['any', ANY],
    ['no_stream', NO_STREAM],
    ['stream_exists', STREAM_EXISTS],
    [0, 0n],
    [41, 41n],
    [NO_STREAM_REVISION, NO_STREAM],
  ] as const)('maps %p to %p', (expected, esdb) => {
    expect(toEsdbExpectedRevision(expected)).toBe(esdb);
  });

  it.each([-2, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('rejects %p', (expected) => {
    expect(() => toEsdbExpectedRevision(expected)).toThrow(RangeError);
  });
});

describe('toPortRevision', () => {
  it('counts a missing stream as -1 and a revision as a number', () => {
    expect(toPortRevision(NO_STREAM)).toBe(NO_STREAM_REVISION);
    expect(toPortRevision(0n)).toBe(0);
    expect(toPortRevision(12n)).toBe(12);
  });
});

describe('toPortAppendError', () => {
  it("turns the client's conflict into the port's, with the port's stream and expectation", () => {
    const conflict = new WrongExpectedVersionError(undefined, {
      streamName: 'ns-order-1',
      expected: 0n,
      current: 1n,
    });
    const error = toPortAppendError(conflict, 'order-1', 0);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ streamId: 'order-1', expected: 0, actual: 1 });
  });

  it('reports a missing stream as actual revision -1', () => {
    const conflict = new WrongExpectedVersionError(undefined, {
      streamName: 'ns-order-1',
      expected: STREAM_EXISTS,
      current: NO_STREAM,
    });
    expect(toPortAppendError(conflict, 'order-1', 'stream_exists')).toMatchObject({
      streamId: 'order-1',
      expected: 'stream_exists',
      actual: NO_STREAM_REVISION,
    });
  });

  it('leaves any other error as it is', () => {
    const other = new StreamNotFoundError(undefined, 'ns-order-1');
    expect(toPortAppendError(other, 'order-1', 'any')).toBe(other);
    const plain = new Error('boom');
    expect(toPortAppendError(plain, 'order-1', 'any')).toBe(plain);
  });
});

describe('toEsdbEvent', () => {
  it('sends JSON data and metadata, with {} when the event has none', () => {
    const withMetadata = toEsdbEvent({ type: 'A', data: { n: 1 }, metadata: { v: 2 } });
    expect(withMetadata).toMatchObject({
      contentType: 'application/json',
      type: 'A',
      data: { n: 1 },
      metadata: { v: 2 },
    });
    expect(withMetadata.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(toEsdbEvent({ type: 'B', data: { n: 1 } }).metadata).toEqual({});
  });

  it('gives every event its own id, so the server never takes an append for a retry', () => {
    const event = { type: 'A', data: { n: 1 } };
    expect(toEsdbEvent(event).id).not.toBe(toEsdbEvent(event).id);
  });

  it('fails on data or metadata that JSON cannot hold', () => {
    expect(() => toEsdbEvent({ type: 'A', data: { big: BigInt(1) } })).toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => toEsdbEvent({ type: 'A', data: {}, metadata: cycle })).toThrow(TypeError);
  });
});

describe('isStoreEvent and toPortEvent', () => {
  const ns = new StreamNamespace('ns-');

  it("maps a server event to the port's, the stream stripped of the namespace", () => {
    const event = toPortEvent(recorded(), ns);
    expect(event).toEqual({
      position: 4_711,
      streamId: 'order-1',
      revision: 2,
      type: 'OrderPlaced',
      data: { id: 'order-1', lines: [{ sku: 'a', qty: 2 }] },
      metadata: { version: 1 },
      recordedAt: '2025-03-04T05:06:07.089Z',
    });
    expect(event.recordedAt).toMatch(ISO_UTC);
  });

  it('reads missing or non-object metadata as {}', () => {
    expect(toPortEvent(recorded({ metadata: undefined }), ns).metadata).toEqual({});
    expect(toPortEvent(recorded({ metadata: ['a'] }), ns).metadata).toEqual({});
  });

  it.each([
    ['another namespace', { streamId: 'other-order-1' }],
    ['a system stream', { streamId: '$stats-127.0.0.1:2113' }],
    ['a system event type', { type: '$metadata' }],
    ['a link', { type: '$>' }],
    ['non-JSON data', { isJson: false, data: new Uint8Array([1, 2]) }],
    ['JSON data that is not an object', { data: ['a', 'b'] }],
  ] as const)('leaves out an event of %s', (_, overrides) => {
    const event = recorded(overrides as Partial<AllStreamRecordedEvent>);
    expect(isStoreEvent(event, ns)).toBe(false);
    expect(() => toPortEvent(event, ns)).toThrow(/is not an event of this store/);
  });

  it('fails loudly for a stream event without a position (a server before 22.6)', () => {
    const event = recorded();
    const withoutPosition = { ...event, position: undefined };
    expect(() => toPortEvent(withoutPosition, ns)).toThrow(/without its position/);
  });
});

describe('serverFilter', () => {
  const ns = new StreamNamespace('ns-');
  const none = new StreamNamespace();

  it('sends stream prefixes inside the namespace', () => {
    expect(serverFilter(ns, { streamPrefixes: ['a-', 'b-'], eventTypes: ['X'] })).toMatchObject({
      filterOn: STREAM_NAME,
      prefixes: ['ns-a-', 'ns-b-'],
    });
    expect(serverFilter(none, { streamPrefixes: ['a-'] })).toMatchObject({
      filterOn: STREAM_NAME,
      prefixes: ['a-'],
    });
  });

  it('restricts to the namespace when there are no stream prefixes', () => {
    for (const filter of [undefined, {}, { eventTypes: ['X'] }, { streamPrefixes: [] }]) {
      expect(serverFilter(ns, filter)).toMatchObject({ filterOn: STREAM_NAME, prefixes: ['ns-'] });
    }
  });

  it('without a namespace, sends event types as prefixes, else leaves out system events', () => {
    expect(serverFilter(none, { eventTypes: ['X', 'Y'] })).toMatchObject({
      filterOn: EVENT_TYPE,
      prefixes: ['X', 'Y'],
    });
    expect(serverFilter(none)).toMatchObject({ filterOn: EVENT_TYPE, regex: '^[^$].*' });
  });
});
