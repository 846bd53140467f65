import { Difference } from '../read-model-replay';
import { Doc, diffCollections, diffFields } from './mongo-replay';

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
