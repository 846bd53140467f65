import type { AnyBulkWriteOperation, Collection, Document, Filter, UpdateOneModel } from 'mongodb';
import { RecordedEvent } from '../../eventstore/event-store';

/**
 * Every projected document carries `position`: the log position of the last event applied to it.
 * A write for the event at position P only takes effect while the stored position is below P, so
 * re-applying an event (or an older one) leaves the document as it is. The check and the write
 * are one single-document update (an update pipeline), atomic on the server: no transaction, and
 * no error to catch when the event was already applied.
 */
export interface Versioned {
  _id: string;
  position: number;
}

/** True (as an aggregation expression) while the document has not applied `position` yet. */
export function notYetApplied(position: number): Document {
  return { $lt: [{ $ifNull: ['$position', -1] }, position] };
}

/**
 * Replaces the whole document with `doc` (which holds its own `position`), creating it if it does
 * not exist, unless the stored one already applied that position or a later one. Values go in as
 * `$literal`, so a string such as "$x" in a payload is never read as a field path.
 */
export function guardedReplace<T extends Versioned>(doc: T): { updateOne: UpdateOneModel<T> } {
  return {
    updateOne: {
      filter: { _id: doc._id } as Filter<T>,
      update: [
        {
          $replaceWith: {
            $cond: { if: notYetApplied(doc.position), then: { $literal: doc }, else: '$$ROOT' },
          },
        },
      ],
      upsert: true,
    },
  };
}

/**
 * Sets `fields` (literal values) and `computed` (aggregation expressions over the stored document)
 * and moves the document to `position`, when it exists, has not applied `position` yet and
 * `condition` (an aggregation expression) holds. Never creates a document.
 */
export function guardedMerge<T extends Versioned>(
  id: string,
  position: number,
  fields: Document,
  options: { computed?: Document; condition?: Document } = {},
): { updateOne: UpdateOneModel<T> } {
  const guard = options.condition
    ? { $and: [notYetApplied(position), options.condition] }
    : notYetApplied(position);
  return {
    updateOne: {
      filter: { _id: id } as Filter<T>,
      update: [
        {
          $replaceWith: {
            $cond: {
              if: guard,
              then: {
                $mergeObjects: [
                  '$$ROOT',
                  { $literal: { ...fields, position } },
                  ...(options.computed ? [options.computed] : []),
                ],
              },
              else: '$$ROOT',
            },
          },
        },
      ],
    },
  };
}

/** Inserts a document that never changes afterwards (an attempt); a second insert does nothing. */
export function insertOnce<T extends Versioned>(doc: T): { updateOne: UpdateOneModel<T> } {
  const { _id, ...rest } = doc;
  return {
    updateOne: {
      filter: { _id } as Filter<T>,
      update: { $setOnInsert: rest as Partial<T> },
      upsert: true,
    },
  };
}

/** Runs the writes in one round trip, in order (an ordered bulk stops at its first error). */
export async function writeInOrder<T extends Versioned>(
  collection: Collection<T>,
  writes: ReadonlyArray<AnyBulkWriteOperation<T>>,
): Promise<void> {
  if (writes.length > 0) await collection.bulkWrite([...writes], { ordered: true });
}

/** How an evolve-based read model maps between its aggregate state and its documents. */
export interface FoldedModel<State, Doc extends Versioned> {
  keyOf(event: RecordedEvent): string;
  evolve(state: State | null, event: RecordedEvent): State | null;
  toDoc(state: State, position: number): Doc;
  fromDoc(doc: Doc): State;
}

/** An event of a batch and the state of its document once the event is applied. */
export interface Folded<State> {
  event: RecordedEvent;
  /** After the event; a later state when the event had already been applied before. */
  state: State | null;
}

/**
 * Folds a batch into the documents it touches, given their stored versions: each event is applied
 * in memory when its document has not applied it yet, and each changed document gets one guarded
 * write with its final state. Pure: `foldBatch` does the reading and writing around it.
 */
export function foldEvents<State, Doc extends Versioned>(
  model: FoldedModel<State, Doc>,
  stored: readonly Doc[],
  events: readonly RecordedEvent[],
): { folded: Folded<State>[]; writes: Array<{ updateOne: UpdateOneModel<Doc> }> } {
  const current = new Map<string, { state: State | null; position: number; changed: boolean }>();
  for (const doc of stored) {
    current.set(doc._id, { state: model.fromDoc(doc), position: doc.position, changed: false });
  }
  const folded: Folded<State>[] = [];
  for (const event of events) {
    const key = model.keyOf(event);
    const entry = current.get(key) ?? { state: null, position: -1, changed: false };
    if (entry.position < event.position) {
      const next = model.evolve(entry.state, event);
      if (next !== null) {
        entry.state = next;
        entry.position = event.position;
        entry.changed = true;
      }
    }
    current.set(key, entry);
    folded.push({ event, state: entry.state });
  }
  const writes = [...current.values()].flatMap((entry) =>
    entry.changed && entry.state !== null
      ? [guardedReplace(model.toDoc(entry.state, entry.position))]
      : [],
  );
  return { folded, writes };
}

/**
 * One read of the documents a batch touches, the fold, then the guarded writes in one round trip.
 * A document written meanwhile by someone else at a later position keeps that write (the guard);
 * one at an earlier position is overwritten with the correct later state.
 */
export async function foldBatch<State, Doc extends Versioned>(
  collection: Collection<Doc>,
  model: FoldedModel<State, Doc>,
  events: readonly RecordedEvent[],
): Promise<Folded<State>[]> {
  const keys = [...new Set(events.map((e) => model.keyOf(e)))];
  const stored = await collection.find({ _id: { $in: keys } } as Filter<Doc>).toArray();
  const { folded, writes } = foldEvents(model, stored as Doc[], events);
  if (writes.length > 0) {
    await collection.bulkWrite(writes as AnyBulkWriteOperation<Doc>[], { ordered: false });
  }
  return folded;
}
