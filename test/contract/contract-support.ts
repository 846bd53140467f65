import { randomUUID } from 'node:crypto';
import { Engine } from '../../src/engine/engine';
import { EventStore, RecordedEvent } from '../../src/eventstore/event-store';

/** An event store opened on some storage, with whatever it needs to release it. */
export interface EventStoreHandle {
  store: EventStore;
  close(): Promise<void>;
}

/**
 * How a contract suite reaches an engine. A storage is what survives a close: a directory for
 * SQLite, a database for MongoDB. The suites open, close and re-open the same storage to prove
 * durability and checkpoint resumption.
 */
export interface ContractStorage {
  /** Allocates a new, empty storage (an empty global log) and returns its id. */
  create(): Promise<string>;
  /** Opens the event store alone on a storage: no projection runs. */
  openEventStore(storageId: string): Promise<EventStoreHandle>;
  /** Opens the whole engine on a storage with its projections started and caught up. */
  openEngine(storageId: string): Promise<Engine>;
  /** Deletes a storage; every handle opened on it has been closed before. */
  destroy(storageId: string): Promise<void>;
}

type Closeable = { close(): Promise<void> };

/**
 * The storages and handles of one test: `release()` (in afterEach) closes every handle the test
 * left open, then deletes every storage, so no test leaks files or open handles.
 */
export class Storages {
  private readonly ids: string[] = [];
  private readonly open = new Set<Closeable>();

  constructor(
    private readonly storage: Pick<ContractStorage, 'create' | 'openEventStore' | 'destroy'> &
      Partial<Pick<ContractStorage, 'openEngine'>>,
  ) {}

  async create(): Promise<string> {
    const id = await this.storage.create();
    this.ids.push(id);
    return id;
  }

  async openEventStore(storageId: string): Promise<EventStoreHandle> {
    return this.adopt(await this.storage.openEventStore(storageId));
  }

  async openEngine(storageId: string): Promise<Engine> {
    if (!this.storage.openEngine) throw new Error('This storage opens no engine');
    return this.adopt(await this.storage.openEngine(storageId));
  }

  /** A new storage with an event store open on it. */
  async freshEventStore(): Promise<{ storageId: string; handle: EventStoreHandle }> {
    const storageId = await this.create();
    return { storageId, handle: await this.openEventStore(storageId) };
  }

  async close(handle: Closeable): Promise<void> {
    if (!this.open.delete(handle)) return;
    await handle.close();
  }

  async release(): Promise<void> {
    const handles = [...this.open];
    this.open.clear();
    for (const handle of handles) await handle.close();
    const ids = this.ids.splice(0);
    for (const id of ids) await this.storage.destroy(id);
  }

  /** Closes `handle` on release unless the test closed it with `close(handle)` before. */
  adopt<T extends Closeable>(handle: T): T {
    this.open.add(handle);
    return handle;
  }
}

/** A short unique prefix, so stream names never collide between tests or runs. */
export function uniquePrefix(label: string): string {
  return `${label}${randomUUID().slice(0, 8)}-`;
}

const WAIT_LIMIT_MS = 20_000;

/**
 * Records what a subscription handler receives and lets a test wait for a condition on it.
 * The limit only turns a hang into a readable failure; no test asserts on timing.
 */
export class Received {
  readonly events: RecordedEvent[] = [];
  private waiters: Array<() => void> = [];

  readonly handler = (event: RecordedEvent): void => {
    this.events.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  };

  get positions(): number[] {
    return this.events.map((e) => e.position);
  }

  /** Resolves once `predicate` holds on the events received so far. */
  async until(predicate: (events: RecordedEvent[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (!predicate(this.events)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`Timed out waiting for ${what}; received ${this.events.length} events`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once an event with this `data.id` has been received. */
  untilId(id: string): Promise<void> {
    return this.until((events) => events.some((e) => e.data.id === id), `event ${id}`);
  }
}

/** Settles a promise, failing the test with a readable message if it takes unreasonably long. */
export async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), WAIT_LIMIT_MS);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

export function expectStrictlyIncreasing(values: readonly number[]): void {
  const violations = values.filter((v, i) => i > 0 && v <= values[i - 1]);
  expect(violations).toEqual([]);
}
