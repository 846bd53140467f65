import { Readable } from 'node:stream';
import {
  ANY,
  BACKWARDS,
  END,
  EVENT_TYPE,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import type {
  AllStreamRecordedEvent,
  AllStreamResolvedEvent,
  AllStreamSubscription,
  AppendResult,
  AppendToStreamOptions,
  EventData,
  EventType,
  Filter,
  Position,
  ReadAllOptions,
  ReadPosition,
  ReadStreamOptions,
  ResolvedEvent,
  StreamingRead,
  SubscribeToAllOptions,
} from '@eventstore/db-client';
import type { EsdbClient } from '../esdb-event-store';

/**
 * FAKE, for unit tests only: an in-memory stand-in for the few EventStoreDB client methods the
 * adapter uses, so that the adapter's own logic (paging, namespaces, resuming subscriptions after
 * a drop, backpressure) can be tested without a server. It mimics the server behaviours the
 * adapter relies on, as read in EventStoreDB's source: each event at its own `{p, p}` position;
 * forward `$all` reads include their start position, backward ones exclude it; catch-up
 * subscriptions start after their position; a filter on stream names or event types, by
 * prefixes or a regular expression. It proves nothing about a real server: the contract suite
 * in test/contract does, against one.
 */
export class FakeEsdbClient implements EsdbClient {
  /** `$all`, in order. */
  readonly log: AllStreamRecordedEvent[] = [];
  /** Every subscribeToAll call's options, in order. */
  readonly subscribeCalls: SubscribeToAllOptions[] = [];
  /** How many appendToStream calls reached the fake. */
  appendCalls = 0;
  /** How many readAll calls reached the fake. */
  readAllCalls = 0;
  disposed = false;
  /** When set, subscriptions also re-send the event at their start position, as a re-delivery. */
  resendStartEvent = false;
  private readonly subscriptions = new Set<FakeSubscription>();
  private readonly pendingFailures: Error[] = [];
  private nextPosition = 1_000n;

  appendToStream = async <KnownEventType extends EventType = EventType>(
    streamName: string,
    events: EventData<KnownEventType> | EventData<KnownEventType>[],
    options: AppendToStreamOptions = {},
  ): Promise<AppendResult> => {
    this.appendCalls += 1;
    const proposed: EventData[] = Array.isArray(events) ? events : [events];
    const expected = options.expectedRevision ?? ANY;
    const current = this.currentRevision(streamName);
    const matches =
      expected === ANY ||
      (expected === NO_STREAM && current === NO_STREAM) ||
      (expected === STREAM_EXISTS && current !== NO_STREAM) ||
      expected === current;
    if (!matches) {
      throw new WrongExpectedVersionError(undefined, { streamName, expected, current });
    }
    let revision = current === NO_STREAM ? -1n : current;
    let position: Position = { commit: 0n, prepare: 0n };
    for (const event of proposed) {
      revision += 1n;
      position = this.record(streamName, revision, event);
    }
    return { success: true, nextExpectedRevision: revision, position };
  };

  readStream = <KnownEventType extends EventType = EventType>(
    streamName: string,
    options: ReadStreamOptions = {},
  ): StreamingRead<ResolvedEvent<KnownEventType>> => {
    const events = this.log.filter((e) => e.streamId === streamName);
    if (events.length === 0) {
      return failedRead(new StreamNotFoundError(undefined, streamName));
    }
    const from = options.fromRevision ?? START;
    const start = from === START ? 0n : from === END ? BigInt(events.length) : from;
    const selected = events
      .filter((e) => e.revision >= start)
      .slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER));
    // The caller's KnownEventType is a compile-time view of these untyped JSON events.
    return streamingRead(selected.map((event) => ({ event }))) as StreamingRead<
      ResolvedEvent<KnownEventType>
    >;
  };

  readAll = (options: ReadAllOptions = {}): StreamingRead<AllStreamResolvedEvent> => {
    this.readAllCalls += 1;
    const maxCount = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = options.fromPosition ?? START;
    const selected =
      options.direction === BACKWARDS
        ? [...this.log].reverse().filter((e) => before(e.position, from))
        : this.log.filter((e) => atOrAfter(e.position, from));
    return streamingRead(selected.slice(0, maxCount).map((event) => ({ event })));
  };

  subscribeToAll = (options: SubscribeToAllOptions = {}): AllStreamSubscription => {
    this.subscribeCalls.push(options);
    const subscription = fakeSubscription(options.filter, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    const failure = this.pendingFailures.shift();
    if (failure) {
      setImmediate(() => subscription.destroy(failure));
      return subscription;
    }
    const from = options.fromPosition ?? START;
    for (const event of this.log) {
      const resent = this.resendStartEvent && from !== START && from !== END && same(event, from);
      if (resent || after(event.position, from)) subscription.offer(event);
    }
    return subscription;
  };

  dispose = async (): Promise<void> => {
    this.disposed = true;
    for (const subscription of this.subscriptions) subscription.destroy();
  };

  /** Ends every open subscription with `error`, as a dropped connection does. */
  dropSubscriptions(error: Error): void {
    for (const subscription of [...this.subscriptions]) subscription.destroy(error);
  }

  /** The next subscribeToAll calls each fail with one of these errors, in order. */
  failNextSubscriptions(...errors: Error[]): void {
    this.pendingFailures.push(...errors);
  }

  /** Subscriptions neither ended nor released. */
  get openSubscriptions(): number {
    return [...this.subscriptions].filter((s) => !s.destroyed).length;
  }

  private currentRevision(streamName: string): bigint | typeof NO_STREAM {
    const events = this.log.filter((e) => e.streamId === streamName);
    return events.length === 0 ? NO_STREAM : events[events.length - 1].revision;
  }

  private record(streamName: string, revision: bigint, event: EventData): Position {
    this.nextPosition += 137n;
    const position = { commit: this.nextPosition, prepare: this.nextPosition };
    const base = {
      streamId: streamName,
      id: event.id,
      revision,
      type: event.type,
      created: new Date(),
      position,
    };
    // Through JSON, as the server stores it: nothing is shared with the caller's objects.
    const recorded: AllStreamRecordedEvent =
      event.contentType === 'application/json'
        ? {
            ...base,
            isJson: true,
            data: JSON.parse(JSON.stringify(event.data)),
            metadata:
              event.metadata === undefined ? undefined : JSON.parse(JSON.stringify(event.metadata)),
          }
        : { ...base, isJson: false, data: event.data, metadata: undefined };
    this.log.push(recorded);
    for (const subscription of this.subscriptions) subscription.offer(recorded);
    return position;
  }
}

