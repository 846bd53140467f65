import { Scope, TokenKind } from './access-token';

/** Who is calling: resolved from the bearer token by the AuthGuard. */
export interface Principal {
  tokenId: string;
  kind: TokenKind;
  workspaceIds: readonly string[];
  scopes: readonly Scope[];
}

export function canAccessWorkspace(principal: Principal, workspaceId: string): boolean {
  return principal.workspaceIds.includes(workspaceId);
}
