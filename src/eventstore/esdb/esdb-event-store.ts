import {
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  START,
  isCommandError,
} from '@eventstore/db-client';
import type { AllStreamRecordedEvent, Direction, Position } from '@eventstore/db-client';
import { connectionTarget, scrubCredentials } from '../../config/connection-strings';
import {
  AppendResult,
  EventFilter,
  EventHandler,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
  WrongExpectedRevisionError,
  matchesFilter,
} from '../event-store';
import {
  CatchUp,
  DEFAULT_RECONNECT,
  DropListener,
  ReconnectPolicy,
  catchUp,
  reconnectDelay,
  sleep,
} from './catch-up';
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
import { boundaryOf, comparePositions, nextInOrder, toPortPosition } from './positions';

/** The client methods the store uses: what a test double has to provide. */
export type EsdbClient = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

export interface EsdbEventStoreOptions {
  /** Namespaces every stream: `${streamPrefix}${streamId}` on the server (see StreamNamespace). */
  streamPrefix?: string;
  /** Delays between attempts to re-subscribe after a dropped subscription. */
  reconnect?: ReconnectPolicy;
  /** Told of every dropped subscription before it is retried, e.g. to log it. */
  onSubscriptionDropped?: DropListener;
}

/** Events per `$all` read: enough to amortise a round trip, little enough to stay responsive. */
const MAX_PAGE = 1000;
/** The smallest page a filtered read asks for, so sparse matches do not cost a trip each. */
const MIN_PAGE = 32;
/** The first page of a head read: the newest event of the store is usually among the last few. */
const FIRST_HEAD_PAGE = 8;

interface Waiter {
  position: number;
  release(): void;
}

/**
 * The EventStore port on EventStoreDB (`@eventstore/db-client` 6.x, EventStoreDB 22.6 or later).
 *
 * - Positions are commit positions (see positions.ts for why that is faithful).
 * - Streams live in a namespace (`streamPrefix`); the global log is the namespace's events, less
 *   system events. Subscriptions filter on the server. Reads of `$all` cannot: the 6.x client
 *   sends no filter with a read (its `readAll` options have none), so `readAll` and
 *   `headPosition` page through `$all` and filter here, which costs in proportion to the other
 *   streams of a shared cluster; the part of `$all` before the namespace's first event is
 *   skipped once a read has found it.
 * - `headPosition()` reads `$all` backwards from its end down to the newest event of the store,
 *   remembering how far it has looked, so repeated calls only read what is new.
 * - `waitForAppend` is woken by this store's appends at once and by other processes' appends
 *   through one live subscription, started on first use.
 */
export class EsdbEventStore implements EventStore {
  private readonly namespace: StreamNamespace;
  private readonly reconnect: ReconnectPolicy;
  private readonly onDrop: DropListener | undefined;
  private readonly closing = new AbortController();
  /** The newest position of this store's log known so far (appends, head reads, subscriptions). */
  private knownHead = 0;
  /**
   * Head reads have looked at every `$all` event up to here: no event of the store sits above
   * knownHead.
   */
  private scannedThrough = 0;
  /** No event of the store sits at or below this position (learnt from reads of `$all`). */
  private emptyThrough = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly subscriptions = new Set<CatchUp>();
  /** The live subscription that wakes waiters on other processes' appends, once started. */
  private watcher: CatchUp | undefined;
  private watching: Promise<void> | undefined;

  constructor(
    private readonly client: EsdbClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.namespace = new StreamNamespace(options.streamPrefix);
    this.reconnect = options.reconnect ?? DEFAULT_RECONNECT;
    this.onDrop = options.onSubscriptionDropped;
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('Event store is closed');
  }

  async append(
    streamId: string,
    events: NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    this.assertOpen();
    if (events.length === 0) throw new Error('Cannot append zero events');
    const proposed = events.map(toEsdbEvent);
    const expectedRevision = toEsdbExpectedRevision(expected);
    const result = await this.client
      .appendToStream(this.namespace.serverStream(streamId), proposed, { expectedRevision })
      .catch((error: unknown) => {
        throw toPortAppendError(error, streamId, expected);
      });
    const revision = toPortRevision(result.nextExpectedRevision);
    // Only with `throwOnAppendFailure=false` in the connection string: a conflict as a result.
    if (!result.success) throw new WrongExpectedRevisionError(streamId, expected, revision);
    const position = result.position
      ? toPortPosition(result.position)
      : await this.positionOf(streamId, revision);
    this.advanceHead(position);
    return { nextExpectedRevision: revision, position };
  }

  /** The position of one event, for a server that answered an append without one. */
  private async positionOf(streamId: string, revision: number): Promise<number> {
    const [event] = await this.readStreamFrom(streamId, BigInt(revision), 1);
    if (!event) throw new Error(`Event ${revision} of stream ${streamId} was not found`);
    return event.position;
  }

