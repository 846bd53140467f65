import type { Collection, Db } from 'mongodb';
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
import { ACCESS_TOKEN_STREAM_PREFIX, AccessToken, AccessTokenEvent, evolve } from '../access-token';
import { AccessTokensRepository } from '../access-tokens.repository';

export interface AccessTokenDoc extends Versioned, Omit<AccessToken, 'id'> {}

export const ACCESS_TOKENS_COLLECTION = 'access_tokens';

export const ACCESS_TOKEN_INDEXES: readonly IndexSpec[] = [
  // Every authenticated request looks its bearer token up by hash.
  { name: 'by_token_hash', key: { tokenHash: 1 }, unique: true },
  { name: 'newest_first', key: { ...NEWEST_FIRST } },
];

export const accessTokenQueries = {
  byId: (id: string): QuerySpec<AccessTokenDoc> => ({ filter: { _id: id } }),
  byHash: (tokenHash: string): QuerySpec<AccessTokenDoc> => ({ filter: { tokenHash } }),
  all: (): SortedQuerySpec<AccessTokenDoc> => ({ filter: {}, sort: NEWEST_FIRST }),
};

export const accessTokenModel: FoldedModel<AccessToken, AccessTokenDoc> = {
  keyOf: (event) => String(event.data.tokenId),
  evolve: (state, event) => evolve(state, event as unknown as AccessTokenEvent),
  toDoc: ({ id, ...token }, position) => ({ _id: id, ...token, position }),
  fromDoc: (doc) => ({
    id: doc._id,
    kind: doc.kind,
    userName: doc.userName,
    workspaceIds: doc.workspaceIds,
    scopes: doc.scopes,
    tokenHash: doc.tokenHash,
    createdAt: doc.createdAt,
    revokedAt: doc.revokedAt,
  }),
};

/** The access tokens read model in MongoDB: the projection and its queries. */
export class MongoAccessTokens implements MongoProjection, AccessTokensRepository {
  readonly name = 'access_tokens';
  readonly filter = { streamPrefixes: [ACCESS_TOKEN_STREAM_PREFIX] };
  private readonly collection: Collection<AccessTokenDoc>;

  constructor(db: Db) {
    this.collection = db.collection<AccessTokenDoc>(ACCESS_TOKENS_COLLECTION);
  }

  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    await foldBatch(this.collection, accessTokenModel, events);
  }

  async reset(): Promise<void> {
    await this.collection.deleteMany({});
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.collection, ACCESS_TOKEN_INDEXES);
  }

  async findByHash(tokenHash: string): Promise<AccessToken | null> {
    const doc = await this.collection.findOne(accessTokenQueries.byHash(tokenHash).filter);
    return doc && accessTokenModel.fromDoc(doc);
  }

  async findById(id: string): Promise<AccessToken | null> {
    const doc = await this.collection.findOne(accessTokenQueries.byId(id).filter);
    return doc && accessTokenModel.fromDoc(doc);
  }

  async list(): Promise<AccessToken[]> {
    const { filter, sort } = accessTokenQueries.all();
    const docs = await this.collection.find(filter).sort(sort).toArray();
    return docs.map(accessTokenModel.fromDoc);
  }
}
