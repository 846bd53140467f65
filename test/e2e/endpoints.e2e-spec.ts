import request from 'supertest';
import { uuidv7 } from '../../src/common/ids';
import { bearer, startTestApp, TestApp } from '../support/test-app';

/** The endpoint-management routes against DESIGN §2: shapes, status codes, validation, scoping. */

const BASE = '/api/webhooks/endpoints';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const NOT_FOUND = { error: 'ResourceNotFound', detail: 'Not found' };
const LONG_SECRET = 'a-user-supplied-secret-of-32-chr';

interface WebhookEndpointBody {
  id: string;
  created_at: string;
  modified_at: string | null;
  url: string;
  format: string;
  secret: string;
  workspace_id: string;
  events: string[];
  enabled: boolean;
}

interface PageBody {
  data: WebhookEndpointBody[];
  meta: { total: number; page: number; per_page: number; pages: number };
}

interface Problem {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
}

const validBody = (overrides: Record<string, unknown> = {}) => ({
  url: 'https://example.com/hook',
  format: 'raw',
  events: ['customer.created'],
  ...overrides,
});

/** Asserts a 422 in the contract's shape and returns its problems. */
function problemsOf(res: request.Response): Problem[] {
  expect(res.status).toBe(422);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as { error: string; detail: Problem[] };
  expect(body.error).toBe('RequestValidationError');
  expect(Array.isArray(body.detail)).toBe(true);
  expect(body.detail.length).toBeGreaterThan(0);
  for (const problem of body.detail) {
    expect(typeof problem.type).toBe('string');
    expect(typeof problem.msg).toBe('string');
    expect(Array.isArray(problem.loc)).toBe(true);
  }
  return body.detail;
}

/** The single problem of a 422, which must be at `loc`. */
function onlyProblemAt(res: request.Response, loc: Array<string | number>): Problem {
  const problems = problemsOf(res);
  expect(problems.map((p) => p.loc)).toEqual([loc]);
  return problems[0];
}

function expectWhsecSecret(secret: string): void {
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
}

