import type { Statement } from 'better-sqlite3';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';

/** Rows per statement: a call into SQLite per row costs about as much as the row itself. */
const ROWS_PER_STATEMENT = 32;

/**
 * Writes rows with one INSERT of many VALUES tuples where a batch has enough of them, and one
 * row at a time for the rest. `insert` is the statement up to `VALUES`; `conflict` what follows
 * the tuples (an ON CONFLICT clause, or nothing). Same effect as one statement per row, in
 * order, as long as a batch holds no two rows for the same key.
 */
export class RowWriter {
  private readonly many: Statement<unknown[]>;
  private readonly one: Statement<unknown[]>;
  /** The parameters of one `many`, filled in place: no array per call. */
  private readonly params: unknown[];

  constructor(
    db: SqliteDatabase,
    insert: string,
    private readonly columns: number,
    conflict = '',
  ) {
    this.params = new Array<unknown>(columns * ROWS_PER_STATEMENT);
    const tuple = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
    const tuples = Array.from({ length: ROWS_PER_STATEMENT }, () => tuple).join(', ');
    this.many = db.prepare(`${insert} VALUES ${tuples} ${conflict}`);
    this.one = db.prepare(`${insert} VALUES ${tuple} ${conflict}`);
  }

  write(rows: readonly unknown[][]): void {
    let i = 0;
    const params = this.params;
    for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
      let k = 0;
      for (let r = i; r < i + ROWS_PER_STATEMENT; r++) {
        const row = rows[r];
        for (let c = 0; c < this.columns; c++) params[k++] = row[c];
      }
      this.many.run(params);
    }
    for (; i < rows.length; i++) this.one.run(rows[i]);
  }
}
