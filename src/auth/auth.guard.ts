import {
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  applyDecorators,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { insufficientScope, invalidToken, unauthorized } from '../common/errors';
import { ApiInsufficientScopeError, ApiUnauthorizedErrors } from '../openapi/error-responses';
import { Scope } from './access-token';
import { AccessTokensService } from './access-tokens.service';
import { Principal } from './principal';

const REQUIRED_SCOPE = 'requiredScope';

/** Reading is allowed with `webhooks:read` or `webhooks:write`; other scopes stand alone. */
const ACCEPTED_SCOPES: Record<Scope, Scope[]> = {
  'webhooks:read': ['webhooks:read', 'webhooks:write'],
  'webhooks:write': ['webhooks:write'],
  'webhooks:publish': ['webhooks:publish'],
};

/** Marks a route as needing a bearer token with this scope, and documents it. */
export const RequireScope = (scope: Scope) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPE, scope),
    ApiBearerAuth(),
    ApiUnauthorizedErrors(),
    ApiInsufficientScopeError(scope, ACCEPTED_SCOPES[scope]),
  );

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal) throw new Error('Route has no @RequireScope');
    return principal;
  },
);

/** The scheme name is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^Bearer ([\x21-\x7e]+)$/i;

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.get<Scope | undefined>(REQUIRED_SCOPE, context.getHandler());
    if (!scope) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header) throw unauthorized('Missing Authorization header');
    const match = BEARER.exec(header.trim());
    if (!match) throw unauthorized('Authorization header must be "Bearer <token>"');
    const token = await this.tokens.authenticate(match[1]);
    if (!token) throw invalidToken('The access token is unknown or has been revoked');
    if (!token.scopes.some((s) => ACCEPTED_SCOPES[scope].includes(s))) {
      throw insufficientScope(scope);
    }
    request.principal = {
      tokenId: token.id,
      kind: token.kind,
      workspaceIds: token.workspaceIds,
      scopes: token.scopes,
    };
    return true;
  }
}
