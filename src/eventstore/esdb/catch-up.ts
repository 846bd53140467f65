import { ErrorType, START, isCommandError } from '@eventstore/db-client';
import type {
  AllStreamRecordedEvent,
  AllStreamSubscription,
  EventStoreDBClient,
  Filter,
  Position,
} from '@eventstore/db-client';
import { nextInOrder } from './positions';

/** The one client method a catch-up subscription needs. */
export type SubscribingClient = Pick<EventStoreDBClient, 'subscribeToAll'>;

/** How long to wait before re-subscribing after a drop: doubling from `initialDelayMs`. */
export interface ReconnectPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 100, maxDelayMs: 5_000 };

/** The delay before the `failures`-th consecutive attempt to re-subscribe (from 1). */
export function reconnectDelay(failures: number, policy: ReconnectPolicy): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** doublings);
}

/** Told of each drop: the error, and how long until the next attempt. */
export type DropListener = (error: unknown, retryInMs: number) => void;

export interface CatchUpOptions<T> {
  /** The last `$all` position already handled; undefined to start at the beginning of the log. */
  after: Position | undefined;
  /** Applied by the server, so skipped events never cross the network. */
  filter: Filter;
  /** What to hand over for an event, or undefined to skip it (it still counts as handled). */
  select(event: AllStreamRecordedEvent): T | undefined;
  handle(item: T): void | Promise<void>;
  reconnect: ReconnectPolicy;
  onDrop?: DropListener;
}

export interface CatchUp {
  /** Stops after the event being handled, if any, and resolves once stopped. */
  stop(): Promise<void>;
  /**
   * Resolves once stopped; rejects with the error of `select` or `handle`, or a permanent error.
   */
  readonly done: Promise<void>;
}

/** An error of `select` or `handle`: it ends the subscription, never retried. */
class Fatal {
  constructor(readonly error: unknown) {}
}

/** Errors that another attempt cannot cure; anything else (a dropped connection, a restarted or
 * overloaded server, a leader change) is retried. */
const PERMANENT: ReadonlySet<ErrorType> = new Set([
  ErrorType.ACCESS_DENIED,
  ErrorType.INVALID_ARGUMENT,
  ErrorType.UNSUPPORTED,
]);

function isPermanent(error: unknown): boolean {
  return error instanceof Error && isCommandError(error) && PERMANENT.has(error.type);
}

/**
 * A catch-up subscription to `$all` that survives dropped connections. Events are handed over one
 * at a time: the next one is not taken from the client until `handle` has settled, so a slow
 * handler holds the stream back (gRPC flow control) instead of piling events up in memory. When
 * the subscription drops (the connection, the server, or the server deciding the consumer is too
 * slow), it subscribes again after a growing delay from the last event handled, so no event is
 * lost, and none is handed over twice (`nextInOrder` skips what a new subscription re-sends).
 */
export function catchUp<T>(client: SubscribingClient, options: CatchUpOptions<T>): CatchUp {
  const stopping = new AbortController();
  let last = options.after;
  let failures = 0;

  /** Hands over the subscription's events until it ends (returns) or fails (throws). */
  const consume = async (subscription: AllStreamSubscription): Promise<void> => {
    const events = subscription[Symbol.asyncIterator]();
    for (;;) {
      const next = await nextUnlessStopped(events, stopping.signal);
      if (next === undefined || next.done) return;
      const event = next.value.event;
      if (!event) continue;
      let item: T | undefined;
      try {
        if (!nextInOrder(last, event.position)) continue;
        item = options.select(event);
      } catch (error) {
        throw new Fatal(error);
      }
      if (item !== undefined) {
        try {
          await options.handle(item);
        } catch (error) {
          throw new Fatal(error);
        }
      }
      last = event.position;
      failures = 0;
      if (stopping.signal.aborted) return;
    }
  };

  const run = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      const subscription = client.subscribeToAll({
        fromPosition: last ?? START,
        filter: options.filter,
        resolveLinkTos: false,
      });
      // The client re-emits late gRPC errors on the stream, even once it is released: an
      // 'error' event without a listener would crash the process. Drops are seen by `consume`.
      subscription.on('error', ignore);
      let drop: unknown = new Error('EventStoreDB ended the subscription');
      try {
        await consume(subscription);
      } catch (error) {
        if (error instanceof Fatal) throw error.error;
        drop = error;
      } finally {
        release(subscription);
      }
      if (stopping.signal.aborted) return;
      if (isPermanent(drop)) throw drop;
      failures += 1;
      const delay = reconnectDelay(failures, options.reconnect);
      options.onDrop?.(drop, delay);
      await sleep(delay, stopping.signal);
    }
  };

  const done = run();
  return {
    done,
    async stop() {
      stopping.abort();
      await done.catch(() => undefined);
    },
  };
}

/** The iterator's next result, or undefined as soon as `signal` aborts (the read stays pending). */
function nextUnlessStopped<T>(
  iterator: AsyncIterator<T>,
  signal: AbortSignal,
): Promise<IteratorResult<T> | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const stopped = () => resolve(undefined);
    signal.addEventListener('abort', stopped, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener('abort', stopped);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', stopped);
        reject(error);
      },
    );
  });
}

/** Cancels the server-side subscription and frees the client-side stream. */
function release(subscription: AllStreamSubscription): void {
  // Rejects only when the subscription never started: nothing to cancel then.
  subscription.unsubscribe().catch(ignore);
  subscription.destroy();
}

function ignore(): void {}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake, { once: true });
  });
}
