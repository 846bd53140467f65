import { Difference } from '../read-model-replay';
import {
  CollectionRenames,
  Doc,
  diffCollections,
  diffFields,
  switchCollection,
} from './mongo-replay';

async function* each(docs: Doc[]): AsyncGenerator<Doc> {
  for (const doc of docs) yield doc;
}

async function diff(live: Doc[], rebuilt: Doc[], target = 10): Promise<Difference[]> {
  const found: Difference[] = [];
  const skip = new Set(['position', 'leaseUntil']);
  for await (const d of diffCollections('things', each(live), each(rebuilt), target, skip)) {
    found.push(d);
  }
  return found;
}

describe('MongoDB verify: comparing a live collection with its rebuild', () => {
  it('compares values, not key order, and leaves out what the log does not decide', () => {
    const live = {
      _id: 'a',
      position: 3,
      n: 1,
      at: new Date(0),
      sub: { x: 1, y: [1, 2] },
      leaseUntil: 5,
    };
    const rebuilt = {
      sub: { y: [1, 2], x: 1 },
      at: new Date(0),
      n: 1,
      _id: 'a',
      position: 3,
      leaseUntil: 0,
    };
    expect(diffFields(live, rebuilt, new Set(['leaseUntil']))).toEqual([]);
    expect(diffFields({ ...live, n: 2 }, rebuilt, new Set(['leaseUntil']))).toEqual([
      { field: 'n', live: 2, rebuilt: 1 },
    ]);
  });

  it('reports missing, unexpected and changed documents in key order', async () => {
    const found = await diff(
      [
        { _id: 'b', position: 2, v: 1 },
        { _id: 'c', position: 3, v: 1 },
        { _id: 'e', position: 4, v: 1 },
      ],
      [
        { _id: 'a', position: 1, v: 1 },
        { _id: 'b', position: 2, v: 2 },
        { _id: 'e', position: 4, v: 1 },
        { _id: 'f', position: 5, v: 1 },
      ],
    );
    expect(found).toEqual([
      { table: 'things', key: 'a', kind: 'missing', fields: [] },
      { table: 'things', key: 'b', kind: 'changed', fields: [{ field: 'v', live: 1, rebuilt: 2 }] },
      { table: 'things', key: 'c', kind: 'unexpected', fields: [] },
      { table: 'things', key: 'f', kind: 'missing', fields: [] },
    ]);
  });

  it('skips documents that moved on past the rebuild, and tombstones their TTL removed', async () => {
    const found = await diff(
      [
        { _id: 'a', position: 11, v: 9 }, // changed after the checkpoint the rebuild stopped at
        { _id: 'b', position: 12, v: 1 }, // created after it
      ],
      [
        { _id: 'a', position: 5, v: 1 },
        { _id: 'c', position: 6, removedAt: new Date(0) }, // expired from the live collection
      ],
    );
    expect(found).toEqual([]);
  });
});

/**
 * The collections of a database by name, as far as a switch uses them: renames that refuse an
 * existing target (MongoDB's NamespaceExists, code 48) unless told to drop it, and drops.
 */
class FakeDb {
  readonly names = new Map<string, string>(); // name → what it holds
  readonly dropped: string[] = [];

  listCollections(filter: { name: string }) {
    return { toArray: async () => (this.names.has(filter.name) ? [{ name: filter.name }] : []) };
  }

  collection(name: string) {
    return {
      rename: async (to: string, options?: { dropTarget?: boolean }) => {
        if (!this.names.has(name)) throw new Error(`source namespace ${name} does not exist`);
        if (this.names.has(to) && !options?.dropTarget) {
          throw Object.assign(new Error(`target namespace ${to} exists`), { code: 48 });
        }
        if (this.names.has(to)) this.dropped.push(this.names.get(to)!);
        this.names.set(to, this.names.get(name)!);
        this.names.delete(name);
      },
      drop: async () => {
        if (this.names.has(name)) this.dropped.push(this.names.get(name)!);
        return this.names.delete(name);
      },
    };
  }
}

describe('MongoDB replay: putting a rebuilt collection in place', () => {
  const asDb = (db: FakeDb) => db as unknown as CollectionRenames;

  it('renames a read model without leases over the live one', async () => {
    const db = new FakeDb();
    db.names.set('endpoints', 'live').set('endpoints__replay_x', 'rebuilt');
    await switchCollection(asDb(db), {}, 'endpoints__replay_x', 'endpoints', 'x');
    expect([...db.names]).toEqual([['endpoints', 'rebuilt']]);
  });

  it('moves the live queue away, lets the copy adopt its leases, then drops it', async () => {
    const db = new FakeDb();
    db.names.set('due_work', 'live').set('due_work__replay_x', 'rebuilt');
    const adoptedFrom: Array<[string, string | undefined]> = [];
    const rebuilt = {
      adoptLeasesFrom: async (retired: string) => {
        adoptedFrom.push([retired, db.names.get(retired)]);
        return 1;
      },
    };
    await switchCollection(asDb(db), rebuilt, 'due_work__replay_x', 'due_work', 'x');
    expect(adoptedFrom).toEqual([['due_work__retired_x_0', 'live']]);
    expect([...db.names]).toEqual([['due_work', 'rebuilt']]);
    expect(db.dropped).toEqual(['live']);
  });

  it('takes over the leases of a stand-in made meanwhile rather than dropping it', async () => {
    const db = new FakeDb();
    db.names.set('due_work', 'live').set('due_work__replay_x', 'rebuilt');
    const adoptedFrom: Array<string | undefined> = [];
    const rebuilt = {
      adoptLeasesFrom: async (retired: string) => {
        adoptedFrom.push(db.names.get(retired));
        // The fenced runner's last upsert makes the collection again, and a claim lands in it.
        if (adoptedFrom.length === 1) db.names.set('due_work', 'stand-in with a lease');
        return 1;
      },
    };
    await switchCollection(asDb(db), rebuilt, 'due_work__replay_x', 'due_work', 'x');
    expect(adoptedFrom).toEqual(['live', 'stand-in with a lease']);
    expect([...db.names]).toEqual([['due_work', 'rebuilt']]);
    expect(db.dropped.sort()).toEqual(['live', 'stand-in with a lease']);
  });

  it('puts the live queue back when the switch fails halfway', async () => {
    const db = new FakeDb();
    db.names.set('due_work', 'live').set('due_work__replay_x', 'rebuilt');
    const rebuilt = {
      adoptLeasesFrom: async () => {
        throw new Error('connection lost');
      },
    };
    await expect(
      switchCollection(asDb(db), rebuilt, 'due_work__replay_x', 'due_work', 'x'),
    ).rejects.toThrow('connection lost');
    expect(db.names.get('due_work')).toBe('live');
    expect(db.names.get('due_work__replay_x')).toBe('rebuilt');
    expect(db.dropped).toEqual([]);
  });
});
