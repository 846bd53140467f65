import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendOnlyLists } from './append-only-lists';
import { Conditions } from './sql-conditions';
import { SqliteDatabase, openSqliteDatabase } from './sqlite-database';

const GROUPS = ['a', 'b', 'c'];
const KINDS = ['x', 'y', 'z'];

/** Random ids and seconds that repeat: the order rests on the id wherever times tie. */
function rows(count: number, fromSecond: number, seconds: number) {
  return Array.from({ length: count }, () => ({
    id: randomUUID(),
    grp: GROUPS[Math.floor(Math.random() * GROUPS.length)],
    kind: Math.random() < 0.05 ? 'rare' : KINDS[Math.floor(Math.random() * KINDS.length)],
    created_at: new Date(
      Date.UTC(2026, 0, 1) + (fromSecond + Math.floor(Math.random() * seconds)) * 1000,
    ).toISOString(),
  }));
}

function insert(db: SqliteDatabase, items: ReturnType<typeof rows>): void {
  const statement = db.prepare(
    'INSERT INTO items (id, grp, kind, created_at) VALUES (@id, @grp, @kind, @created_at)',
  );
  db.transaction(() => items.forEach((item) => statement.run(item)))();
}

/** The lists asked for: by groups (merged when several), and filtered. */
function requests(): Array<{ groups: string[]; kinds?: string[] }> {
  return [
    { groups: ['a'] },
    { groups: ['a', 'b', 'c'] },
    { groups: ['b', 'c'], kinds: ['x'] },
    { groups: ['a'], kinds: ['rare'] },
    { groups: ['a', 'c'], kinds: ['rare', 'z'] },
    { groups: ['nobody'] },
  ];
}

describe('AppendOnlyLists', () => {
  let dir: string;
  let db: SqliteDatabase;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-lists-'));
    db = openSqliteDatabase(dir);
    db.exec(`
      CREATE TABLE items (id TEXT PRIMARY KEY, grp TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX items_by_group ON items (grp, created_at, id, kind);
    `);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every page at two sizes, and one past the end, against a plain query of the same rows. */
  function expectEveryPage(lists: AppendOnlyLists): void {
    for (const { groups, kinds } of requests()) {
      const filters = new Conditions();
      if (kinds) filters.anyOf('d.kind', kinds);
      const scope = (ids: string[]) => new Conditions().anyOf('d.grp', ids).and(filters);
      const where = scope(groups);
      const expected = db
        .prepare<unknown[], string>(
          `SELECT d.id FROM items d WHERE ${where.sql()} ORDER BY d.created_at DESC, d.id DESC`,
        )
        .pluck()
        .all(...where.params);
      const parts = groups.length > 1 ? groups.map((g) => scope([g])) : [where];
      for (const limit of [7, 100]) {
        for (let page = 1; page <= Math.ceil(expected.length / limit) + 1; page++) {
          const offset = (page - 1) * limit;
          const result = lists.page({ where, parts, offset, limit }, (rowids) =>
            rowids.map((rowid) =>
              db
                .prepare<[number], string>('SELECT id FROM items WHERE rowid = ?')
                .pluck()
                .get(rowid)!,
            ),
          );
          expect({ groups, kinds, limit, page, ...result }).toEqual({
            groups,
            kinds,
            limit,
            page,
            items: expected.slice(offset, offset + limit),
            total: expected.length,
          });
        }
      }
    }
  }

  it('pages and counts exactly, short lists and long, marks moving as rows are added, old times among them', () => {
    const lists = new AppendOnlyLists(db, 'items d', 'd', {
      smallList: 20,
      maxAdded: 50,
      markAfter: 3,
    });
    insert(db, rows(400, 0, 300));
    expectEveryPage(lists);
    // A few more: the lists catch up from the rows added (some older than everything listed).
    insert(db, rows(30, -100, 500));
    expectEveryPage(lists);
    // A short list grows past the threshold.
    insert(
      db,
      rows(40, 0, 300).map((row) => ({ ...row, kind: 'rare' })),
    );
    expectEveryPage(lists);
    // More than maxAdded at once: counted again.
    insert(db, rows(120, 200, 400));
    expectEveryPage(lists);
  });

  it('starts over when the table is emptied and filled again, here or by another connection', () => {
    const lists = new AppendOnlyLists(db, 'items d', 'd', { smallList: 20 });
    insert(db, rows(200, 0, 100));
    expectEveryPage(lists);

    db.exec('DELETE FROM items');
    lists.clear();
    insert(db, rows(150, 0, 100));
    expectEveryPage(lists);

    // Another connection (another process: a replay) empties and refills it, fewer rows than
    // before: rowids start over, which only the data version tells.
    const other = openSqliteDatabase(dir);
    try {
      other.exec('DELETE FROM items');
      insert(other, rows(120, 0, 100));
    } finally {
      other.close();
    }
    expectEveryPage(lists);
  });

  it('reads no rows for a page past the end, and stops a page at the end of the list', () => {
    const lists = new AppendOnlyLists(db, 'items d', 'd', { smallList: 2 });
    insert(
      db,
      rows(5, 0, 2).map((row) => ({ ...row, grp: 'a' })),
    );
    const where = new Conditions().anyOf('d.grp', ['a']);
    const read = jest.fn((rowids: number[]) => rowids);
    expect(lists.page({ where, parts: [where], offset: 10, limit: 10 }, read)).toEqual({
      items: [],
      total: 5,
    });
    expect(read).not.toHaveBeenCalled();
    expect(lists.page({ where, parts: [where], offset: 3, limit: 10 }, read).items).toHaveLength(2);
  });
});
