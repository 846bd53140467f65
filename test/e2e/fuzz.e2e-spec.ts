import fc from 'fast-check';
import request from 'supertest';
import { Scope } from '../../src/auth/access-token';
import { uuidv7 } from '../../src/common/ids';
import { WEBHOOK_EVENT_TYPES } from '../../src/common/webhook-event-types';
import { bearer, startTestApp, TestApp } from '../support/test-app';

/**
 * Property-based fuzzing of the six endpoint routes: 2,000 malformed (and some well-formed)
 * requests must never produce a 5xx, and every error must be in the contract's shape (DESIGN §2
 * "Errors"). Reproducible: the seed is fixed and printed; FUZZ_SEED=<n> explores another one.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_214);
const RUNS = { bodies: 800, routes: 400, queries: 400, auth: 400 };
const TOTAL_RUNS = 2000;

const BASE = '/api/webhooks/endpoints';
const METHODS = ['get', 'post', 'patch', 'delete', 'put', 'head', 'options'] as const;
type Method = (typeof METHODS)[number];

/** Names of the credentials a request may carry, resolved to real tokens after start-up. */
const TOKEN_NAMES = ['write', 'read', 'publish', 'user', 'revoked', 'foreign'] as const;
type TokenName = (typeof TOKEN_NAMES)[number];

type Auth =
  { kind: 'none' } | { kind: 'token'; name: TokenName } | { kind: 'header'; value: string };

/** Which endpoint a path refers to: one that exists (by index), or a literal path segment. */
type IdRef = { kind: 'existing'; index: number } | { kind: 'literal'; segment: string };

/** A path as literal pieces and endpoint references. */
type PathParts = Array<string | IdRef>;

interface FuzzRequest {
  method: Method;
  path: PathParts;
  query: string;
  auth: Auth;
  contentType?: string;
  contentEncoding?: string;
  body?: string;
}

// ---- arbitraries ----

const asciiText = (maxLength = 40) => fc.string({ unit: 'grapheme-ascii', maxLength });
const unicodeText = (maxLength = 40) =>
  fc.oneof(fc.string({ unit: 'binary', maxLength }), fc.string({ unit: 'grapheme', maxLength }));

// Not shrunk: a failing counterexample would otherwise be replayed thousands of times.
const hugeString = fc.noShrink(
  fc
    .tuple(fc.integer({ min: 2_000, max: 150_000 }), fc.constantFrom('x', 'é', '\u{1F600}', '"'))
    .map(([n, c]) => c.repeat(n)),
);

const urlLike = fc.oneof(
  fc.constantFrom(
    'https://example.com/hook',
    '  https://EXAMPLE.com/Hook  ',
    'https://bücher.example/x',
    'http://example.com/',
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://0x7f.1/',
    'https://2130706433/',
    'https://localhost/',
    'https://',
    'https:///x',
    'javascript:alert(1)',
    'https://example.com/\u0000',
    'https://user:pass@example.com:99999/',
    'https://xn--/',
    'https://exa mple.com/',
  ),
  fc.webUrl(),
  unicodeText(80).map((s) => `https://${s}`),
  fc.integer({ min: 2_000, max: 3_000 }).map((n) => `https://example.com/${'a'.repeat(n)}`),
);

const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: unicodeText(), weight: 2 },
  { arbitrary: urlLike, weight: 2 },
  { arbitrary: fc.constantFrom('raw', 'discord', 'slack', 'RAW', ''), weight: 1 },
  {
    arbitrary: fc.array(fc.oneof(fc.constantFrom(...WEBHOOK_EVENT_TYPES), fc.jsonValue()), {
      maxLength: 15,
    }),
    weight: 2,
  },
  { arbitrary: fc.uuid(), weight: 1 },
  { arbitrary: fc.uuid().map((u) => u.toUpperCase()), weight: 1 },
  { arbitrary: hugeString, weight: 1 },
  {
    arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, Number.MAX_SAFE_INTEGER),
    weight: 1,
  },
);

const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'id', 'created_at', ''),
  unicodeText(20),
);