  async readStream(streamId: string): Promise<RecordedEvent[]> {
    this.assertOpen();
    return this.readStreamFrom(streamId, START, Number.MAX_SAFE_INTEGER);
  }

  private async readStreamFrom(
    streamId: string,
    fromRevision: bigint | typeof START,
    maxCount: number,
  ): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    const read = this.client.readStream(this.namespace.serverStream(streamId), {
      fromRevision,
      maxCount,
      direction: FORWARDS,
    });
    read.on('error', ignore); // seen by the loop; this keeps a late one from crashing the process
    try {
      for await (const resolved of read) {
        if (resolved.event) events.push(toPortEvent(resolved.event, this.namespace));
      }
    } catch (error) {
      if (error instanceof Error && isCommandError(error)) {
        if (error.type === ErrorType.STREAM_NOT_FOUND) return [];
      }
      throw error;
    }
    return events;
  }

  /**
   * Matching events after `fromPosition`, at most `maxCount`: pages of `$all` are read until the
   * page is full or the log ends, each event checked against the namespace and the filter.
   * The part of `$all` known to hold no event of the store is skipped: on a shared server, a
   * namespace's log starts late, and only the first read from 0 has to find where.
   */
  async readAll({ fromPosition, maxCount, filter }: ReadAllOptions): Promise<RecordedEvent[]> {
    this.assertOpen();
    boundaryOf(fromPosition); // validates it
    const matching: RecordedEvent[] = [];
    const emptyThrough = this.knownEmptyThrough();
    const start = Math.max(fromPosition, emptyThrough);
    let last = boundaryOf(start);
    /** While only other events were met since emptyThrough, the last of them: empty through it. */
    let othersThrough = start === emptyThrough ? start : undefined;
    while (matching.length < maxCount) {
      const pageSize = Math.min(MAX_PAGE, Math.max(MIN_PAGE, maxCount - matching.length + 1));
      const from = last;
      const more = await this.readPage(FORWARDS, from, pageSize, (event) => {
        // A forward read includes the event at its start position: skipped here.
        if (!nextInOrder(last, event.position)) return true;
        last = event.position;
        if (othersThrough !== undefined) {
          if (isStoreEvent(event, this.namespace)) {
            this.emptyThrough = Math.max(this.emptyThrough, othersThrough);
            othersThrough = undefined;
          } else {
            othersThrough = toPortPosition(event.position);
          }
        }
        const recorded = this.toLogEvent(event, filter);
        if (recorded) matching.push(recorded);
        return matching.length < maxCount;
      });
      if (!more) break;
      if (last === from) throw new Error('A read of EventStoreDB $all did not move forward');
    }
    if (othersThrough !== undefined) this.emptyThrough = Math.max(this.emptyThrough, othersThrough);
    return matching;
  }

  /** Through where `$all` holds no event of the store, from reads and head reads so far. */
  private knownEmptyThrough(): number {
    // Head reads leave no event of the store between knownHead and scannedThrough.
    return Math.max(this.emptyThrough, this.knownHead === 0 ? this.scannedThrough : 0);
  }

  /**
   * Reads one page of `$all` from `from` (its start or end when undefined), handing each event to
   * `visit` until it returns false. True when the page was full and never stopped: the log may
   * hold more beyond it.
   */
  private async readPage(
    direction: Direction,
    from: Position | undefined,
    maxCount: number,
    visit: (event: AllStreamRecordedEvent) => boolean,
  ): Promise<boolean> {
    const read = this.client.readAll({
      direction,
      fromPosition: from ?? (direction === FORWARDS ? START : END),
      maxCount,
    });
    read.on('error', ignore); // seen by the loop; this keeps a late one from crashing the process
    let count = 0;
    for await (const resolved of read) {
      count += 1;
      if (resolved.event && !visit(resolved.event)) {
        await read.cancel();
        return false;
      }
    }
    return count === maxCount;
  }

  /** The port's event for a server event of this store that passes `filter`, else undefined. */
  private toLogEvent(
    event: AllStreamRecordedEvent,
    filter?: EventFilter,
  ): RecordedEvent | undefined {
    if (!isStoreEvent(event, this.namespace)) return undefined;
    const recorded = toPortEvent(event, this.namespace);
    return matchesFilter(recorded, filter) ? recorded : undefined;
  }

  /**
   * The newest event of the store: `$all` is read backwards from its end until an event of the
   * store, or the part already looked at by an earlier call (whose answer still holds), or the
   * start of the log. EventStoreDB makes events visible in log order, so what was looked at
   * never changes.
   */
  async headPosition(): Promise<number> {
    this.assertOpen();
    const lookedAt = this.scannedThrough;
    let newest: number | undefined;
    let found = 0;
    let before: Position | undefined;
    let pageSize = FIRST_HEAD_PAGE;
    for (;;) {
      const from = before;
      const more = await this.readPage(BACKWARDS, from, pageSize, (event) => {
        // Defensive: a backward read starts below its position; nothing here is read twice.
        if (before && comparePositions(event.position, before) >= 0) return true;
        before = event.position;
        const position = toPortPosition(event.position);
        newest ??= position;
        if (position <= lookedAt) return false;
        if (!isStoreEvent(event, this.namespace)) return true;
        found = position;
        return false;
      });
      if (!more) break;
      if (before === from) throw new Error('A read of EventStoreDB $all did not move back');
      pageSize = MAX_PAGE;
    }
    if (newest !== undefined) this.scannedThrough = Math.max(this.scannedThrough, newest);
    this.advanceHead(found);
    return this.knownHead;
  }

  subscribeToAll({ fromPosition, filter }: SubscribeOptions, handler: EventHandler): Subscription {
    this.assertOpen();
    const subscription = catchUp(this.client, {
      after: boundaryOf(fromPosition),
      filter: serverFilter(this.namespace, filter),
      select: (event) => this.toLogEvent(event, filter),
      handle: (event: RecordedEvent) => {
        this.advanceHead(event.position);
        return handler(event);
      },
      reconnect: this.reconnect,
      onDrop: this.onDrop,
    });
    this.subscriptions.add(subscription);
    const forget = () => this.subscriptions.delete(subscription);
    subscription.done.then(forget, forget);
    return subscription;
  }

  /**
   * Resolves once the store's head is past `position`: at once after this process's appends, and
   * through a live subscription (started on first use, kept until close) for other processes'.
   */
  waitForAppend(position: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted || this.knownHead > position) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        position,
        release: () => {
          this.waiters.delete(waiter);
          signal?.removeEventListener('abort', waiter.release);
          resolve();
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', waiter.release, { once: true });
      this.watching ??= this.watch();
    });
  }

  private advanceHead(position: number): void {
    if (position <= this.knownHead) return;
    this.knownHead = position;
    for (const waiter of [...this.waiters]) {
      if (position > waiter.position) waiter.release();
    }
  }

  /**
   * Keeps knownHead current with the store's events appended by anyone: a head read, then a
   * subscription from the last position it looked at, so nothing appended in between is missed.
   * Retried with the subscriptions' delays until the store closes.
   */
  private async watch(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        await this.headPosition();
        if (this.closed) return;
        this.watcher = catchUp(this.client, {
          after: boundaryOf(this.scannedThrough),
          filter: serverFilter(this.namespace),
          select: (event) =>
            isStoreEvent(event, this.namespace) ? toPortPosition(event.position) : undefined,
          handle: (position: number) => {
            failures = 0;
            this.advanceHead(position);
          },
          reconnect: this.reconnect,
          onDrop: this.onDrop,
        });
        await this.watcher.done;
      } catch (error) {
        if (this.closed) return;
        failures += 1;
        const delay = reconnectDelay(failures, this.reconnect);
        this.onDrop?.(error, delay);
        await sleep(delay, this.closing.signal);
      } finally {
        this.watcher = undefined;
      }
    }
  }

  /**
   * Stops every subscription (each after the event it is handling), releases every waiter, then
   * disposes of the client, which also cancels any read still in flight.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing.abort();
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.watcher?.stop();
    for (const waiter of [...this.waiters]) waiter.release();
    await this.client.dispose();
    await this.watching;
  }
}

function ignore(): void {}

export interface ConnectEventStoreDbOptions extends EsdbEventStoreOptions {
  /** How long the reachability check may take. */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to the EventStoreDB that `connectionString` names and checks it answers, with a read
 * of the newest event of `$all` (which the store needs to be allowed) within a bounded time. Fails
 * with a message naming the server's scheme and hosts and the reason, never the credentials.
 */
