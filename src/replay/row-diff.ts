import { Difference } from './read-model-replay';

export type Row = Record<string, unknown>;

/**
 * Compares two tables' rows, each sorted by the primary key column `key` the way SQLite's
 * ORDER BY sorts it, in one pass (a merge join: nothing is held but the current row of each).
 * Yields a difference per key found on one side only, or whose columns differ.
 */
export function* diffSortedRows(
  table: string,
  key: string,
  live: Iterable<Row>,
  rebuilt: Iterable<Row>,
): Generator<Difference> {
  const liveRows = live[Symbol.iterator]();
  const rebuiltRows = rebuilt[Symbol.iterator]();
  let a = liveRows.next();
  let b = rebuiltRows.next();
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compareKeys(a.value[key], b.value[key]);
    if (order < 0) {
      yield { table, key: String(a.value[key]), kind: 'unexpected', fields: [] };
      a = liveRows.next();
    } else if (order > 0) {
      yield { table, key: String(b.value[key]), kind: 'missing', fields: [] };
      b = rebuiltRows.next();
    } else {
      const fields = diffColumns(a.value, b.value);
      if (fields.length > 0) yield { table, key: String(a.value[key]), kind: 'changed', fields };
      a = liveRows.next();
      b = rebuiltRows.next();
    }
  }
}

/**
 * SQLite's order for a key column: integers by value, text by its UTF-8 bytes (the BINARY
 * collation), which is not JavaScript's UTF-16 order once characters leave the BMP.
 */
export function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  if (x === y) return 0;
  return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
}

/**
 * The columns that differ. A document column (a JSON object) is compared field by field, so
 * the difference names what changed (`doc.succeeded`) rather than printing two documents.
 */
export function diffColumns(live: Row, rebuilt: Row): Difference['fields'] {
  const fields: Difference['fields'] = [];
  for (const column of union(Object.keys(live), Object.keys(rebuilt))) {
    const x = live[column];
    const y = rebuilt[column];
    if (x === y) continue;
    const docs = [asDocument(x), asDocument(y)];
    if (docs[0] && docs[1]) {
      const before = fields.length;
      for (const field of union(Object.keys(docs[0]), Object.keys(docs[1]))) {
        const u = docs[0][field];
        const v = docs[1][field];
        if (JSON.stringify(u) !== JSON.stringify(v)) {
          fields.push({ field: `${column}.${field}`, live: u, rebuilt: v });
        }
      }
      // Same fields and values, other order or spacing: still a difference in the stored text.
      if (fields.length === before) fields.push({ field: column, live: x, rebuilt: y });
      continue;
    }
    fields.push({ field: column, live: x, rebuilt: y });
  }
  return fields;
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

function asDocument(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string' || !value.startsWith('{')) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
