import request from 'supertest';
import { Scope } from '../../src/auth/access-token';
import { uuidv7 } from '../../src/common/ids';
import { bearer, startTestApp, TestApp } from '../support/test-app';

/** Authentication and authorisation of every endpoint route, per DESIGN §2 "Auth". */

const BASE = '/api/webhooks/endpoints';

interface Route {
  name: string;
  scope: Extract<Scope, 'webhooks:read' | 'webhooks:write'>;
  /** Status of a successful call with a write token. */
  success: number;
  /** Sends the request for an existing endpoint `id`, with the given extra headers. */
  send(t: TestApp, id: string, headers: Record<string, string>): request.Test;
}

const ROUTES: Route[] = [
  {
    name: 'POST /endpoints',
    scope: 'webhooks:write',
    success: 201,
    send: (t, _id, headers) =>
      t.http
        .post(BASE)
        .set(headers)
        .send({ url: 'https://example.com/hook', format: 'raw', events: [] }),
  },
  {
    name: 'GET /endpoints',
    scope: 'webhooks:read',
    success: 200,
    send: (t, _id, headers) => t.http.get(BASE).set(headers),
  },
  {
    name: 'GET /endpoints/{id}',
    scope: 'webhooks:read',
    success: 200,
    send: (t, id, headers) => t.http.get(`${BASE}/${id}`).set(headers),
  },
  {
    name: 'PATCH /endpoints/{id}',
    scope: 'webhooks:write',
    success: 200,
    send: (t, id, headers) => t.http.patch(`${BASE}/${id}`).set(headers).send({ format: 'slack' }),
  },
  {
    name: 'DELETE /endpoints/{id}',
    scope: 'webhooks:write',
    success: 204,
    send: (t, id, headers) => t.http.delete(`${BASE}/${id}`).set(headers),
  },
  {
    name: 'PATCH /endpoints/{id}/secret',
    scope: 'webhooks:write',
    success: 200,
    send: (t, id, headers) => t.http.patch(`${BASE}/${id}/secret`).set(headers),
  },
];

const READ_ROUTES = ROUTES.filter((r) => r.scope === 'webhooks:read');
const WRITE_ROUTES = ROUTES.filter((r) => r.scope === 'webhooks:write');

function expectUnauthorized(res: request.Response): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer');
  expect(Object.keys(res.body as object).sort()).toEqual(['detail', 'error']);
  const body = res.body as { error: string; detail: unknown };
  expect(body.error).toBe('Unauthorized');
  expect(typeof body.detail).toBe('string');
  expect(body.detail).not.toBe('');
}

function expectInvalidToken(res: request.Response): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
  expect(Object.keys(res.body as object).sort()).toEqual(['error', 'error_description']);
  const body = res.body as { error: string; error_description: unknown };
  expect(body.error).toBe('invalid_token');
  expect(typeof body.error_description).toBe('string');
  expect(body.error_description).not.toBe('');
}

function expectInsufficientScope(res: request.Response, scope: string): void {
  expect(res.status).toBe(403);
  expect(res.headers['www-authenticate']).toBe(
    `Bearer error="insufficient_scope", scope="${scope}"`,
  );
  expect(Object.keys(res.body as object).sort()).toEqual(['error', 'error_description']);
  const body = res.body as { error: string; error_description: unknown };
  expect(body.error).toBe('insufficient_scope');
  expect(typeof body.error_description).toBe('string');
}

