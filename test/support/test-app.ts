import { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AppOverrides, createApp } from '../../src/app';
import { Resolver } from '../../src/delivery/http-sender';
import { Scope } from '../../src/auth/access-token';
import { AccessTokensService } from '../../src/auth/access-tokens.service';
import { uuidv7 } from '../../src/common/ids';
import { AppConfig, loadConfig } from '../../src/config/config';
import { Engine } from '../../src/engine/engine';

export interface TestApp {
  app: INestApplication;
  engine: Engine;
  dataDir: string;
  /** supertest agent bound to the running app's HTTP server */
  http: ReturnType<typeof request>;
  tokens: AccessTokensService;
  /** Issues a workspace token (new random workspace unless given) and returns it with its workspace. */
  workspaceToken(
    scopes?: Scope[],
    workspaceId?: string,
  ): Promise<{ token: string; workspaceId: string; tokenId: string }>;
  userToken(workspaceIds: string[], scopes?: Scope[]): Promise<{ token: string; tokenId: string }>;
  close(): Promise<void>;
}

/**
 * Starts the real Nest application on a fresh temporary DATA_DIR (a real SQLite file), listening
 * on an ephemeral 127.0.0.1 port. `env` overrides configuration variables.
 */
/**
 * Tests never reach the network: names under `.localtest` resolve to 127.0.0.1 and any other
 * name fails to resolve, as a name with no DNS record would.
 */
export const testResolver: Resolver = async (hostname) => {
  if (hostname === 'localtest' || hostname.endsWith('.localtest')) {
    return [{ address: '127.0.0.1', family: 4 }];
  }
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

export async function startTestApp(
  env: Record<string, string> = {},
  dataDir?: string,
  overrides: AppOverrides = {},
): Promise<TestApp> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'rapidly-test-'));
  const config: AppConfig = loadConfig({ LOG_LEVEL: 'error', ...env, DATA_DIR: dir, PORT: '0' });
  const { app, engine } = await createApp(config, undefined, {
    resolver: testResolver,
    ...overrides,
  });
  await app.listen(0, '127.0.0.1');
  const tokens = app.get(AccessTokensService);
  const result: TestApp = {
    app,
    engine,
    dataDir: dir,
    http: request(app.getHttpServer()),
    tokens,
    async workspaceToken(scopes = ['webhooks:read', 'webhooks:write'], workspaceId = uuidv7()) {
      const { token, accessToken } = await tokens.issue({
        kind: 'workspace',
        userName: null,
        workspaceIds: [workspaceId],
        scopes,
      });
      return { token, workspaceId, tokenId: accessToken.id };
    },
    async userToken(workspaceIds, scopes = ['webhooks:read', 'webhooks:write']) {
      const { token, accessToken } = await tokens.issue({
        kind: 'user',
        userName: 'test-user',
        workspaceIds,
        scopes,
      });
      return { token, tokenId: accessToken.id };
    },
    async close() {
      await app.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return result;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
