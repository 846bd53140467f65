import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';

/**
 * Where a projection keeps its tables: the live ones have their plain names; a replay builds
 * shadow copies beside them, under the same names with a suffix, and renames them over the live
 * ones once they have caught up (see src/replay/sqlite/sqlite-replay.ts).
 */
export class TableNames {
  constructor(readonly suffix = '') {}

  of(table: string): string {
    return `${table}${this.suffix}`;
  }
}

/**
 * Creates an index on `table` unless the table already has one with that definition, whatever
 * its name: a table renamed into place by a replay keeps the indexes it was built with, named
 * after the shadow table, and must not get a second copy of each at the next start.
 * `definition` is what follows `ON table`: the columns and an optional WHERE clause.
 */
export function ensureIndex(
  db: SqliteDatabase,
  table: string,
  name: string,
  definition: string,
): void {
  const wanted = normalise(definition);
  const existing = db
    .prepare<[string], { sql: string | null }>(
      "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?",
    )
    .all(table);
  if (existing.some((index) => index.sql !== null && definitionOf(index.sql) === wanted)) return;
  db.exec(`CREATE INDEX ${name} ON ${table} ${definition}`);
}

/** The part of a CREATE INDEX statement after its table name, whitespace normalised. */
function definitionOf(sql: string): string {
  const match =
    /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+("[^"]+"|\S+?)\s*(\(.*)$/is.exec(
      sql,
    );
  return match ? normalise(match[2]) : '';
}

function normalise(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .trim();
}
