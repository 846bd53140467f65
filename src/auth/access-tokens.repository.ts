import { AccessToken } from './access-token';

export const ACCESS_TOKENS_REPOSITORY = Symbol('AccessTokensRepository');

export interface AccessTokensRepository {
  findByHash(tokenHash: string): Promise<AccessToken | null>;
  findById(id: string): Promise<AccessToken | null>;
  /** Every token, newest first. */
  list(): Promise<AccessToken[]>;
}
