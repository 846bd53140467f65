import type { Document } from 'mongodb';
import { IndexSpec, QuerySpec } from '../query-spec';

/**
 * A query's shape, derived from the very filter a repository sends:
 * - equality: `field: value` or `{ $eq }` / `{ $in }` (MongoDB merges the per-value scans);
 * - range: `$gt`, `$gte`, `$lt`, `$lte`, `$ne`;
 * - residual: anything under `$or` / `$nor` / `$expr` or a `$regex`: post-filters, evaluated on
 *   the documents the indexed conditions narrowed to.
 */
export interface QueryShape {
  equality: string[];
  sort: Array<[string, 1 | -1]>;
  range: string[];
  residual: string[];
}

const EQUALITY_OPERATORS = new Set(['$eq', '$in']);
const RANGE_OPERATORS = new Set(['$gt', '$gte', '$lt', '$lte', '$ne']);
const RESIDUAL_OPERATORS = new Set(['$or', '$nor', '$expr']);

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).length > 0 &&
    Object.keys(value).every((k) => k.startsWith('$'))
  );
}

/** Field names anywhere in a sub-filter (for `$or` / `$nor` branches). */
function fieldsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(fieldsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
    key.startsWith('$') ? fieldsIn(inner) : [key],
  );
}

export function shapeOf<T>(query: QuerySpec<T>): QueryShape {
  const shape: QueryShape = {
    equality: [],
    sort: Object.entries(query.sort ?? {}),
    range: [],
    residual: [],
  };
  for (const [field, condition] of Object.entries(query.filter as Document)) {
    if (RESIDUAL_OPERATORS.has(field)) {
      shape.residual.push(...fieldsIn(condition));
    } else if (field.startsWith('$')) {
      throw new Error(`Unsupported top-level operator ${field}`);
    } else if (!isOperatorObject(condition)) {
      shape.equality.push(field);
    } else {
      const operators = Object.keys(condition);
      if (operators.every((op) => EQUALITY_OPERATORS.has(op))) shape.equality.push(field);
      else if (operators.every((op) => RANGE_OPERATORS.has(op))) shape.range.push(field);
      else if (operators.every((op) => op === '$regex' || op === '$options')) {
        shape.residual.push(field);
      } else throw new Error(`Unsupported operators on ${field}: ${operators.join(', ')}`);
    }
  }
  return shape;
}

/** The index every collection has. */
export const ID_INDEX: IndexSpec = { name: '_id_', key: { _id: 1 }, unique: true };

/**
 * The ESR prefix rule: the index starts with every equality field (in any order), then the sort
 * keys (all in the index's directions, or all reversed), and every range field comes after the
 * equality fields (a range on a sort key is bounded by it; a later one is checked in the index
 * keys, without reading the document). Extra trailing keys are fine. A unique index all of whose
 * keys are equality fields finds at most one document per value: the rest is checked on it.
 */
export function serves(index: IndexSpec, shape: QueryShape): boolean {
  const keys = Object.entries(index.key);
  if (index.unique && keys.every(([field]) => shape.equality.includes(field))) return true;
  const equalityCount = shape.equality.length;
  const prefix = keys.slice(0, equalityCount).map(([field]) => field);
  if (prefix.length !== equalityCount || !shape.equality.every((f) => prefix.includes(f))) {
    return false;
  }
  const sortPart = keys.slice(equalityCount, equalityCount + shape.sort.length);
  if (sortPart.length !== shape.sort.length) return false;
  const sameFields = sortPart.every(([field], i) => field === shape.sort[i][0]);
  const products = sortPart.map(([, direction], i) => Number(direction) * shape.sort[i][1]);
  if (!sameFields || !(products.every((p) => p === 1) || products.every((p) => p === -1))) {
    return false;
  }
  const rest = keys.slice(equalityCount).map(([field]) => field);
  return shape.range.every((field) => rest.includes(field));
}

/** The first declared index (or `_id`) that serves the query, if any. */
export function servingIndex<T>(
  query: QuerySpec<T>,
  indexes: readonly IndexSpec[],
): IndexSpec | undefined {
  const shape = shapeOf(query);
  return [ID_INDEX, ...indexes].find((index) => serves(index, shape));
}

/** A readable line for a failing expectation. */
export function describeQuery<T>(query: QuerySpec<T>): string {
  const { equality, sort, range, residual } = shapeOf(query);
  const sortText = sort.map(([f, d]) => `${f}:${d}`).join(',');
  return `equality [${equality}] sort [${sortText}] range [${range}] residual [${residual}]`;
}

/** Every combination of the given optional parts: 2^n of them, the empty one included. */
export function everyCombination<T extends object>(parts: T[]): T[] {
  return parts.reduce<T[]>(
    (combos, part) => [...combos, ...combos.map((c) => ({ ...c, ...part }))],
    [{} as T],
  );
}
