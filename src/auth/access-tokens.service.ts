import { timingSafeEqual } from 'node:crypto';
import { nowIso } from '../common/clock';
import { uuidv7 } from '../common/ids';
import { executeOnStream } from '../eventstore/command-execution';
import { EventStore } from '../eventstore/event-store';
import { ProjectionRunner } from '../projections/projection-runner';
import {
  AccessToken,
  AccessTokenError,
  AccessTokenEvent,
  Scope,
  TOKEN_PREFIX,
  TokenKind,
  accessTokenStream,
  decide,
  evolve,
  generateToken,
  hashToken,
} from './access-token';
import { AccessTokensRepository } from './access-tokens.repository';

const decider = { evolve, initialState: null as AccessToken | null };

export interface IssueTokenRequest {
  kind: TokenKind;
  userName: string | null;
  workspaceIds: string[];
  scopes: Scope[];
}

/** Issues, revokes and checks access tokens; used by the HTTP guard and by the CLI. */
export class AccessTokensService {
  constructor(
    private readonly store: EventStore,
    private readonly projections: ProjectionRunner,
    private readonly tokens: AccessTokensRepository,
  ) {}

  /** Returns the plain token, the only time it exists outside the caller's hands. */
  async issue(request: IssueTokenRequest): Promise<{ token: string; accessToken: AccessToken }> {
    const token = generateToken();
    const tokenId = uuidv7();
    const result = await executeOnStream<AccessToken | null, AccessTokenEvent>(
      this.store,
      accessTokenStream(tokenId),
      decider,
      (state) =>
        decide(state, {
          type: 'IssueAccessToken',
          tokenId,
          ...request,
          tokenHash: hashToken(token),
          now: nowIso(),
        }),
    );
    await this.projections.waitFor(result.position ?? 0);
    return { token, accessToken: result.state! };
  }

  async revoke(tokenId: string): Promise<AccessToken> {
    const result = await executeOnStream<AccessToken | null, AccessTokenEvent>(
      this.store,
      accessTokenStream(tokenId),
      decider,
      (state) => decide(state, { type: 'RevokeAccessToken', now: nowIso() }),
    );
    await this.projections.waitFor(result.position ?? 0);
    if (!result.state) throw new AccessTokenError('Token not found');
    return result.state;
  }

  list(): Promise<AccessToken[]> {
    return this.tokens.list();
  }

  /** The live token for this bearer string, or null when unknown or revoked. */
  async authenticate(token: string): Promise<AccessToken | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const hash = hashToken(token);
    const found = await this.tokens.findByHash(hash);
    if (!found || found.revokedAt) return null;
    // The lookup is by hash already; compare anyway in constant time as defence in depth.
    return timingSafeEqual(Buffer.from(found.tokenHash, 'hex'), Buffer.from(hash, 'hex'))
      ? found
      : null;
  }
}
