import { compareKeys, diffColumns, diffSortedRows } from './row-diff';

describe('diffSortedRows', () => {
  const row = (id: string, extra: Record<string, unknown> = {}) => ({ id, n: 1, ...extra });

  it('finds nothing when both sides hold the same rows', () => {
    const rows = [row('a'), row('b'), row('c')];
    expect([
      ...diffSortedRows(
        't',
        'id',
        rows,
        rows.map((r) => ({ ...r })),
      ),
    ]).toEqual([]);
  });

  it('names rows found on one side only, and changed columns', () => {
    const live = [row('a'), row('b', { n: 2 }), row('d')];
    const rebuilt = [row('a'), row('b'), row('c')];
    expect([...diffSortedRows('t', 'id', live, rebuilt)]).toEqual([
      { table: 't', key: 'b', kind: 'changed', fields: [{ field: 'n', live: 2, rebuilt: 1 }] },
      { table: 't', key: 'c', kind: 'missing', fields: [] },
      { table: 't', key: 'd', kind: 'unexpected', fields: [] },
    ]);
  });

  it('reports every row of an empty side', () => {
    expect([...diffSortedRows('t', 'id', [], [row('a'), row('b')])].map((d) => d.kind)).toEqual([
      'missing',
      'missing',
    ]);
    expect([...diffSortedRows('t', 'id', [row('a')], [])].map((d) => d.kind)).toEqual([
      'unexpected',
    ]);
  });
});

describe('diffColumns', () => {
  it('compares a JSON document field by field', () => {
    const live = { id: 'x', doc: JSON.stringify({ a: 1, b: 'two', c: [1] }) };
    const rebuilt = { id: 'x', doc: JSON.stringify({ a: 1, b: 'three', d: true }) };
    expect(diffColumns(live, rebuilt)).toEqual([
      { field: 'doc.b', live: 'two', rebuilt: 'three' },
      { field: 'doc.c', live: [1], rebuilt: undefined },
      { field: 'doc.d', live: undefined, rebuilt: true },
    ]);
  });

  it('still reports documents that differ only in their text', () => {
    const fields = diffColumns({ doc: '{"a":1,"b":2}' }, { doc: '{"b":2,"a":1}' });
    expect(fields).toEqual([{ field: 'doc', live: '{"a":1,"b":2}', rebuilt: '{"b":2,"a":1}' }]);
  });

  it('treats text that is not a JSON object as a plain value', () => {
    expect(diffColumns({ v: '{not json' }, { v: '{nope' })).toEqual([
      { field: 'v', live: '{not json', rebuilt: '{nope' },
    ]);
  });
});

describe('compareKeys', () => {
  it('orders numbers by value and text by UTF-8 bytes, as SQLite does', () => {
    expect(compareKeys(2, 10)).toBeLessThan(0);
    expect(compareKeys('b', 'a')).toBeGreaterThan(0);
    // U+FF61 sorts before U+1F600 in UTF-8 and after it in UTF-16.
    expect(compareKeys('\uff61', '\u{1f600}')).toBeLessThan(0);
    expect('\uff61' < '\u{1f600}').toBe(false);
  });
});