/** Endpoint-shaped objects: each known field randomly present, absent or mistyped, plus extras. */
const endpointLike = fc
  .tuple(
    fc.record(
      {
        url: fc.oneof(urlLike, fieldValue),
        format: fc.oneof(fc.constantFrom('raw', 'discord', 'slack'), fieldValue),
        events: fc.oneof(fc.subarray([...WEBHOOK_EVENT_TYPES]), fieldValue),
        secret: fc.oneof(fc.string({ minLength: 32, maxLength: 300 }), fieldValue),
        workspace_id: fc.oneof(fc.uuid(), fieldValue),
        enabled: fc.oneof(fc.boolean(), fieldValue),
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(extraKey, fieldValue, { maxKeys: 3 }),
    fc.boolean(),
  )
  .map(([known, extra, withExtra]) => (withExtra ? { ...extra, ...known } : known));

/** A deep nest, as raw JSON text: building it as a value would overflow the serialiser first. */
const deeplyNested = fc
  .tuple(fc.integer({ min: 20, max: 5_000 }), fc.constantFrom('array', 'object', 'field'))
  .map(([depth, shape]) => {
    if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
    const nest = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    return shape === 'object' ? nest : `{"url":"https://example.com/","events":${nest}}`;
  });

const VALID_ENDPOINT = {
  url: 'https://example.com/hook',
  format: 'raw',
  events: ['share.created'],
};
const ENDPOINT_FIELDS = ['url', 'format', 'events', 'secret', 'workspace_id', 'enabled'] as const;

/** A valid create body with one field dropped, replaced or added: errors one step from success. */
const nearlyValid = fc
  .tuple(
    fc.oneof(fc.constantFrom(...ENDPOINT_FIELDS), extraKey),
    fc.constantFrom('drop', 'replace'),
    fieldValue,
  )
  .map(([field, how, value]) => {
    const body: Record<string, unknown> = { ...VALID_ENDPOINT };
    if (how === 'drop') delete body[field];
    else Object.defineProperty(body, field, { value, enumerable: true });
    return JSON.stringify(body);
  });

const jsonBody = fc.oneof(
  { arbitrary: nearlyValid, weight: 4 },
  { arbitrary: endpointLike.map((v) => JSON.stringify(v)), weight: 4 },
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 2 },
  { arbitrary: deeplyNested, weight: 1 },
  {
    arbitrary: endpointLike.map((v) => JSON.stringify(v).slice(0, -1)),
    weight: 1,
  },
);

const body: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: jsonBody, weight: 8 },
  { arbitrary: unicodeText(200), weight: 2 },
  { arbitrary: fc.constantFrom(undefined, '', 'null', '[]', '{}', '""', '0'), weight: 1 },
  {
    arbitrary: fc
      .dictionary(asciiText(10), asciiText(20), { maxKeys: 4 })
      .map((d) => new URLSearchParams(d).toString()),
    weight: 1,
  },
);

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  {
    arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
    weight: 8,
  },
  {
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=zzz',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset=nope',
      'application/vnd.api+json',
      'application/*',
      '*/*',
      ';;;',
      'application/json;;q=x',
    ),
    weight: 2,
  },
  { arbitrary: asciiText(), weight: 1 },
);

const contentEncoding: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 12 },
  { arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-nope'), weight: 1 },
);

const auth = (preferred: TokenName): fc.Arbitrary<Auth> =>
  fc.oneof(
    { arbitrary: fc.constant<Auth>({ kind: 'token', name: preferred }), weight: 8 },
    {
      arbitrary: fc.constantFrom(...TOKEN_NAMES).map((name): Auth => ({ kind: 'token', name })),
      weight: 1,
    },
    {
      arbitrary: fc.oneof(
        fc.constant<Auth>({ kind: 'none' }),
        asciiText(60).map((value): Auth => ({ kind: 'header', value })),
        asciiText(60).map((value): Auth => ({ kind: 'header', value: `Bearer ${value}` })),
        fc
          .base64String({ maxLength: 60 })
          .map((value): Auth => ({ kind: 'header', value: `Bearer rwh_${value}` })),
        fc.constantFrom<Auth>(
          { kind: 'header', value: 'Basic dXNlcjpwYXNz' },
          { kind: 'header', value: 'Bearer' },
          { kind: 'header', value: 'Bearer a b' },
          { kind: 'header', value: 'bearer rwh_x' },
        ),
      ),
      weight: 1,
    },
  );

