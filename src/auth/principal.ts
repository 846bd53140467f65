import { validationFailed } from '../common/errors';
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

/**
 * The workspace a write acts in: a workspace token's own; for a user token the one it names,
 * which may be left out only when it has exactly one.
 */
export function workspaceFor(principal: Principal, requested: string | undefined): string {
  const loc = ['body', 'workspace_id'];
  if (requested === undefined) {
    if (principal.workspaceIds.length === 1) return principal.workspaceIds[0];
    throw validationFailed([
      { type: 'missing', loc, msg: 'workspace_id is required for a token with several workspaces' },
    ]);
  }
  const id = requested.toLowerCase();
  if (canAccessWorkspace(principal, id)) return id;
  const msg =
    principal.kind === 'workspace'
      ? "workspace_id must be the token's own workspace or be omitted"
      : 'workspace_id is not one of the workspaces this token can access';
  throw validationFailed([{ type: 'value_error', loc, msg, input: requested }]);
}