describe('endpoints API', () => {
  let t: TestApp;
  /** A read/write workspace token used by most tests, with its workspace. */
  let token: string;
  let workspaceId: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ token, workspaceId } = await t.workspaceToken());
  });
  afterAll(() => t.close());

  async function create(
    withToken: string,
    overrides: Record<string, unknown> = {},
  ): Promise<WebhookEndpointBody> {
    const res = await t.http.post(BASE).set(bearer(withToken)).send(validBody(overrides));
    expect(res.status).toBe(201);
    return res.body as WebhookEndpointBody;
  }

  async function list(withToken: string, query = ''): Promise<PageBody> {
    const res = await t.http.get(`${BASE}${query}`).set(bearer(withToken));
    expect(res.status).toBe(200);
    return res.body as PageBody;
  }

  describe('POST /endpoints', () => {
    it('answers 201 with the full WebhookEndpoint', async () => {
      const before = Date.now();
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send({
          url: 'https://example.com/hook',
          format: 'raw',
          events: ['customer.created', 'share.created'],
        });
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = res.body as WebhookEndpointBody;
      expect(Object.keys(body).sort()).toEqual(
        [
          'created_at',
          'enabled',
          'events',
          'format',
          'id',
          'modified_at',
          'secret',
          'url',
          'workspace_id',
        ].sort(),
      );
      expect(body.id).toMatch(UUID_V7);
      expect(body.created_at).toMatch(ISO_UTC);
      expect(Date.parse(body.created_at)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(body.created_at)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(body.modified_at).toBeNull();
      expect(body.url).toBe('https://example.com/hook');
      expect(body.format).toBe('raw');
      expectWhsecSecret(body.secret);
      expect(body.workspace_id).toBe(workspaceId);
      expect(body.events).toEqual(['customer.created', 'share.created']);
      expect(body.enabled).toBe(true);
    });

    it('generates a different secret for every endpoint', async () => {
      const a = await create(token);
      const b = await create(token);
      expect(a.id).not.toBe(b.id);
      expect(a.secret).not.toBe(b.secret);
    });

    it('trims the url and lower-cases its host, keeping path and query as given', async () => {
      const body = await create(token, { url: '  \thttps://API.Example.COM/Hooks/In?Key=V \n' });
      expect(body.url).toBe('https://api.example.com/Hooks/In?Key=V');
    });

    it('stores an internationalised host name in punycode', async () => {
      const body = await create(token, { url: 'https://Bücher.example/x' });
      expect(body.url).toBe('https://xn--bcher-kva.example/x');
    });

    it.each(['raw', 'discord', 'slack'])('accepts format %s', async (format) => {
      expect((await create(token, { format })).format).toBe(format);
    });

    it('removes duplicate events, keeping the first occurrence order', async () => {
      const body = await create(token, {
        events: ['share.created', 'customer.created', 'share.created', 'customer.created'],
      });
      expect(body.events).toEqual(['share.created', 'customer.created']);
    });

    it('accepts an empty events list', async () => {
      expect((await create(token, { events: [] })).events).toEqual([]);
    });

    it('keeps a user-supplied secret of 32 characters verbatim', async () => {
      expect(LONG_SECRET).toHaveLength(32);
      expect((await create(token, { secret: LONG_SECRET })).secret).toBe(LONG_SECRET);
    });

    it('generates a secret when secret is null', async () => {
      expectWhsecSecret((await create(token, { secret: null })).secret);
    });

    it('rejects a secret shorter than 32 characters', async () => {
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send(validBody({ secret: 'x'.repeat(31) }));
      expect(onlyProblemAt(res, ['body', 'secret']).type).toBe('string_too_short');
    });

    it('accepts a url of exactly 2083 characters and rejects 2084', async () => {
      const prefix = 'https://example.com/';
      const url = prefix + 'a'.repeat(2083 - prefix.length);
      expect((await create(token, { url })).url).toBe(url);
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send(validBody({ url: `${url}b` }));
      onlyProblemAt(res, ['body', 'url']);
    });

    it.each([
      ['plain http', 'http://example.com/hook'],
      ['no scheme', 'example.com/hook'],
      ['no host', 'https://'],
      ['another scheme', 'ftp://example.com/file'],
      ['empty', ''],
      ['blank', '   '],
      ['a control character', 'https://example.com/a\u0000b'],
    ])('rejects a url with %s', async (_label, url) => {
      const res = await t.http.post(BASE).set(bearer(token)).send(validBody({ url }));
      expect(onlyProblemAt(res, ['body', 'url']).input).toBe(url);
    });

    it('rejects a body that is not a JSON object', async () => {
      const notJson = await t.http
        .post(BASE)
        .set(bearer(token))
        .set('Content-Type', 'application/json')
        .send('{"url":');
      expect(onlyProblemAt(notJson, ['body']).type).toBe('json_invalid');
      const array = await t.http.post(BASE).set(bearer(token)).send([validBody()]);
      expect(onlyProblemAt(array, ['body']).type).toBe('model_attributes_type');
    });

    it('rejects a deeply nested body with 422, not a stack overflow', async () => {
      const depth = 5000;
      for (const body of [
        '['.repeat(depth) + ']'.repeat(depth),
        `{"url":"https://example.com/","format":"raw","events":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      ]) {
        const res = await t.http
          .post(BASE)
          .set(bearer(token))
          .set('Content-Type', 'application/json')
          .send(body);
        expect(onlyProblemAt(res, ['body']).type).toBe('value_error');
      }
    });

    it('answers 413 for a body over the size limit, 415 for another media type, charset or encoding', async () => {
      const large = await t.http
        .post(BASE)
        .set(bearer(token))
        .send(validBody({ url: `https://example.com/${'a'.repeat(200_000)}` }));
      expect(large.status).toBe(413);
      expect(large.body).toEqual({ error: 'PayloadTooLarge', detail: expect.any(String) });
      const charset = await t.http
        .post(BASE)
        .set(bearer(token))
        .set('Content-Type', 'application/json; charset=klingon')
        .send(JSON.stringify(validBody()));
      expect(charset.status).toBe(415);
      expect(charset.body).toEqual({ error: 'UnsupportedMediaType', detail: expect.any(String) });
      const form = await t.http
        .post(BASE)
        .set(bearer(token))
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('url=https%3A%2F%2Fexample.com%2F');
      expect(form.status).toBe(415);
      expect(form.body).toEqual({
        error: 'UnsupportedMediaType',
        detail:
          'Unsupported Media Type: send the body as JSON, with Content-Type: application/json',
      });
      const gzip = await t.http
        .post(BASE)
        .set(bearer(token))
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .send(JSON.stringify(validBody()));
      expect(gzip.status).toBe(415);
      expect(gzip.body.detail).toMatch(/Content-Encoding "gzip" is not supported/);
    });

    it('names every missing required field', async () => {
      const res = await t.http.post(BASE).set(bearer(token)).send({});
      const problems = problemsOf(res);
      expect(problems).toHaveLength(3);
      expect(problems.map((p) => p.type)).toEqual(['missing', 'missing', 'missing']);
      expect(problems.map((p) => p.loc)).toEqual(
        expect.arrayContaining([
          ['body', 'url'],
          ['body', 'format'],
          ['body', 'events'],
        ]),
      );
    });

    it('forbids unknown fields, one problem each', async () => {
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send(validBody({ colour: 'blue', enabled: false }));
      const problems = problemsOf(res);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'extra_forbidden', loc: ['body', 'colour'] }),
          expect.objectContaining({ type: 'extra_forbidden', loc: ['body', 'enabled'] }),
        ]),
      );
      expect(problems).toHaveLength(2);
    });

    it('rejects an unknown format', async () => {
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send(validBody({ format: 'xml' }));
      const problem = onlyProblemAt(res, ['body', 'format']);
      expect(problem).toMatchObject({ type: 'enum', input: 'xml' });
      expect(problem.msg).toContain("'raw'");
    });

    it('rejects unknown event types, locating each by its index', async () => {
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send(validBody({ events: ['customer.created', 'customer.exploded', 'share.created', 7] }));
      const problems = problemsOf(res);
      expect(problems).toEqual([
        expect.objectContaining({
          type: 'enum',
          loc: ['body', 'events', 1],
          input: 'customer.exploded',
        }),
        expect.objectContaining({ type: 'enum', loc: ['body', 'events', 3], input: 7 }),
      ]);
    });

    it('rejects wrong types, one problem per field', async () => {
      const res = await t.http
        .post(BASE)
        .set(bearer(token))
        .send({
          url: 42,
          format: ['raw'],
          events: 'customer.created',
          secret: 123,
          workspace_id: 'not-a-uuid',
        });
      const problems = problemsOf(res);
      const byField = Object.fromEntries(problems.map((p) => [p.loc.join('.'), p.type]));
      expect(byField).toEqual({
        'body.url': 'string_type',
        'body.format': 'enum',
        'body.events': 'list_type',
        'body.secret': 'string_type',
        'body.workspace_id': 'uuid_parsing',
      });
    });

    describe('SSRF: literal non-global addresses and localhost', () => {
      const forbidden = [
        'https://localhost/hook',
        'https://LOCALHOST./hook',
        'https://api.localhost/hook',
        'https://127.0.0.1/hook',
        'https://0.0.0.0/hook',
        'https://[::1]/hook',
        'https://10.0.0.1/hook',
        'https://172.16.0.1/hook',
        'https://192.168.1.1/hook',
        'https://169.254.169.254/latest/meta-data',
        'https://100.64.0.1/hook',
        'https://[fc00::1]/hook',
        'https://[fe80::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'https://2130706433/',
        'https://0x7f.1/',
      ];
      let target: WebhookEndpointBody;
      beforeAll(async () => (target = await create(token)));

      it.each(forbidden)('POST rejects %s', async (url) => {
        const res = await t.http.post(BASE).set(bearer(token)).send(validBody({ url }));
        onlyProblemAt(res, ['body', 'url']);
      });

      it.each(forbidden)('PATCH rejects %s', async (url) => {
        const res = await t.http.patch(`${BASE}/${target.id}`).set(bearer(token)).send({ url });
        onlyProblemAt(res, ['body', 'url']);
      });

      it('leaves the endpoint unchanged after the rejected updates', async () => {
        await t.http.get(`${BASE}/${target.id}`).set(bearer(token)).expect(200, target);
      });

      it('accepts a public IP literal', async () => {
        expect((await create(token, { url: 'https://93.184.216.34/x' })).url).toBe(
          'https://93.184.216.34/x',
        );
      });
    });

    describe('workspace rules', () => {
      it('a workspace token may omit workspace_id', async () => {
        expect((await create(token)).workspace_id).toBe(workspaceId);
      });

      it('a workspace token may name its own workspace, in any case', async () => {
        expect((await create(token, { workspace_id: workspaceId })).workspace_id).toBe(workspaceId);
        const upper = await create(token, { workspace_id: workspaceId.toUpperCase() });
        expect(upper.workspace_id).toBe(workspaceId);
      });

      it('a workspace token naming another workspace gets 422', async () => {
        const res = await t.http
          .post(BASE)
          .set(bearer(token))
          .send(validBody({ workspace_id: uuidv7() }));
        onlyProblemAt(res, ['body', 'workspace_id']);
      });

      it('a user token with several workspaces must name one', async () => {
        const a = uuidv7();
        const b = uuidv7();
        const user = await t.userToken([a, b]);
        const res = await t.http.post(BASE).set(bearer(user.token)).send(validBody());
        expect(onlyProblemAt(res, ['body', 'workspace_id']).type).toBe('missing');
        expect((await create(user.token, { workspace_id: b })).workspace_id).toBe(b);
        expect((await create(user.token, { workspace_id: a })).workspace_id).toBe(a);
        const foreign = await t.http
          .post(BASE)
          .set(bearer(user.token))
          .send(validBody({ workspace_id: workspaceId }));
        onlyProblemAt(foreign, ['body', 'workspace_id']);
      });

      it('a user token with a single workspace may omit it', async () => {
        const only = uuidv7();
        const user = await t.userToken([only]);
        expect((await create(user.token)).workspace_id).toBe(only);
      });

      it('no endpoint is created by a rejected request', async () => {
        const fresh = await t.workspaceToken();
        await t.http
          .post(BASE)
          .set(bearer(fresh.token))
          .send(validBody({ workspace_id: uuidv7() }))
          .expect(422);
        await t.http
          .post(BASE)
          .set(bearer(fresh.token))
          .send(validBody({ url: 'https://127.0.0.1/' }))
          .expect(422);
        expect((await list(fresh.token)).meta.total).toBe(0);
      });
    });
  });

  describe('GET /endpoints', () => {
    it('lists newest first in the {data, meta} shape', async () => {
      const fresh = await t.workspaceToken();
      const created: WebhookEndpointBody[] = [];
      for (let i = 0; i < 3; i++) created.push(await create(fresh.token));
      const res = await t.http.get(BASE).set(bearer(fresh.token));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        data: [...created].reverse(),
        meta: { total: 3, page: 1, per_page: 10, pages: 1 },
      });
    });

    it('pages with a default limit of 10, clamps limit to 100 and answers past the end', async () => {
      const fresh = await t.workspaceToken();
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await create(fresh.token)).id);
      const newestFirst = [...ids].reverse();

      const first = await list(fresh.token);
      expect(first.meta).toEqual({ total: 12, page: 1, per_page: 10, pages: 2 });
      expect(first.data.map((e) => e.id)).toEqual(newestFirst.slice(0, 10));

      const second = await list(fresh.token, '?page=2');
      expect(second.meta).toEqual({ total: 12, page: 2, per_page: 10, pages: 2 });
      expect(second.data.map((e) => e.id)).toEqual(newestFirst.slice(10));

      const small = await list(fresh.token, '?page=3&limit=5');
      expect(small.meta).toEqual({ total: 12, page: 3, per_page: 5, pages: 3 });
      expect(small.data.map((e) => e.id)).toEqual(newestFirst.slice(10, 12));

      const clamped = await list(fresh.token, '?limit=500');
      expect(clamped.meta).toEqual({ total: 12, page: 1, per_page: 100, pages: 1 });
      expect(clamped.data.map((e) => e.id)).toEqual(newestFirst);

      const beyond = await list(fresh.token, '?page=7&limit=5');
      expect(beyond).toEqual({ data: [], meta: { total: 12, page: 7, per_page: 5, pages: 3 } });
    });

    it('answers an empty page for a workspace with no endpoints', async () => {
      const fresh = await t.workspaceToken();
      expect(await list(fresh.token)).toEqual({
        data: [],
        meta: { total: 0, page: 1, per_page: 10, pages: 0 },
      });
    });

    it.each([
      ['page=0', 'page', 'greater_than_equal'],
      ['page=-1', 'page', 'greater_than_equal'],
      ['page=1.5', 'page', 'int_parsing'],
      ['page=abc', 'page', 'int_parsing'],
      ['limit=0', 'limit', 'greater_than_equal'],
      ['limit=abc', 'limit', 'int_parsing'],
      ['limit=', 'limit', 'int_parsing'],
      ['workspace_id=nope', 'workspace_id', 'uuid_parsing'],
      ['sort=created_at', 'sort', 'extra_forbidden'],
    ])('rejects ?%s with 422 at query.%s', async (query, field, type) => {
      const res = await t.http.get(`${BASE}?${query}`).set(bearer(token));
      expect(onlyProblemAt(res, ['query', field]).type).toBe(type);
    });

    it('reports each bad query parameter', async () => {
      const res = await t.http.get(`${BASE}?page=0&limit=abc`).set(bearer(token));
      expect(
        problemsOf(res)
          .map((p) => p.loc)
          .sort(),
      ).toEqual([
        ['query', 'limit'],
        ['query', 'page'],
      ]);
    });

    describe('workspace_id filter', () => {
      const a = uuidv7();
      const b = uuidv7();
      let user: string;
      let inA: WebhookEndpointBody[];
      let inB: WebhookEndpointBody;

      beforeAll(async () => {
        user = (await t.userToken([a, b])).token;
        inA = [await create(user, { workspace_id: a }), await create(user, { workspace_id: a })];
        inB = await create(user, { workspace_id: b });
      });

      const ids = (page: PageBody) => page.data.map((e) => e.id);

      it('without a filter lists every workspace of the token', async () => {
        const page = await list(user);
        expect(ids(page)).toEqual([inB.id, inA[1].id, inA[0].id]);
        expect(page.meta.total).toBe(3);
      });

      it('given once, lists that workspace only', async () => {
        const page = await list(user, `?workspace_id=${a}`);
        expect(ids(page)).toEqual([inA[1].id, inA[0].id]);
        expect(page.meta.total).toBe(2);
        expect(ids(await list(user, `?workspace_id=${b}`))).toEqual([inB.id]);
      });

      it('repeated, lists the union', async () => {
        const page = await list(user, `?workspace_id=${a}&workspace_id=${b}`);
        expect(ids(page)).toEqual([inB.id, inA[1].id, inA[0].id]);
      });

      it('a foreign workspace gives an empty page, alone or beside an own one', async () => {
        expect(await list(user, `?workspace_id=${workspaceId}`)).toEqual({
          data: [],
          meta: { total: 0, page: 1, per_page: 10, pages: 0 },
        });
        const mixed = await list(user, `?workspace_id=${workspaceId}&workspace_id=${b}`);
        expect(ids(mixed)).toEqual([inB.id]);
      });

      it('never lists another workspace, whatever the filter', async () => {
        const page = await list(token, `?workspace_id=${a}&limit=100`);
        expect(page.data).toEqual([]);
        const own = await list(token, '?limit=100');
        expect(own.data.every((e) => e.workspace_id === workspaceId)).toBe(true);
      });

      it('rejects an invalid uuid among repeated values', async () => {
        const res = await t.http
          .get(`${BASE}?workspace_id=${a}&workspace_id=zzz`)
          .set(bearer(user));
        expect(onlyProblemAt(res, ['query', 'workspace_id']).type).toBe('uuid_parsing');
      });
    });
  });

  describe('single endpoint routes', () => {
    const routes = [
      {
        name: 'GET',
        send: (id: string, tk: string) => t.http.get(`${BASE}/${id}`).set(bearer(tk)),
      },
      {
        name: 'PATCH',
        send: (id: string, tk: string) =>
          t.http.patch(`${BASE}/${id}`).set(bearer(tk)).send({ format: 'slack' }),
      },
      {
        name: 'DELETE',
        send: (id: string, tk: string) => t.http.delete(`${BASE}/${id}`).set(bearer(tk)),
      },
      {
        name: 'PATCH secret',
        send: (id: string, tk: string) => t.http.patch(`${BASE}/${id}/secret`).set(bearer(tk)),
      },
    ];

    it.each(routes)('$name of an unknown id is 404', async ({ send }) => {
      const res = await send(uuidv7(), token);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(NOT_FOUND);
    });

    it.each(routes)(
      "$name of another workspace's endpoint is 404 and changes nothing",
      async ({ send }) => {
        const other = await t.workspaceToken();
        const theirs = await create(other.token);
        const res = await send(theirs.id, token);
        expect(res.status).toBe(404);
        expect(res.body).toEqual(NOT_FOUND);
        await t.http.get(`${BASE}/${theirs.id}`).set(bearer(other.token)).expect(200, theirs);
      },
    );

    it.each(routes)('$name of a malformed id is 422 at path.id', async ({ send }) => {
      for (const id of ['not-a-uuid', '123', `${uuidv7()}x`]) {
        const res = await send(id, token);
        expect(onlyProblemAt(res, ['path', 'id'])).toMatchObject({
          type: 'uuid_parsing',
          input: id,
        });
      }
    });

    it('GET returns the endpoint, and accepts its id in upper case', async () => {
      const created = await create(token);
      await t.http.get(`${BASE}/${created.id}`).set(bearer(token)).expect(200, created);
      await t.http
        .get(`${BASE}/${created.id.toUpperCase()}`)
        .set(bearer(token))
        .expect(200, created);
    });

    it('a user token reads endpoints of each of its workspaces', async () => {
      const user = await t.userToken([workspaceId, uuidv7()]);
      const created = await create(token);
      const res = await t.http.get(`${BASE}/${created.id}`).set(bearer(user.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created);
    });
  });

  describe('PATCH /endpoints/{id}', () => {
    async function patch(id: string, body: unknown): Promise<request.Response> {
      return t.http
        .patch(`${BASE}/${id}`)
        .set(bearer(token))
        .send(body as object);
    }

    /** Patches one field and checks that it alone changed, and that modified_at was set. */
    async function expectOnlyChange(
      change: Record<string, unknown>,
      expected: Partial<WebhookEndpointBody>,
    ): Promise<void> {
      const created = await create(token);
      const res = await patch(created.id, change);
      expect(res.status).toBe(200);
      const updated = res.body as WebhookEndpointBody;
      expect(updated.modified_at).toMatch(ISO_UTC);
      expect(Date.parse(updated.modified_at!)).toBeGreaterThanOrEqual(
        Date.parse(created.created_at),
      );
      expect(updated).toEqual({ ...created, ...expected, modified_at: updated.modified_at });
      await t.http.get(`${BASE}/${created.id}`).set(bearer(token)).expect(200, updated);
    }

    it('changes the url alone, normalised', () =>
      expectOnlyChange(
        { url: ' https://NEW.example.org/x ' },
        { url: 'https://new.example.org/x' },
      ));

    it('changes the format alone', () =>
      expectOnlyChange({ format: 'discord' }, { format: 'discord' }));

    it('changes the events alone, de-duplicated', () =>
      expectOnlyChange(
        { events: ['share.updated', 'workspace.updated', 'share.updated'] },
        { events: ['share.updated', 'workspace.updated'] },
      ));

    it('changes the events to an empty list', () =>
      expectOnlyChange({ events: [] }, { events: [] }));

    it('changes the secret alone', () =>
      expectOnlyChange({ secret: LONG_SECRET }, { secret: LONG_SECRET }));

    it('disables and re-enables', async () => {
      const created = await create(token);
      const disabled = await patch(created.id, { enabled: false });
      expect(disabled.status).toBe(200);
      expect(disabled.body).toMatchObject({ id: created.id, enabled: false });
      expect((disabled.body as WebhookEndpointBody).modified_at).toMatch(ISO_UTC);
      await t.http
        .get(`${BASE}/${created.id}`)
        .set(bearer(token))
        .expect(200)
        .expect((r) => expect((r.body as WebhookEndpointBody).enabled).toBe(false));
      const enabled = await patch(created.id, { enabled: true });
      expect(enabled.status).toBe(200);
      const body = enabled.body as WebhookEndpointBody;
      expect(body).toEqual({ ...created, modified_at: body.modified_at });
      expect(body.modified_at).toMatch(ISO_UTC);
    });

    it('changes several fields at once', async () => {
      const created = await create(token);
      const res = await patch(created.id, {
        url: 'https://other.example/y',
        format: 'slack',
        events: ['customer.deleted'],
        enabled: false,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        ...created,
        url: 'https://other.example/y',
        format: 'slack',
        events: ['customer.deleted'],
        enabled: false,
        modified_at: expect.stringMatching(ISO_UTC),
      });
    });

    it('leaves every field unchanged when they are null or absent', async () => {
      const created = await create(token);
      const allNull = await patch(created.id, {
        url: null,
        format: null,
        events: null,
        secret: null,
        enabled: null,
      });
      expect(allNull.status).toBe(200);
      expect(allNull.body).toEqual(created);
      const empty = await patch(created.id, {});
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual(created);
      await t.http.get(`${BASE}/${created.id}`).set(bearer(token)).expect(200, created);
    });

    it('rejects bad values, one problem per field, and changes nothing', async () => {
      const created = await create(token);
      const res = await patch(created.id, {
        url: 5,
        format: 'xml',
        events: ['nope'],
        secret: 'short',
        enabled: 'yes',
        extra: 1,
      });
      const byField = Object.fromEntries(problemsOf(res).map((p) => [p.loc.join('.'), p.type]));
      expect(byField).toEqual({
        'body.url': 'string_type',
        'body.format': 'enum',
        'body.events.0': 'enum',
        'body.secret': 'string_too_short',
        'body.enabled': 'bool_type',
        'body.extra': 'extra_forbidden',
      });
      const http = await patch(created.id, { url: 'http://example.com/' });
      onlyProblemAt(http, ['body', 'url']);
      await t.http.get(`${BASE}/${created.id}`).set(bearer(token)).expect(200, created);
    });

    it('rejects workspace_id: an endpoint cannot move', async () => {
      const created = await create(token);
      const res = await patch(created.id, { workspace_id: workspaceId });
      expect(onlyProblemAt(res, ['body', 'workspace_id']).type).toBe('extra_forbidden');
    });
  });

  describe('DELETE /endpoints/{id}', () => {
    it('soft-deletes: 204, then 404 everywhere and gone from lists', async () => {
      const fresh = await t.workspaceToken();
      const kept = await create(fresh.token);
      const doomed = await create(fresh.token);
      const res = await t.http.delete(`${BASE}/${doomed.id}`).set(bearer(fresh.token));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      const path = `${BASE}/${doomed.id}`;
      await t.http.get(path).set(bearer(fresh.token)).expect(404, NOT_FOUND);
      await t.http.delete(path).set(bearer(fresh.token)).expect(404, NOT_FOUND);
      await t.http
        .patch(path)
        .set(bearer(fresh.token))
        .send({ enabled: true })
        .expect(404, NOT_FOUND);
      await t.http.patch(`${path}/secret`).set(bearer(fresh.token)).expect(404, NOT_FOUND);
      expect(await list(fresh.token)).toEqual({
        data: [kept],
        meta: { total: 1, page: 1, per_page: 10, pages: 1 },
      });
    });

    it('keeps the history: the endpoint stream still holds every event', async () => {
      const created = await create(token);
      await t.http.patch(`${BASE}/${created.id}`).set(bearer(token)).send({ format: 'slack' });
      await t.http.delete(`${BASE}/${created.id}`).set(bearer(token)).expect(204);
      const events = await t.engine.eventStore.readStream(`webhook_endpoint-${created.id}`);
      expect(events.map((e) => e.type)).toEqual([
        'WebhookEndpointCreated',
        'WebhookEndpointUpdated',
        'WebhookEndpointDeleted',
      ]);
    });
  });

  describe('PATCH /endpoints/{id}/secret', () => {
    it('returns a new whsec_ secret, and GET shows it', async () => {
      const created = await create(token);
      const res = await t.http.patch(`${BASE}/${created.id}/secret`).set(bearer(token));
      expect(res.status).toBe(200);
      const body = res.body as WebhookEndpointBody;
      expectWhsecSecret(body.secret);
      expect(body.secret).not.toBe(created.secret);
      expect(body.modified_at).toMatch(ISO_UTC);
      expect(body).toEqual({ ...created, secret: body.secret, modified_at: body.modified_at });
      await t.http.get(`${BASE}/${created.id}`).set(bearer(token)).expect(200, body);

      const again = await t.http.patch(`${BASE}/${created.id}/secret`).set(bearer(token));
      expect(again.status).toBe(200);
      expect((again.body as WebhookEndpointBody).secret).not.toBe(body.secret);
    });

    it('replaces a user-supplied secret with a generated one', async () => {
      const created = await create(token, { secret: LONG_SECRET });
      const res = await t.http.patch(`${BASE}/${created.id}/secret`).set(bearer(token));
      expect(res.status).toBe(200);
      expectWhsecSecret((res.body as WebhookEndpointBody).secret);
    });
  });

  describe('secret masking', () => {
    it('shows the secret masked to a read-only token, in full to a write token', async () => {
      const writer = await t.workspaceToken();
      const reader = await t.workspaceToken(['webhooks:read'], writer.workspaceId);
      const created = await create(writer.token);
      const masked = `whsec_…${created.secret.slice(-4)}`;

      const one = await t.http.get(`${BASE}/${created.id}`).set(bearer(reader.token));
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ ...created, secret: masked });

      const page = await list(reader.token);
      expect(page.data).toEqual([{ ...created, secret: masked }]);

      await t.http.get(`${BASE}/${created.id}`).set(bearer(writer.token)).expect(200, created);
      expect((await list(writer.token)).data).toEqual([created]);
    });

    it('never shows a user-supplied secret in full to a read-only token', async () => {
      const writer = await t.workspaceToken();
      const reader = await t.workspaceToken(['webhooks:read'], writer.workspaceId);
      const created = await create(writer.token, { secret: LONG_SECRET });
      const res = await t.http.get(`${BASE}/${created.id}`).set(bearer(reader.token));
      const secret = (res.body as WebhookEndpointBody).secret;
      expect(secret).not.toContain(LONG_SECRET.slice(0, 8));
      expect(secret.endsWith(LONG_SECRET.slice(-4))).toBe(true);
      expect(secret.length).toBeLessThan(12);
    });
  });
});

describe('endpoints API with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    ({ token } = await t.workspaceToken());
  });
  afterAll(() => t.close());

  it.each(['http://127.0.0.1:9999/x', 'https://localhost:8443/x', 'http://10.0.0.1/x'])(
    'accepts %s',
    async (url) => {
      const res = await t.http.post(BASE).set(bearer(token)).send(validBody({ url }));
      expect(res.status).toBe(201);
      expect((res.body as WebhookEndpointBody).url).toBe(url);
    },
  );

  it('still rejects other schemes', async () => {
    const res = await t.http
      .post(BASE)
      .set(bearer(token))
      .send(validBody({ url: 'ftp://127.0.0.1/x' }));
    expect(res.status).toBe(422);
    expect((res.body as { detail: Problem[] }).detail[0].loc).toEqual(['body', 'url']);
  });
});
