import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventFilter, RecordedEvent } from '../../eventstore/event-store';
import { SqliteDatabase, openSqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { BatchProjection } from './mongo-projection';
import { combinedFilter } from '../../eventstore/event-store';
import { MongoProjectionRunner } from './mongo-projection-runner';
import { LeaseRecord, MemoryLeases } from './testing/memory-leases';

/**
 * The runner's own logic over a real (SQLite) event store, with the lease port in memory: which
 * events reach which projection, checkpoints, resumption, standby and fencing. The MongoDB lease
 * and read models themselves are proven by the contract suites against a server.
 */

/** Records what it is given; `applied` counts each position, so a double application shows. */
class Recording implements BatchProjection {
  readonly applied = new Map<number, number>();
  readonly order: number[] = [];
  resets = 0;
  failWith: Error | undefined;

  constructor(
    readonly name: string,
    readonly filter: EventFilter,
  ) {}

  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const e of events) {
      this.applied.set(e.position, (this.applied.get(e.position) ?? 0) + 1);
      this.order.push(e.position);
    }
  }

  async reset(): Promise<void> {
    this.resets += 1;
    this.applied.clear();
    this.order.length = 0;
  }
}

const LEASE_MS = 400;

async function eventually(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('MongoProjectionRunner (lease port in memory, SQLite event store)', () => {
  let dataDir: string;
  let db: SqliteDatabase;
  let store: SqliteEventStore;
  let record: LeaseRecord;
  const runners: MongoProjectionRunner[] = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rapidly-runner-'));
    db = openSqliteDatabase(dataDir);
    store = new SqliteEventStore(db);
    record = new LeaseRecord();
  });
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    await store.close();
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function replica(id: string, projections: BatchProjection[], batchSize = 7) {
    const runner = new MongoProjectionRunner(
      store,
      projections,
      new MemoryLeases(record, id, LEASE_MS),
      { pollMs: 10, batchSize },
    );
    runners.push(runner);
    return runner;
  }

  /** `count` events over streams a-*, b-* and other-* (matched by no projection). */
  async function append(count: number, prefixes = ['a-', 'b-', 'other-']): Promise<number> {
    let position = 0;
    for (let i = 0; i < count; i++) {
      const stream = `${prefixes[i % prefixes.length]}${i % 5}`;
      position = (await store.append(stream, [{ type: 'T', data: { i } }], 'any')).position;
    }
    return position;
  }

  async function positions(prefix?: string): Promise<number[]> {
    const all = await store.readAll({ fromPosition: 0, maxCount: 100_000 });
    return all.filter((e) => !prefix || e.streamId.startsWith(prefix)).map((e) => e.position);
  }

  const once = (list: number[]) => new Map(list.map((p) => [p, 1]));

  it('applies each event once, in log order, to the projections it matches, in batches', async () => {
    const a = new Recording('a', { streamPrefixes: ['a-'] });
    const b = new Recording('b', { streamPrefixes: ['b-'] });
    const runner = replica('r1', [a, b]);
    await append(20);
    runner.start();
    // The last events match no projection: the checkpoints still reach the head.
    const head = await append(10, ['other-']);
    await runner.waitFor(head);

    expect(a.order).toEqual(await positions('a-'));
    expect(a.applied).toEqual(once(await positions('a-')));
    expect(b.applied).toEqual(once(await positions('b-')));
    expect(await runner.checkpoints()).toEqual({ a: head, b: head });

    // Live appends keep flowing.
    const later = await append(9);
    await runner.waitFor(later);
    expect(a.applied).toEqual(once(await positions('a-')));
    expect(b.order).toEqual(await positions('b-'));
  });

  it('leaves no timer behind when an append wakes it before its periodic wake-up', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    // A long lease: the periodic wake-up (a quarter of it) never comes during the test.
    const runner = new MongoProjectionRunner(
      store,
      [new Recording('a', { streamPrefixes: ['a-'] })],
      new MemoryLeases(record, 'r1', 60_000),
      { pollMs: 10 },
    );
    runners.push(runner);
    runner.start();
    await runner.waitFor(await append(1, ['a-']));
    const before = timers();
    for (let i = 0; i < 30; i++) await runner.waitFor(await append(1, ['a-']));
    // Each wake-up ends its periodic wait too: 30 of them would still be pending otherwise.
    expect(timers() - before).toBeLessThan(5);
  });

  it('resumes from the stored checkpoints after a restart, applying nothing twice', async () => {
    const a = new Recording('a', { streamPrefixes: ['a-'] });
    const first = replica('r1', [a]);
    first.start();
    await first.waitFor(await append(15));
    await first.stop();

    const offline = await append(15);
    const second = replica('r2', [a]);
    second.start();
    await second.waitFor(offline);
    expect(a.applied).toEqual(once(await positions('a-')));
  });

  it('runs on one replica at a time; a standby waits by reading the checkpoints, then takes over', async () => {
    const onFirst = new Recording('a', { streamPrefixes: ['a-'] });
    const onSecond = new Recording('a', { streamPrefixes: ['a-'] });
    const first = replica('r1', [onFirst]);
    first.start();
    await first.waitFor(await append(3));
    const second = replica('r2', [onSecond]);
    second.start();

    const head = await append(12);
    await second.waitFor(head);
    expect(onSecond.order).toEqual([]);
    expect(onFirst.applied).toEqual(once(await positions('a-')));

    // The holder stops (and releases its lease): the standby carries on from its checkpoint.
    await first.stop();
    const after = await append(12);
    await second.waitFor(after);
    const applied = [...onFirst.order, ...onSecond.order].sort((x, y) => x - y);
    expect(applied).toEqual(await positions('a-'));
    expect(onSecond.order.length).toBeGreaterThan(0);
  });

  it('a replica fenced out by a rebuild elsewhere stops applying and stays on standby', async () => {
    const onFirst = new Recording('a', { streamPrefixes: ['a-'] });
    const onSecond = new Recording('a', { streamPrefixes: ['a-'] });
    const first = replica('r1', [onFirst]);
    first.start();
    await first.waitFor(await append(9));
    const second = replica('r2', [onSecond]);
    second.start();

    await second.rebuild();
    expect(onSecond.resets).toBe(1);
    expect(onSecond.applied).toEqual(once(await positions('a-')));
    expect(record.owner).toBe('r2');

    const appliedByFirst = onFirst.order.length;
    const head = await append(12);
    await second.waitFor(head);
    await first.waitFor(head);
    expect(onSecond.applied).toEqual(once(await positions('a-')));
    // It learns it was fenced when its checkpoint save fails: at most the batch it was applying.
    const afterFence = onFirst.order.length;
    expect(afterFence - appliedByFirst).toBeLessThanOrEqual(7);
    const more = await append(12);
    await second.waitFor(more);
    await first.waitFor(more);
    expect(onFirst.order.length).toBe(afterFence);
    expect(record.owner).toBe('r2');
  });

  it('fails the writers waiting while a projection fails, and recovers when it works again', async () => {
    const a = new Recording('a', { streamPrefixes: ['a-'] });
    const runner = replica('r1', [a]);
    runner.start();
    await runner.waitFor(await append(3));

    a.failWith = new Error('read model unreachable');
    const head = await append(6);
    await expect(runner.waitFor(head)).rejects.toThrow('read model unreachable');
    a.failWith = undefined;
    await eventually(async () => {
      try {
        await runner.waitFor(head);
        return true;
      } catch {
        return false;
      }
    }, 'the runner to recover');
    expect(a.applied).toEqual(once(await positions('a-')));
  });

  it('catchUp() applies the log itself when not started, then lets the lease go', async () => {
    const a = new Recording('a', { streamPrefixes: ['a-'] });
    const cli = replica('cli', [a]);
    const head = await append(20);
    await cli.catchUp();
    expect(a.applied).toEqual(once(await positions('a-')));
    expect(await cli.checkpoints()).toEqual({ a: head });
    expect(record.owner).toBeNull();
  });
});

describe('combinedFilter', () => {
  it('reads the union of stream prefixes when every projection filters by prefix only', () => {
    expect(
      combinedFilter([
        { streamPrefixes: ['a-'] },
        { streamPrefixes: ['b-', 'a-'] },
        { streamPrefixes: ['c-'] },
      ]),
    ).toEqual({ streamPrefixes: ['a-', 'b-', 'c-'] });
  });

  it('reads everything when a projection has no prefix or filters by type', () => {
    expect(combinedFilter([{ streamPrefixes: ['a-'] }, {}])).toBeUndefined();
    expect(
      combinedFilter([{ streamPrefixes: ['a-'] }, { streamPrefixes: ['b-'], eventTypes: ['X'] }]),
    ).toBeUndefined();
  });
});