const idRef: fc.Arbitrary<IdRef> = fc.oneof(
  { arbitrary: fc.nat(3).map((index): IdRef => ({ kind: 'existing', index })), weight: 4 },
  {
    arbitrary: fc
      .oneof(
        fc.uuid(),
        fc.uuid().map((u) => u.toUpperCase()),
      )
      .map((segment): IdRef => ({ kind: 'literal', segment })),
    weight: 2,
  },
  {
    arbitrary: unicodeText(60).map((s): IdRef => ({
      kind: 'literal',
      segment: encodeURIComponent(s),
    })),
    weight: 2,
  },
  {
    arbitrary: fc
      .constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%00', ';', '%2F', 'a%20b', '%FF%FE', '*')
      .map((segment): IdRef => ({ kind: 'literal', segment })),
    weight: 1,
  },
);

const collection = fc.constant<PathParts>([BASE]);
const oneEndpoint = idRef.map((id): PathParts => [BASE, '/', id]);

/** The six routes, sometimes with a garbage suffix or prefix. */
const path: fc.Arbitrary<PathParts> = fc.oneof(
  { arbitrary: collection, weight: 3 },
  { arbitrary: oneEndpoint, weight: 3 },
  { arbitrary: idRef.map((id): PathParts => [BASE, '/', id, '/secret']), weight: 3 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom('/api/webhooks', BASE, `${BASE}/`, '/api', ''),
        fc.array(unicodeText(15).map(encodeURIComponent), { maxLength: 4 }),
      )
      .map(([prefix, segments]): PathParts => [`${prefix}/${segments.join('/')}`]),
    weight: 1,
  },
);

const queryKey = fc.oneof(
  fc.constantFrom('page', 'limit', 'workspace_id', 'workspace_id[]', 'page[]', 'limit[0]', 'x'),
  unicodeText(10),
);
const queryValue = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('', '0', '-1', '1', '100', '101', '1e3', '1.5', '0x10', '99999999999999999999'),
  fc.constantFrom('NaN', 'Infinity', 'true', 'null', '[]', '{}'),
  fc.uuid(),
  unicodeText(30),
);
const query: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 8 })
      .map((pairs) =>
        pairs
          .map(([k, v, bare]) =>
            bare && v === ''
              ? encodeURIComponent(k)
              : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
          )
          .join('&'),
      ),
    weight: 8,
  },
  {
    arbitrary: fc.constantFrom('&', '&&=&', '=', '%', '%zz=1', 'page=%E0', 'a[b][c]=1'),
    weight: 1,
  },
);

// ---- the suite ----

