import type { Db } from 'mongodb';
import { FoldedProjection } from '../../projections/mongo/folded-projection';
import { FoldedModel, Versioned } from '../../projections/mongo/guarded-writes';
import {
  IndexSpec,
  NEWEST_FIRST,
  QuerySpec,
  SortedQuerySpec,
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
export class MongoAccessTokens
  extends FoldedProjection<AccessToken, AccessTokenDoc>
  implements AccessTokensRepository
{
  readonly name = 'access_tokens';
  readonly filter = { streamPrefixes: [ACCESS_TOKEN_STREAM_PREFIX] };

  /** `suffix`: a replay's copy of the read model, on collections named with it. */
  constructor(db: Db, suffix = '') {
    super(db, `${ACCESS_TOKENS_COLLECTION}${suffix}`, accessTokenModel, ACCESS_TOKEN_INDEXES);
  }

  findByHash(tokenHash: string): Promise<AccessToken | null> {
    return this.findOne(accessTokenQueries.byHash(tokenHash));
  }

  findById(id: string): Promise<AccessToken | null> {
    return this.findOne(accessTokenQueries.byId(id));
  }

  list(): Promise<AccessToken[]> {
    return this.findAll(accessTokenQueries.all());
  }
}
