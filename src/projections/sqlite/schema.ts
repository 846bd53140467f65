import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';

/**
 * Where a projection keeps its tables: the live ones have their plain names; a replay builds
 * shadow copies beside them, under the same names with a suffix, and renames them over the live
 * ones once they have caught up (see src/replay/sqlite/sqlite-replay.ts).
 */
export class TableNames {
  /** The indexes `ensureIndexes` was asked for while deferring: table → wanted. */
  private readonly deferred = new Map<string, Record<string, string>>();

  /**
   * `deferIndexes`: tables are made without their indexes (other than the primary key's), which
   * `createDeferredIndexes` adds later. A replay fills its shadow tables first: one sort per index
   * at the end costs a fraction of keeping each index up to date row by row.
   */
  constructor(
    readonly suffix = '',
    private readonly deferIndexes = false,
  ) {}

  of(table: string): string {
    return `${table}${this.suffix}`;
  }

  /**
   * Makes the deferred indexes, one at a time: `each` runs around each one's creation (a
   * transaction of its own), given a label such as `deliveries_by_endpoint_listed`.
   */
  createDeferredIndexes(
    db: SqliteDatabase,
    each: (label: string, create: () => void) => void,
  ): void {
    for (const [table, wanted] of this.deferred) {
      for (const [name, definition] of Object.entries(wanted)) {
        each(name, () => createIndex(db, this, table, name, definition));
      }
      this.deferred.delete(table);
    }
  }

  /** Whether `ensureIndexes` should leave `table` for later (and remember what it wanted). */
  defer(table: string, wanted: Record<string, string>): boolean {
    if (this.deferIndexes) this.deferred.set(table, wanted);
    return this.deferIndexes;
  }
}

/**
 * Gives `table` exactly the indexes `wanted` (name without the suffix → what follows `ON table`:
 * the columns and an optional WHERE clause), matched by definition, whatever their names: a table
 * renamed into place by a replay keeps the indexes it was built with, named after the shadow
 * table, and must not get a second copy of each at the next start. Any other index of the table
 * (one an earlier version wanted) is dropped; the primary key's and UNIQUE constraints' are not
 * indexes of this kind and are left alone.
 */
export function ensureIndexes(
  db: SqliteDatabase,
  names: TableNames,
  table: string,
  wanted: Record<string, string>,
): void {
  if (names.defer(table, wanted)) return;
  const existing = db
    .prepare<[string], { name: string; sql: string | null }>(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?",
    )
    .all(table)
    .filter((index) => index.sql !== null);
  const definitions = new Map(Object.entries(wanted).map(([name, d]) => [normalise(d), name]));
  for (const index of existing) {
    const definition = definitionOf(index.sql!);
    if (definitions.has(definition)) definitions.delete(definition);
    else db.exec(`DROP INDEX ${index.name}`);
  }
  for (const [, name] of definitions) createIndex(db, names, table, name, wanted[name]);
}

function createIndex(
  db: SqliteDatabase,
  names: TableNames,
  table: string,
  name: string,
  definition: string,
): void {
  db.exec(`CREATE INDEX ${freeName(db, names.of(name))} ON ${table} ${definition}`);
}

/**
 * `name`, or a variant of it if that is taken: by an index of another table, e.g. one a replay
 * that was killed after its switch-over left on a replaced table.
 */
function freeName(db: SqliteDatabase, name: string): string {
  const taken = db.prepare<[string], number>('SELECT 1 FROM sqlite_schema WHERE name = ?').pluck();
  let candidate = name;
  for (let n = 2; taken.get(candidate) !== undefined; n++) candidate = `${name}_${n}`;
  return candidate;
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