/** A fake catch-up subscription: a readable of the events offered to it that pass its filter. */
type FakeSubscription = AllStreamSubscription & { offer(event: AllStreamRecordedEvent): void };

function fakeSubscription(filter: Filter | undefined, onClose: () => void): FakeSubscription {
  const stream = new Readable({ objectMode: true, read() {} });
  stream.once('close', onClose);
  return Object.assign(stream, {
    offer(event: AllStreamRecordedEvent) {
      if (!stream.destroyed && passes(event, filter)) stream.push({ event });
    },
    async unsubscribe() {
      stream.destroy();
    },
  });
}

function passes(event: AllStreamRecordedEvent, filter: Filter | undefined): boolean {
  if (!filter) return true;
  const value = filter.filterOn === EVENT_TYPE ? event.type : event.streamId;
  return 'prefixes' in filter
    ? filter.prefixes.some((p) => value.startsWith(p))
    : new RegExp(filter.regex).test(value);
}

function compare(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
}

function atOrAfter(position: Position, from: ReadPosition): boolean {
  if (from === START) return true;
  if (from === END) return false;
  return compare(position, from) >= 0;
}

function after(position: Position, from: ReadPosition): boolean {
  if (from === START) return true;
  if (from === END) return false;
  return compare(position, from) > 0;
}

function before(position: Position, from: ReadPosition): boolean {
  if (from === END) return true;
  if (from === START) return false;
  return compare(position, from) < 0;
}

function same(event: AllStreamRecordedEvent, position: Position): boolean {
  return compare(event.position, position) === 0;
}

function streamingRead<E>(items: E[]): StreamingRead<E> {
  const stream = Readable.from(items);
  return Object.assign(stream, {
    async cancel() {
      stream.destroy();
    },
  });
}

function failedRead<E>(error: Error): StreamingRead<E> {
  const stream = new Readable({ objectMode: true, read() {} });
  setImmediate(() => stream.destroy(error));
  return Object.assign(stream, {
    async cancel() {
      stream.destroy();
    },
  });
}
