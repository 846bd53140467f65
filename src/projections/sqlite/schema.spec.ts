import Database from 'better-sqlite3';
import { TableNames, ensureIndexes } from './schema';

describe('ensureIndexes', () => {
  const indexes = (db: Database.Database) =>
    db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
      )
      .all()
      .map((i) => i.name);

  it('creates what is missing, keeps an equal one under any name, drops the rest', () => {
    const db = new Database(':memory:');
    db.exec(`
      CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT, b TEXT, c INTEGER);
      CREATE INDEX t_by_a__replay_x ON t (a,  b);
      CREATE INDEX t_old ON t (a DESC);
    `);
    ensureIndexes(db, new TableNames(), 't', {
      t_by_a: '(a, b)',
      t_by_c: '(c) WHERE c IS NOT NULL',
    });
    expect(indexes(db)).toEqual(['t_by_a__replay_x', 't_by_c']);
    // Idempotent: a second start changes nothing.
    ensureIndexes(db, new TableNames(), 't', {
      t_by_a: '(a, b)',
      t_by_c: '(c) WHERE c IS NOT NULL',
    });
    expect(indexes(db)).toEqual(['t_by_a__replay_x', 't_by_c']);
  });

  it('picks another name when the wanted one is taken by an index of another table', () => {
    const db = new Database(':memory:');
    db.exec(`
      CREATE TABLE t (id TEXT PRIMARY KEY, a TEXT);
      CREATE TABLE t__old_x (id TEXT PRIMARY KEY, a TEXT);
      CREATE INDEX t_by_a ON t__old_x (a);
    `);
    ensureIndexes(db, new TableNames(), 't', { t_by_a: '(a, id)' });
    expect(indexes(db)).toEqual(['t_by_a', 't_by_a_2']);
  });

  it('names new indexes with the suffix of shadow tables', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t__replay_y (id TEXT PRIMARY KEY, a TEXT)');
    ensureIndexes(db, new TableNames('__replay_y'), 't__replay_y', { t_by_a: '(a)' });
    expect(indexes(db)).toEqual(['t_by_a__replay_y']);
  });
});
