/**
 * The access token aggregate. Tokens are opaque random strings; only their SHA-256 hash is
 * ever stored (in the event and the read model), so a copy of the data files leaks no token.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SCOPES = ['webhooks:read', 'webhooks:write', 'webhooks:publish'] as const;
export type Scope = (typeof SCOPES)[number];

export const TOKEN_PREFIX = 'rwh_';
export const accessTokenStream = (id: string) => `access_token-${id}`;
export const ACCESS_TOKEN_STREAM_PREFIX = 'access_token-';

export type TokenKind = 'workspace' | 'user';

export interface AccessTokenIssued {
  type: 'AccessTokenIssued';
  data: {
    tokenId: string;
    kind: TokenKind;
    /** The user's name for a user token; null for a workspace token. */
    userName: string | null;
    workspaceIds: string[];
    scopes: Scope[];
    tokenHash: string;
    createdAt: string;
  };
}

export interface AccessTokenRevoked {
  type: 'AccessTokenRevoked';
  data: { tokenId: string; revokedAt: string };
}

export type AccessTokenEvent = AccessTokenIssued | AccessTokenRevoked;

export interface AccessToken {
  id: string;
  kind: TokenKind;
  userName: string | null;
  workspaceIds: string[];
  scopes: Scope[];
  tokenHash: string;
  createdAt: string;
  revokedAt: string | null;
}

export function evolve(state: AccessToken | null, event: AccessTokenEvent): AccessToken | null {
  switch (event.type) {
    case 'AccessTokenIssued': {
      const { tokenId, ...rest } = event.data;
      return { id: tokenId, ...rest, revokedAt: null };
    }
    case 'AccessTokenRevoked':
      return state && { ...state, revokedAt: event.data.revokedAt };
  }
}

export interface IssueAccessToken {
  type: 'IssueAccessToken';
  tokenId: string;
  kind: TokenKind;
  userName: string | null;
  workspaceIds: string[];
  scopes: Scope[];
  tokenHash: string;
  now: string;
}

export interface RevokeAccessToken {
  type: 'RevokeAccessToken';
  now: string;
}

export class AccessTokenError extends Error {}

export function decide(
  state: AccessToken | null,
  command: IssueAccessToken | RevokeAccessToken,
): AccessTokenEvent[] {
  if (command.type === 'IssueAccessToken') {
    if (state) throw new AccessTokenError('Token already exists');
    const { kind, userName, workspaceIds, scopes } = command;
    if (workspaceIds.length === 0)
      throw new AccessTokenError('A token needs at least one workspace');
    if (kind === 'workspace' && workspaceIds.length !== 1) {
      throw new AccessTokenError('A workspace token belongs to exactly one workspace');
    }
    if (kind === 'user' && !userName) throw new AccessTokenError('A user token needs a user name');
    if (scopes.length === 0) throw new AccessTokenError('A token needs at least one scope');
    return [
      {
        type: 'AccessTokenIssued',
        data: {
          tokenId: command.tokenId,
          kind,
          userName: kind === 'user' ? userName : null,
          workspaceIds: [...new Set(workspaceIds)],
          scopes: [...new Set(scopes)],
          tokenHash: command.tokenHash,
          createdAt: command.now,
        },
      },
    ];
  }
  if (!state) throw new AccessTokenError('Token not found');
  if (state.revokedAt) return [];
  return [{ type: 'AccessTokenRevoked', data: { tokenId: state.id, revokedAt: command.now } }];
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
