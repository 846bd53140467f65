import { IndexSpec, QuerySpec } from '../query-spec';
import { everyCombination, serves, servingIndex, shapeOf } from './index-coverage';

interface Doc {
  _id: string;
  a: string;
  b: number;
  c: boolean;
  createdAt: string;
}

const index = (key: IndexSpec['key']): IndexSpec => ({ name: Object.keys(key).join('_'), key });

describe('shapeOf', () => {
  it('classifies values, $eq and $in as equality, comparisons as range, $or/$regex as residual', () => {
    const query: QuerySpec<Doc> = {
      filter: {
        a: { $in: ['x', 'y'] },
        c: true,
        b: { $gte: 200, $lt: 300 },
        createdAt: { $gt: '2026' },
        $or: [{ _id: { $regex: 'x', $options: 'i' } }, { a: { $regex: 'x' } }],
      },
      sort: { createdAt: -1, _id: -1 },
    };
    expect(shapeOf(query)).toEqual({
      equality: ['a', 'c'],
      sort: [
        ['createdAt', -1],
        ['_id', -1],
      ],
      range: ['b', 'createdAt'],
      residual: ['_id', 'a'],
    });
    expect(shapeOf<Doc>({ filter: { a: { $eq: 'x' }, b: { $ne: 1 } } })).toMatchObject({
      equality: ['a'],
      range: ['b'],
    });
  });

  it('refuses operators it does not know how to classify, rather than guessing', () => {
    expect(() => shapeOf<Doc>({ filter: { a: { $exists: true } } })).toThrow(/\$exists/);
    expect(() => shapeOf<Doc>({ filter: { $and: [{ a: 'x' }] } })).toThrow(/\$and/);
  });
});

describe('serves (ESR prefix rule)', () => {
  const shape = shapeOf<Doc>({
    filter: { a: 'x', c: true, b: { $gte: 1 } },
    sort: { createdAt: -1, _id: -1 },
  });

  it('accepts the equality fields in any order, then the sort, then the range', () => {
    expect(serves(index({ a: 1, c: 1, createdAt: -1, _id: -1, b: 1 }), shape)).toBe(true);
    expect(serves(index({ c: -1, a: 1, createdAt: -1, _id: -1, b: 1, extra: 1 }), shape)).toBe(
      true,
    );
    // Scanned backwards: every direction reversed.
    expect(serves(index({ a: 1, c: 1, createdAt: 1, _id: 1, b: 1 }), shape)).toBe(true);
  });

  it('rejects a missing equality field, a sort out of place or half reversed, a missing range', () => {
    expect(serves(index({ a: 1, createdAt: -1, _id: -1, b: 1 }), shape)).toBe(false);
    expect(serves(index({ a: 1, c: 1, b: 1, createdAt: -1, _id: -1 }), shape)).toBe(false);
    expect(serves(index({ a: 1, c: 1, createdAt: -1, _id: 1, b: 1 }), shape)).toBe(false);
    expect(serves(index({ a: 1, c: 1, createdAt: -1, _id: -1 }), shape)).toBe(false);
    expect(serves(index({ a: 1, c: 1, createdAt: -1 }), shape)).toBe(false);
    // A range field placed before the equality fields cannot be used after them.
    expect(serves(index({ b: 1, a: 1, c: 1, createdAt: -1, _id: -1 }), shape)).toBe(false);
  });

  it('accepts a range on a sort key, and counts (no sort) on an equality prefix', () => {
    const ranged = shapeOf<Doc>({
      filter: { a: 'x', createdAt: { $lt: '2026' } },
      sort: { createdAt: -1, _id: -1 },
    });
    expect(serves(index({ a: 1, createdAt: -1, _id: -1 }), ranged)).toBe(true);
    const count = shapeOf<Doc>({ filter: { a: 'x', createdAt: { $lt: '2026' } } });
    expect(serves(index({ a: 1, createdAt: -1, _id: -1 }), count)).toBe(true);
    expect(serves(index({ createdAt: -1, a: 1 }), count)).toBe(false);
  });

  it('finds _id lookups served by the default index, other conditions checked on the one document', () => {
    expect(servingIndex<Doc>({ filter: { _id: 'x' } }, [])?.name).toBe('_id_');
    expect(servingIndex<Doc>({ filter: { _id: 'x', c: true, b: { $lte: 3 } } }, [])?.name).toBe(
      '_id_',
    );
    expect(servingIndex<Doc>({ filter: { a: 'x' } }, [])).toBeUndefined();
    expect(servingIndex<Doc>({ filter: { b: { $gt: 1 } } }, [])).toBeUndefined();
    // Only a unique index gets that shortcut.
    expect(serves(index({ a: 1 }), shapeOf<Doc>({ filter: { a: 'x', b: { $lt: 1 } } }))).toBe(
      false,
    );
    const unique = { ...index({ a: 1 }), unique: true };
    expect(serves(unique, shapeOf<Doc>({ filter: { a: 'x', b: { $lt: 1 } } }))).toBe(true);
  });
});

describe('everyCombination', () => {
  it('yields all 2^n combinations, the empty one included', () => {
    const combos = everyCombination<Partial<Doc>>([{ a: 'x' }, { b: 1 }, { c: true }]);
    expect(combos).toHaveLength(8);
    expect(combos).toContainEqual({});
    expect(combos).toContainEqual({ a: 'x', b: 1, c: true });
    expect(new Set(combos.map((c) => JSON.stringify(c))).size).toBe(8);
  });
});
