import { SqliteDatabase } from './sqlite-database';

/** Builds a parameterised WHERE clause: every filter is a condition, all joined with AND. */
export class Conditions {
  private readonly parts: string[] = [];
  readonly params: unknown[] = [];

  add(condition: string, ...params: unknown[]): this {
    this.parts.push(condition);
    this.params.push(...params);
    return this;
  }

  anyOf(column: string, values: readonly unknown[]): this {
    return this.add(`${column} IN (${values.map(() => '?').join(', ')})`, ...values);
  }

  /** Adds every condition of `other`. */
  and(other: Conditions): this {
    this.parts.push(...other.parts);
    this.params.push(...other.params);
    return this;
  }

  sql(): string {
    return this.parts.length > 0 ? this.parts.join(' AND ') : '1';
  }
}

export interface PageSelect {
  /** Columns to return, e.g. `doc`. */
  columns: string;
  /** Table expression, joins included. */
  from: string;
  where: Conditions;
  orderBy: string;
  limit: number;
  offset: number;
}

/** One page of rows and the total count of matching rows, for the API's `{data, meta}` lists. */
export function selectPage<Row>(
  db: SqliteDatabase,
  { columns, from, where, orderBy, limit, offset }: PageSelect,
): { rows: Row[]; total: number } {
  const total = db
    .prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM ${from} WHERE ${where.sql()}`)
    .get(...where.params)!.n;
  const rows = db
    .prepare<unknown[], Row>(
      `SELECT ${columns} FROM ${from} WHERE ${where.sql()} ORDER BY ${orderBy} LIMIT ? OFFSET ?`,
    )
    .all(...where.params, limit, offset);
  return { rows, total };
}
