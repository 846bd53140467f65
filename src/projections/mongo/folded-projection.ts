import type { Collection, Db, WithId } from 'mongodb';
import { PageRequest } from '../../common/pagination';
import { EventFilter, RecordedEvent } from '../../eventstore/event-store';
import { Folded, FoldedModel, Versioned, foldBatch } from './guarded-writes';
import { MongoProjection } from './mongo-projection';
import { IndexSpec, QuerySpec, SortedQuerySpec, ensureIndexes, findPage } from './query-spec';

/**
 * A read model of one document per aggregate, its state folded from the log by `model` (see
 * guarded-writes.ts): the projection side (apply, reset, indexes) and the reads its repository
 * makes, which answer with states rather than documents. Subclasses name the projection, choose
 * its events and add the repository's queries.
 */
export abstract class FoldedProjection<State, Doc extends Versioned> implements MongoProjection {
  abstract readonly name: string;
  abstract readonly filter: EventFilter;
  protected readonly collection: Collection<Doc>;

  protected constructor(
    db: Db,
    collectionName: string,
    protected readonly model: FoldedModel<State, Doc>,
    private readonly indexes: readonly IndexSpec[],
  ) {
    this.collection = db.collection<Doc>(collectionName);
  }

  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    await this.fold(events);
  }

  /** Applies a batch; each event comes back with its document's state once it is applied. */
  protected fold(events: readonly RecordedEvent[]): Promise<Folded<State>[]> {
    return foldBatch(this.collection, this.model, events);
  }

  async reset(): Promise<void> {
    await this.collection.deleteMany({});
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.collection, this.indexes);
  }

  get collections(): readonly string[] {
    return [this.collection.collectionName];
  }

  protected async findOne({ filter }: QuerySpec<Doc>): Promise<State | null> {
    const doc = await this.collection.findOne(filter);
    return doc && this.stateOf(doc);
  }

  protected async findAll({ filter, sort }: QuerySpec<Doc>): Promise<State[]> {
    const cursor = this.collection.find(filter);
    const docs = await (sort ? cursor.sort(sort) : cursor).toArray();
    return docs.map((doc) => this.stateOf(doc));
  }

  protected async findPage(
    query: SortedQuerySpec<Doc>,
    page: PageRequest,
  ): Promise<{ items: State[]; total: number }> {
    const { docs, total } = await findPage(this.collection, query, page);
    return { items: docs.map((doc) => this.stateOf(doc)), total };
  }

  /** A stored document is a Doc: its `_id` is the string Versioned declares. */
  private stateOf(doc: WithId<Doc>): State {
    return this.model.fromDoc(doc as Doc);
  }
}
