import type { Collection, Db } from 'mongodb';
import { offsetOf } from '../../common/pagination';
import { RecordedEvent } from '../../eventstore/event-store';
import { FoldedModel, Versioned, foldBatch } from '../../projections/mongo/guarded-writes';
import { MongoProjection } from '../../projections/mongo/mongo-projection';
import {
  IndexSpec,
  NEWEST_FIRST,
  QuerySpec,
  SortedQuerySpec,
  ensureIndexes,
} from '../../projections/mongo/query-spec';
import { ENDPOINT_STREAM_PREFIX, Endpoint, EndpointEvent, evolve } from '../endpoint';
import { EndpointListQuery, EndpointsRepository } from '../endpoints.repository';

/** An endpoint as stored: its state, `deleted` for the list filter, and the position applied. */
export interface EndpointDoc extends Versioned, Omit<Endpoint, 'id'> {
  deleted: boolean;
}

export const ENDPOINTS_COLLECTION = 'endpoints';

export const ENDPOINT_INDEXES: readonly IndexSpec[] = [
  // GET /endpoints (newest first) and publishing's targets of one workspace.
  { name: 'live_by_workspace_newest_first', key: { workspaceId: 1, deleted: 1, ...NEWEST_FIRST } },
];

/** Every query the repository sends, as data (see query-spec.ts). */
export const endpointQueries = {
  byId: (id: string): QuerySpec<EndpointDoc> => ({ filter: { _id: id } }),
  liveInWorkspaces: (workspaceIds: readonly string[]): SortedQuerySpec<EndpointDoc> => ({
    filter: { workspaceId: { $in: workspaceIds }, deleted: false },
    sort: NEWEST_FIRST,
  }),
  liveInWorkspace: (workspaceId: string): QuerySpec<EndpointDoc> => ({
    filter: { workspaceId, deleted: false },
  }),
};

export const endpointModel: FoldedModel<Endpoint, EndpointDoc> = {
  keyOf: (event) => String(event.data.endpointId),
  evolve: (state, event) => evolve(state, event as unknown as EndpointEvent),
  toDoc: ({ id, ...endpoint }, position) => ({
    _id: id,
    ...endpoint,
    deleted: endpoint.deletedAt !== null,
    position,
  }),
  fromDoc: (doc) => ({
    id: doc._id,
    workspaceId: doc.workspaceId,
    url: doc.url,
    format: doc.format,
    events: doc.events,
    secret: doc.secret,
    previousSecret: doc.previousSecret,
    previousSecretExpiresAt: doc.previousSecretExpiresAt,
    enabled: doc.enabled,
    enabledAt: doc.enabledAt,
    createdAt: doc.createdAt,
    modifiedAt: doc.modifiedAt,
    deletedAt: doc.deletedAt,
  }),
};

/** The endpoints read model in MongoDB: the projection and its queries. */
export class MongoEndpoints implements MongoProjection, EndpointsRepository {
  readonly name = 'endpoints';
  readonly filter = { streamPrefixes: [ENDPOINT_STREAM_PREFIX] };
  private readonly collection: Collection<EndpointDoc>;

  constructor(db: Db) {
    this.collection = db.collection<EndpointDoc>(ENDPOINTS_COLLECTION);
  }

  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    await foldBatch(this.collection, endpointModel, events);
  }

  async reset(): Promise<void> {
    await this.collection.deleteMany({});
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.collection, ENDPOINT_INDEXES);
  }

  async findById(id: string): Promise<Endpoint | null> {
    const doc = await this.collection.findOne(endpointQueries.byId(id).filter);
    return doc && endpointModel.fromDoc(doc);
  }

  async listForWorkspace(workspaceId: string): Promise<Endpoint[]> {
    const docs = await this.collection
      .find(endpointQueries.liveInWorkspace(workspaceId).filter)
      .toArray();
    return docs.map(endpointModel.fromDoc);
  }

  async list({
    workspaceIds,
    page,
  }: EndpointListQuery): Promise<{ items: Endpoint[]; total: number }> {
    if (workspaceIds.length === 0) return { items: [], total: 0 };
    const { filter, sort } = endpointQueries.liveInWorkspaces(workspaceIds);
    const [total, docs] = await Promise.all([
      this.collection.countDocuments(filter),
      this.collection.find(filter).sort(sort).skip(offsetOf(page)).limit(page.limit).toArray(),
    ]);
    return { items: docs.map(endpointModel.fromDoc), total };
  }
}
