import { specFor } from '../common/testing/given-when-then';
import {
  AccessToken,
  AccessTokenError,
  AccessTokenEvent,
  AccessTokenIssued,
  IssueAccessToken,
  RevokeAccessToken,
  TOKEN_PREFIX,
  decide,
  evolve,
  generateToken,
  hashToken,
} from './access-token';

const spec = specFor<AccessToken | null, AccessTokenEvent, IssueAccessToken | RevokeAccessToken>({
  initialState: null,
  evolve,
  decide,
});

const now = '2026-11-27T10:00:00.000Z';
const workspace = '01a21c43-0000-7000-8000-0000000000aa';
const issue: IssueAccessToken = {
  type: 'IssueAccessToken',
  tokenId: '01a21c43-0000-7000-8000-000000000001',
  kind: 'workspace',
  userName: null,
  workspaceIds: [workspace],
  scopes: ['webhooks:read', 'webhooks:read'],
  tokenHash: 'abc',
  now,
};
const issued: AccessTokenIssued = {
  type: 'AccessTokenIssued',
  data: {
    tokenId: issue.tokenId,
    kind: 'workspace',
    userName: null,
    workspaceIds: [workspace],
    scopes: ['webhooks:read'],
    tokenHash: 'abc',
    createdAt: now,
  },
};

describe('access token decisions', () => {
  it('issues a token with de-duplicated scopes', () => {
    spec.given([]).when(issue).then([issued]);
  });

  it('requires exactly one workspace for a workspace token', () => {
    spec
      .given([])
      .when({ ...issue, workspaceIds: [workspace, 'other'] })
      .thenThrows(AccessTokenError);
    spec
      .given([])
      .when({ ...issue, workspaceIds: [] })
      .thenThrows(AccessTokenError);
  });

  it('requires a user name for a user token, and at least one scope', () => {
    spec
      .given([])
      .when({ ...issue, kind: 'user' })
      .thenThrows(AccessTokenError);
    spec
      .given([])
      .when({ ...issue, scopes: [] })
      .thenThrows(AccessTokenError);
  });

  it('revokes once; revoking again records nothing', () => {
    const revoked: AccessTokenEvent = {
      type: 'AccessTokenRevoked',
      data: { tokenId: issue.tokenId, revokedAt: now },
    };
    spec.given([issued]).when({ type: 'RevokeAccessToken', now }).then([revoked]);
    spec.given([issued, revoked]).when({ type: 'RevokeAccessToken', now }).then([]);
  });

  it('cannot revoke an unknown token', () => {
    spec.given([]).when({ type: 'RevokeAccessToken', now }).thenThrows(AccessTokenError);
  });

  it('generates prefixed, unguessable tokens and stores only a hash', () => {
    const a = generateToken();
    expect(a.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(a).not.toEqual(generateToken());
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(a)).not.toContain(a.slice(TOKEN_PREFIX.length));
  });
});