describe('fuzzing the endpoint routes', () => {
  let t: TestApp;
  const tokens = {} as Record<TokenName, string>;
  const existingIds: string[] = [];
  let sent = 0;

  beforeAll(async () => {
    console.log(`fast-check seed ${SEED} (set FUZZ_SEED to try another)`);
    t = await startTestApp();
    const write = await t.workspaceToken(['webhooks:read', 'webhooks:write']);
    const scoped = async (scopes: Scope[]) =>
      (await t.workspaceToken(scopes, write.workspaceId)).token;
    tokens.write = write.token;
    tokens.read = await scoped(['webhooks:read']);
    tokens.publish = await scoped(['webhooks:publish']);
    tokens.user = (await t.userToken([write.workspaceId, uuidv7()])).token;
    const revoked = await t.workspaceToken(['webhooks:write'], write.workspaceId);
    await t.tokens.revoke(revoked.tokenId);
    tokens.revoked = revoked.token;
    const foreign = await t.workspaceToken();
    tokens.foreign = foreign.token;
    for (const owner of [write.token, write.token, write.token, foreign.token]) {
      const res = await t.http
        .post(BASE)
        .set(bearer(owner))
        .send({ url: 'https://example.com/hook', format: 'raw', events: [] })
        .expect(201);
      existingIds.push((res.body as { id: string }).id);
    }
  });
  afterAll(() => t.close());

  function urlOf(req: FuzzRequest): string {
    const path = req.path
      .map((part) =>
        typeof part === 'string'
          ? part
          : part.kind === 'existing'
            ? existingIds[part.index]
            : part.segment,
      )
      .join('');
    return req.query === '' ? path : `${path}?${req.query}`;
  }

  function send(req: FuzzRequest): request.Test {
    let test = t.http[req.method](urlOf(req));
    if (req.auth.kind === 'token') test = test.set(bearer(tokens[req.auth.name]));
    if (req.auth.kind === 'header') test = test.set('Authorization', req.auth.value);
    if (req.contentType !== undefined) test = test.set('Content-Type', req.contentType);
    if (req.contentEncoding !== undefined) test = test.set('Content-Encoding', req.contentEncoding);
    return req.body === undefined ? test : test.send(req.body);
  }

  /** The property every request must satisfy: no 5xx, and errors in the contract's shape. */
  async function answersWithoutServerError(req: FuzzRequest): Promise<void> {
    sent += 1;
    const res = await send(req);
    const context = `${req.method.toUpperCase()} ${urlOf(req).slice(0, 200)} → ${res.status} ${res.text?.slice(0, 300)}`;
    expect({ context, violation: contractViolation(req, res) }).toEqual({
      context,
      violation: null,
    });
  }

  function contractViolation(req: FuzzRequest, res: request.Response): string | null {
    if (res.status >= 500) return 'server error';
    if (res.status < 400 || req.method === 'head') return null;
    if (!/^application\/json/.test(String(res.headers['content-type']))) return 'not JSON';
    const errorBody = res.body as { error?: unknown; detail?: unknown };
    if (typeof errorBody.error !== 'string') return 'no error field';
    if (res.status !== 422) return null;
    const detail = errorBody.detail;
    if (!Array.isArray(detail) || detail.length === 0) return 'no detail list';
    const malformed = (detail as Array<Record<string, unknown>>).find(
      (p) =>
        typeof p.type !== 'string' ||
        typeof p.msg !== 'string' ||
        !Array.isArray(p.loc) ||
        p.loc.length === 0,
    );
    return malformed ? `malformed problem ${JSON.stringify(malformed).slice(0, 200)}` : null;
  }

  const check = (arbitrary: fc.Arbitrary<FuzzRequest>, numRuns: number) =>
    fc.assert(fc.asyncProperty(arbitrary, answersWithoutServerError), { seed: SEED, numRuns });

  it(`malformed bodies on POST and PATCH (${RUNS.bodies} requests)`, () =>
    check(
      fc
        .tuple(
          fc.oneof(
            fc.record({ method: fc.constant<Method>('post'), path: collection }),
            fc.record({ method: fc.constant<Method>('patch'), path: oneEndpoint }),
          ),
          fc.record({
            query: fc.constant(''),
            auth: auth('write'),
            contentType,
            contentEncoding,
            body,
          }),
        )
        .map(([target, rest]): FuzzRequest => ({ ...target, ...rest })),
      RUNS.bodies,
    ));

  it(`random methods, paths and ids over the six routes (${RUNS.routes} requests)`, () =>
    check(
      fc.record({
        method: fc.constantFrom(...METHODS),
        path,
        query: fc.oneof(fc.constant(''), query),
        auth: auth('write'),
        contentType,
        contentEncoding,
        body: fc.oneof(fc.constant(undefined), body),
      }),
      RUNS.routes,
    ));

  it(`random query strings, with repeated and array parameters (${RUNS.queries} requests)`, () =>
    check(
      fc.record({
        method: fc.constantFrom<Method>('get', 'get', 'get', 'post', 'patch', 'delete'),
        path,
        query,
        auth: auth('read'),
        contentType: fc.constant(undefined),
        contentEncoding: fc.constant(undefined),
        body: fc.constant(undefined),
      }),
      RUNS.queries,
    ));

  it(`random Authorization headers on every route (${RUNS.auth} requests)`, () =>
    check(
      fc.record({
        method: fc.constantFrom<Method>('get', 'post', 'patch', 'delete'),
        path,
        query: fc.constant(''),
        auth: fc.oneof(
          fc.constantFrom(...TOKEN_NAMES).map((name): Auth => ({ kind: 'token', name })),
          auth('write'),
        ),
        contentType: fc.constant('application/json'),
        contentEncoding: fc.constant(undefined),
        body: fc.oneof(
          fc.constant(undefined),
          fc.constant(JSON.stringify({ url: 'https://example.com/h', format: 'raw', events: [] })),
          jsonBody,
        ),
      }),
      RUNS.auth,
    ));

  it(`sent ${TOTAL_RUNS} requests in total`, () => {
    expect(RUNS.bodies + RUNS.routes + RUNS.queries + RUNS.auth).toBe(TOTAL_RUNS);
    expect(sent).toBe(TOTAL_RUNS);
  });
});
