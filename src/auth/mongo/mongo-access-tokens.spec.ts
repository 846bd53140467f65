import { servingIndex } from '../../projections/mongo/testing/index-coverage';
import { AccessToken } from '../access-token';
import { ACCESS_TOKEN_INDEXES, accessTokenModel, accessTokenQueries } from './mongo-access-tokens';

describe('Mongo access tokens read model', () => {
  it('has an index for every query: by id, by hash (unique), all newest first', () => {
    expect(servingIndex(accessTokenQueries.byId('t1'), ACCESS_TOKEN_INDEXES)?.name).toBe('_id_');
    const byHash = servingIndex(accessTokenQueries.byHash('abc'), ACCESS_TOKEN_INDEXES);
    expect(byHash).toMatchObject({ name: 'by_token_hash', unique: true });
    expect(servingIndex(accessTokenQueries.all(), ACCESS_TOKEN_INDEXES)?.name).toBe('newest_first');
  });

  it('stores a token with its position and reads it back unchanged', () => {
    const token: AccessToken = {
      id: 't1',
      kind: 'user',
      userName: 'alice',
      workspaceIds: ['w1', 'w2'],
      scopes: ['webhooks:read'],
      tokenHash: 'abc',
      createdAt: '2026-01-01T00:00:00.000Z',
      revokedAt: null,
    };
    const doc = accessTokenModel.toDoc(token, 4);
    expect(doc).toMatchObject({ _id: 't1', position: 4, tokenHash: 'abc' });
    expect(doc).not.toHaveProperty('id');
    expect(accessTokenModel.fromDoc(doc)).toEqual(token);
  });
});