export async function connectEventStoreDb(
  connectionString: string,
  options: ConnectEventStoreDbOptions = {},
): Promise<EsdbEventStore> {
  const target = connectionTarget(connectionString);
  const reason = (error: unknown) =>
    scrubCredentials(error instanceof Error ? error.message : String(error), connectionString);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(connectionString);
  } catch (error) {
    throw new Error(`Invalid EventStoreDB connection string ${target}: ${reason(error)}`);
  }
  let store: EsdbEventStore;
  try {
    store = new EsdbEventStore(client, options);
  } catch (error) {
    await client.dispose();
    throw error;
  }
  try {
    await answers(client, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  } catch (error) {
    await store.close().catch(ignore);
    throw new Error(`Cannot use EventStoreDB at ${target}: ${reason(error)}`);
  }
  return store;
}

/** Resolves once the server has answered a read of `$all`'s newest event, or throws. */
async function answers(
  client: Pick<EventStoreDBClient, 'readAll'>,
  timeoutMs: number,
): Promise<void> {
  const read = client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
  read.on('error', ignore); // seen by the loop below; late ones once it has timed out
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const answer = (async () => {
    for await (const _event of read) {
      // Any answer will do: an empty log answers with no event.
    }
  })();
  try {
    await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
    read.cancel().catch(ignore);
  }
}
