import { RecordedEvent } from '../../eventstore/event-store';
import {
  FoldedModel,
  Versioned,
  foldEvents,
  guardedMerge,
  guardedReplace,
  insertOnce,
} from './guarded-writes';

interface Counter {
  id: string;
  total: number;
  history: string[];
}

interface CounterDoc extends Versioned {
  total: number;
  history: string[];
}

/** A deliberately non-idempotent fold: applying an event twice shows in `total` and `history`. */
const model: FoldedModel<Counter, CounterDoc> = {
  keyOf: (e) => String(e.data.id),
  evolve: (state, e) =>
    e.type === 'Started'
      ? { id: String(e.data.id), total: 0, history: [`start@${e.position}`] }
      : state && {
          ...state,
          total: state.total + Number(e.data.add),
          history: [...state.history, `add@${e.position}`],
        },
  toDoc: ({ id, ...rest }, position) => ({ _id: id, ...rest, position }),
  fromDoc: ({ _id, total, history }) => ({ id: _id, total, history }),
};

function event(position: number, type: string, data: Record<string, unknown>): RecordedEvent {
  return {
    position,
    streamId: `counter-${String(data.id)}`,
    revision: 0,
    type,
    data,
    metadata: {},
    recordedAt: '2026-01-01T00:00:00.000Z',
  };
}

const guardOf = (write: { updateOne: { update: unknown } }) => write.updateOne.update;

describe('guarded writes', () => {
  it('replaces a document only while its stored position is before the new one, creating it if missing', () => {
    const doc: CounterDoc = { _id: 'c1', total: 1, history: ['$notAFieldPath'], position: 9 };
    expect(guardedReplace(doc)).toEqual({
      updateOne: {
        filter: { _id: 'c1' },
        upsert: true,
        update: [
          {
            $replaceWith: {
              $cond: {
                if: { $lt: [{ $ifNull: ['$position', -1] }, 9] },
                // The whole document is a literal: "$..." strings are values, not field paths.
                then: { $literal: doc },
                else: '$$ROOT',
              },
            },
          },
        ],
      },
    });
  });

  it('merges fields (literal) and computed expressions under the guard and an extra condition, never creating', () => {
    const write = guardedMerge<CounterDoc>(
      'c1',
      12,
      { history: ['$x'] },
      { computed: { total: { $add: ['$total', 1] } }, condition: { $gt: ['$total', 0] } },
    );
    expect(write.updateOne.upsert).toBeUndefined();
    expect(write.updateOne.filter).toEqual({ _id: 'c1' });
    expect(guardOf(write)).toEqual([
      {
        $replaceWith: {
          $cond: {
            if: {
              $and: [{ $lt: [{ $ifNull: ['$position', -1] }, 12] }, { $gt: ['$total', 0] }],
            },
            then: {
              $mergeObjects: [
                '$$ROOT',
                { $literal: { history: ['$x'], position: 12 } },
                { total: { $add: ['$total', 1] } },
              ],
            },
            else: '$$ROOT',
          },
        },
      },
    ]);
  });

  it('inserts an immutable document once: $setOnInsert on its id, so a second insert is a no-op', () => {
    expect(insertOnce<CounterDoc>({ _id: 'c1', total: 0, history: [], position: 3 })).toEqual({
      updateOne: {
        filter: { _id: 'c1' },
        update: { $setOnInsert: { total: 0, history: [], position: 3 } },
        upsert: true,
      },
    });
  });
});

describe('foldEvents', () => {
  const batch = [
    event(10, 'Started', { id: 'a' }),
    event(11, 'Added', { id: 'a', add: 2 }),
    event(12, 'Added', { id: 'b', add: 5 }),
    event(13, 'Added', { id: 'a', add: 3 }),
    event(14, 'Added', { id: 'missing', add: 1 }),
  ];

  it('folds each document through its events in log order and writes its final state once', () => {
    const stored: CounterDoc[] = [{ _id: 'b', total: 1, history: ['start@2'], position: 2 }];
    const { folded, writes } = foldEvents(model, stored, batch);

    // One write per changed document, in no particular order (an unordered bulk).
    expect(writes).toHaveLength(2);
    expect(writes.map((w) => (w.updateOne.update as Array<{ $replaceWith: unknown }>)[0])).toEqual(
      expect.arrayContaining([
        {
          $replaceWith: {
            $cond: {
              if: { $lt: [{ $ifNull: ['$position', -1] }, 13] },
              then: {
                $literal: {
                  _id: 'a',
                  total: 5,
                  history: ['start@10', 'add@11', 'add@13'],
                  position: 13,
                },
              },
              else: '$$ROOT',
            },
          },
        },
        {
          $replaceWith: {
            $cond: {
              if: { $lt: [{ $ifNull: ['$position', -1] }, 12] },
              then: {
                $literal: { _id: 'b', total: 6, history: ['start@2', 'add@12'], position: 12 },
              },
              else: '$$ROOT',
            },
          },
        },
      ]),
    );
    // An event for a document that does not exist changes nothing (as evolve says).
    expect(folded.map((f) => f.state?.total ?? null)).toEqual([0, 2, 6, 5, null]);
  });

  it('skips the events a stored document already applied: re-delivery changes nothing', () => {
    const applied: CounterDoc[] = [
      { _id: 'a', total: 5, history: ['start@10', 'add@11', 'add@13'], position: 13 },
      { _id: 'b', total: 6, history: ['start@2', 'add@12'], position: 12 },
    ];
    expect(foldEvents(model, applied, batch).writes).toEqual([]);

    // Part-way: only what comes after the stored position is applied.
    const partly: CounterDoc[] = [
      { _id: 'a', total: 2, history: ['start@10', 'add@11'], position: 11 },
    ];
    const { writes } = foldEvents(model, partly, batch.slice(0, 4));
    const first = writes[0].updateOne.update as Array<{
      $replaceWith: { $cond: { then: { $literal: CounterDoc } } };
    }>;
    expect(first[0].$replaceWith.$cond.then.$literal).toEqual({
      _id: 'a',
      total: 5,
      history: ['start@10', 'add@11', 'add@13'],
      position: 13,
    });
  });
});
