import type { Collection, Document, Filter, IndexDescription, WithId } from 'mongodb';
import { PageRequest, offsetOf } from '../../common/pagination';

/** One index of a collection, declared as data so a spec can check it against every query. */
export interface IndexSpec extends IndexDescription {
  name: string;
  key: Record<string, 1 | -1>;
}

/** Key order matters: the first key sorts first. */
export type SortSpec = Readonly<Record<string, 1 | -1>>;

/**
 * A query as data: what a repository sends, built by a pure function, so the same object is both
 * executed and checked against the declared indexes (the specs enumerate every filter combination).
 */
export interface QuerySpec<T> {
  filter: Filter<T>;
  sort?: SortSpec;
}

/** A query whose results come in a defined order (lists, claims). */
export interface SortedQuerySpec<T> extends QuerySpec<T> {
  sort: SortSpec;
}

/** The API's list order: newest first, ties broken by id (descending). */
export const NEWEST_FIRST = { createdAt: -1, _id: -1 } as const satisfies SortSpec;

/** Creates the declared indexes; an existing index with the same name and keys is left alone. */
export async function ensureIndexes<T extends Document>(
  collection: Collection<T>,
  indexes: readonly IndexSpec[],
): Promise<void> {
  if (indexes.length > 0) await collection.createIndexes([...indexes]);
}

/** One page of a list, and how many documents the whole list holds. */
export async function findPage<T extends Document>(
  collection: Collection<T>,
  { filter, sort }: SortedQuerySpec<T>,
  page: PageRequest,
): Promise<{ docs: WithId<T>[]; total: number }> {
  const [total, docs] = await Promise.all([
    collection.countDocuments(filter),
    collection.find(filter).sort(sort).skip(offsetOf(page)).limit(page.limit).toArray(),
  ]);
  return { docs, total };
}