describe('auth', () => {
  let t: TestApp;
  let writer: { token: string; workspaceId: string };

  beforeAll(async () => {
    t = await startTestApp();
    writer = await t.workspaceToken(['webhooks:read', 'webhooks:write']);
  });
  afterAll(() => t.close());

  /** A live endpoint in the writer's workspace; the snapshot lets tests check it is unchanged. */
  async function endpoint(): Promise<{ id: string; body: unknown }> {
    const res = await t.http
      .post(BASE)
      .set(bearer(writer.token))
      .send({ url: 'https://example.com/a', format: 'raw', events: ['customer.created'] });
    expect(res.status).toBe(201);
    return { id: (res.body as { id: string }).id, body: res.body };
  }

  async function expectUnchanged(target: { id: string; body: unknown }): Promise<void> {
    await t.http.get(`${BASE}/${target.id}`).set(bearer(writer.token)).expect(200, target.body);
  }

  describe.each(ROUTES)('$name', (route) => {
    it('answers 401 Unauthorized without an Authorization header', async () => {
      const target = await endpoint();
      expectUnauthorized(await route.send(t, target.id, {}));
      await expectUnchanged(target);
    });

    it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Token abc', 'bearer'])(
      'answers 401 Unauthorized for the malformed header %j',
      async (header) => {
        const target = await endpoint();
        expectUnauthorized(await route.send(t, target.id, { Authorization: header }));
        await expectUnchanged(target);
      },
    );

    it('answers 401 invalid_token for unknown tokens', async () => {
      const target = await endpoint();
      for (const token of ['rwh_unknown-token-value', 'not-even-our-prefix', `${writer.token}x`]) {
        expectInvalidToken(await route.send(t, target.id, bearer(token)));
      }
      await expectUnchanged(target);
    });

    it('answers 401 invalid_token for a revoked token, from the very next request', async () => {
      const target = await endpoint();
      const issued = await t.workspaceToken(
        ['webhooks:read', 'webhooks:write'],
        writer.workspaceId,
      );
      const before = await t.http.get(`${BASE}/${target.id}`).set(bearer(issued.token));
      expect(before.status).toBe(200);
      await t.tokens.revoke(issued.tokenId);
      expectInvalidToken(await route.send(t, target.id, bearer(issued.token)));
      await expectUnchanged(target);
    });

    it(`answers 403 insufficient_scope to a publish-only token`, async () => {
      const target = await endpoint();
      const publisher = await t.workspaceToken(['webhooks:publish'], writer.workspaceId);
      expectInsufficientScope(await route.send(t, target.id, bearer(publisher.token)), route.scope);
      await expectUnchanged(target);
    });

    it(`succeeds with ${route.scope === 'webhooks:read' ? 'a read or a' : 'a'} write token`, async () => {
      const target = await endpoint();
      const res = await route.send(t, target.id, bearer(writer.token));
      expect(res.status).toBe(route.success);
    });

    it('checks the token before validating the request', async () => {
      expectUnauthorized(await route.send(t, 'not-a-uuid', {}));
      const publisher = await t.workspaceToken(['webhooks:publish']);
      const res = await route.send(t, 'not-a-uuid', bearer(publisher.token));
      expectInsufficientScope(res, route.scope);
    });
  });

  describe.each(WRITE_ROUTES)('$name with a read-only token', (route) => {
    it('answers 403 insufficient_scope naming webhooks:write, and changes nothing', async () => {
      const target = await endpoint();
      const reader = await t.workspaceToken(['webhooks:read'], writer.workspaceId);
      const res = await route.send(t, target.id, bearer(reader.token));
      expectInsufficientScope(res, 'webhooks:write');
      await expectUnchanged(target);
    });
  });

  describe.each(READ_ROUTES)('$name', (route) => {
    it.each<[string, Scope[]]>([
      ['read', ['webhooks:read']],
      ['write', ['webhooks:write']],
      ['read+publish', ['webhooks:read', 'webhooks:publish']],
    ])('accepts a %s token', async (_label, scopes) => {
      const target = await endpoint();
      const reader = await t.workspaceToken(scopes, writer.workspaceId);
      expect((await route.send(t, target.id, bearer(reader.token))).status).toBe(200);
    });
  });

  it('accepts the header with surrounding whitespace', async () => {
    const res = await t.http.get(BASE).set('Authorization', `  Bearer ${writer.token}  `);
    expect(res.status).toBe(200);
  });

  it('a user token works for each of its workspaces and only those', async () => {
    const a = uuidv7();
    const b = uuidv7();
    const user = await t.userToken([a, b]);
    const inA = await t.workspaceToken(['webhooks:write'], a);
    const created = await t.http
      .post(BASE)
      .set(bearer(inA.token))
      .send({ url: 'https://example.com/a', format: 'raw', events: [] })
      .expect(201);
    const id = (created.body as { id: string }).id;
    await t.http.get(`${BASE}/${id}`).set(bearer(user.token)).expect(200, created.body);
    const outsider = await t.userToken([b, uuidv7()]);
    await t.http
      .get(`${BASE}/${id}`)
      .set(bearer(outsider.token))
      .expect(404, { error: 'ResourceNotFound', detail: 'Not found' });
  });

  it('revoking one token leaves the others working', async () => {
    const first = await t.workspaceToken(['webhooks:read'], writer.workspaceId);
    const second = await t.workspaceToken(['webhooks:read'], writer.workspaceId);
    await t.tokens.revoke(first.tokenId);
    expectInvalidToken(await t.http.get(BASE).set(bearer(first.token)));
    expect((await t.http.get(BASE).set(bearer(second.token))).status).toBe(200);
  });

  it('GET /health needs no token, and ignores a bad one', async () => {
    await t.http.get('/health').expect(200, { status: 'ok' });
    await t.http
      .get('/health')
      .set('Authorization', 'Basic nonsense')
      .expect(200, { status: 'ok' });
  });
});
