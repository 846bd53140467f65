import type { Db } from 'mongodb';
import { FoldedProjection } from '../../projections/mongo/folded-projection';
import { FoldedModel, Versioned } from '../../projections/mongo/guarded-writes';
import {
  IndexSpec,
  NEWEST_FIRST,
  QuerySpec,
  SortedQuerySpec,
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
export class MongoEndpoints
  extends FoldedProjection<Endpoint, EndpointDoc>
  implements EndpointsRepository
{
  readonly name = 'endpoints';
  readonly filter = { streamPrefixes: [ENDPOINT_STREAM_PREFIX] };

  /** `suffix`: a replay's copy of the read model, on collections named with it. */
  constructor(db: Db, suffix = '') {
    super(db, `${ENDPOINTS_COLLECTION}${suffix}`, endpointModel, ENDPOINT_INDEXES);
  }

  findById(id: string): Promise<Endpoint | null> {
    return this.findOne(endpointQueries.byId(id));
  }

  listForWorkspace(workspaceId: string): Promise<Endpoint[]> {
    return this.findAll(endpointQueries.liveInWorkspace(workspaceId));
  }

  async list({
    workspaceIds,
    page,
  }: EndpointListQuery): Promise<{ items: Endpoint[]; total: number }> {
    if (workspaceIds.length === 0) return { items: [], total: 0 };
    return this.findPage(endpointQueries.liveInWorkspaces(workspaceIds), page);
  }
}
