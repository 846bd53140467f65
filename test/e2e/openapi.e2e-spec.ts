import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  RequestBodyObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Response } from 'supertest';
import { bearer, startTestApp, TestApp } from '../support/test-app';

const ROOT = join(__dirname, '..', '..');

type Method = 'get' | 'post' | 'patch' | 'delete';

/** One route of the original API page (`reference/rapidly-webhooks-api.txt`), as the page gives it. */
interface PageRoute {
  method: Method;
  path: string;
  /** The page's title for the route. */
  summary: string;
  /** The page's scopes line. */
  scopes: string;
  pathParams: string[];
  queryParams: string[];
  requestBody?: string;
  /** The success status and its body: a component schema's name, or an inline schema. */
  response: { status: string; schema?: string | SchemaObject };
  /** Error statuses the route can answer, each of which must be documented with its body. */
  errors: string[];
}

const AUTH_ERRORS = ['401', '403', '422'];
const RESOURCE_ERRORS = [...AUTH_ERRORS, '404'];

/** The routes of the original page that this service implements. */
const IMPLEMENTED_PAGE_ROUTES: PageRoute[] = [
  {
    method: 'get',
    path: '/api/webhooks/endpoints',
    summary: 'List Webhook Endpoints',
    scopes: '**Scopes**: `webhooks:read` `webhooks:write`',
    pathParams: [],
    queryParams: ['workspace_id', 'page', 'limit'],
    response: { status: '200', schema: 'PaginatedList_WebhookEndpoint_' },
    errors: AUTH_ERRORS,
  },
  {
    method: 'post',
    path: '/api/webhooks/endpoints',
    summary: 'Create Webhook Endpoint',
    scopes: '**Scopes**: `webhooks:write`',
    pathParams: [],
    queryParams: [],
    requestBody: 'WebhookEndpointCreate',
    response: { status: '201', schema: 'WebhookEndpoint' },
    errors: AUTH_ERRORS,
  },
  {
    method: 'get',
    path: '/api/webhooks/endpoints/{id}',
    summary: 'Get Webhook Endpoint',
    scopes: '**Scopes**: `webhooks:read` `webhooks:write`',
    pathParams: ['id'],
    queryParams: [],
    response: { status: '200', schema: 'WebhookEndpoint' },
    errors: RESOURCE_ERRORS,
  },
  {
    method: 'patch',
    path: '/api/webhooks/endpoints/{id}',
    summary: 'Update Webhook Endpoint',
    scopes: '**Scopes**: `webhooks:write`',
    pathParams: ['id'],
    queryParams: [],
    requestBody: 'WebhookEndpointUpdate',
    response: { status: '200', schema: 'WebhookEndpoint' },
    errors: RESOURCE_ERRORS,
  },
  {
    method: 'delete',
    path: '/api/webhooks/endpoints/{id}',
    summary: 'Delete Webhook Endpoint',
    scopes: '**Scopes**: `webhooks:write`',
    pathParams: ['id'],
    queryParams: [],
    response: { status: '204' },
    errors: RESOURCE_ERRORS,
  },
  {
    method: 'patch',
    path: '/api/webhooks/endpoints/{id}/secret',
    summary: 'Reset Webhook Endpoint Secret',
    scopes: '**Scopes**: `webhooks:write`',
    pathParams: ['id'],
    queryParams: [],
    response: { status: '200', schema: 'WebhookEndpoint' },
    errors: RESOURCE_ERRORS,
  },
  {
    method: 'get',
    path: '/api/webhooks/deliveries',
    summary: 'List Webhook Deliveries',
    scopes: '**Scopes**: `webhooks:read` `webhooks:write`',
    pathParams: [],
    queryParams: [
      'endpoint_id',
      'start_timestamp',
      'end_timestamp',
      'succeeded',
      'query',
      'http_code_class',
      'event_type',
      'page',
      'limit',
    ],
    response: { status: '200', schema: 'PaginatedList_WebhookDelivery_' },
    errors: AUTH_ERRORS,
  },
  {
    method: 'post',
    path: '/api/webhooks/events/{id}/redeliver',
    summary: 'Redeliver Webhook Event',
    scopes: '**Scopes**: `webhooks:write`',
    pathParams: ['id'],
    queryParams: [],
    response: { status: '202', schema: { type: 'object' } },
    errors: RESOURCE_ERRORS,
  },
];

/** The page's enums, copied from the page (not imported, so a change in the code shows here). */
const FORMATS = ['raw', 'discord', 'slack'];
const EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.state_changed',
  'share.created',
  'share.updated',
  'workspace.updated',
  'file_sharing_session.created',
  'file_sharing_session.download_completed',
  'file_sharing_session.expired',
  'file_sharing_session.payment_received',
];

interface FieldSpec {
  type: 'string' | 'boolean' | 'array';
  required: boolean;
  nullable: boolean;
  enum?: string[];
}

/** The request bodies' fields as the page lists them (`string | null` is nullable, etc.). */
const REQUEST_BODIES: Record<string, Record<string, FieldSpec>> = {
  WebhookEndpointCreate: {
    url: { type: 'string', required: true, nullable: false },
    secret: { type: 'string', required: false, nullable: true },
    format: { type: 'string', required: true, nullable: false, enum: FORMATS },
    events: { type: 'array', required: true, nullable: false, enum: EVENT_TYPES },
    workspace_id: { type: 'string', required: false, nullable: true },
  },
  WebhookEndpointUpdate: {
    url: { type: 'string', required: false, nullable: true },
    secret: { type: 'string', required: false, nullable: true },
    format: { type: 'string', required: false, nullable: true, enum: FORMATS },
    events: { type: 'array', required: false, nullable: true, enum: EVENT_TYPES },
    enabled: { type: 'boolean', required: false, nullable: true },
  },
};

/** The error bodies of DESIGN §2, by status: each shape's `error` value and its other fields. */
const ERROR_BODIES: Record<string, Array<{ error: string; fields: string[] }>> = {
  '401': [
    { error: 'Unauthorized', fields: ['detail'] },
    { error: 'invalid_token', fields: ['error_description'] },
  ],
  '403': [{ error: 'insufficient_scope', fields: ['error_description'] }],
  '404': [{ error: 'ResourceNotFound', fields: ['detail'] }],
  '422': [{ error: 'RequestValidationError', fields: ['detail'] }],
};

const BEARER_SCHEME = 'bearer';

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenAPIObject;

  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.http.get('/openapi.json').expect(200).expect('content-type', /json/)).body;
  });
  afterAll(() => t.close());

  it('is committed as openapi.json, up to date', () => {
    const committed: unknown = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));
    try {
      expect(committed).toEqual(doc);
    } catch (error) {
      throw new Error(
        'openapi.json is stale: run `npm run openapi` and commit the result.\n\n' +
          (error as Error).message,
      );
    }
  });

  it('is browsable in Swagger UI at /docs', async () => {
    const page = await t.http.get('/docs').expect(200).expect('content-type', /html/);
    expect(page.text).toContain('swagger-ui');
    // The UI is configured with this very document.
    const init = await t.http.get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('"title": "Rapidly Webhooks"');
  });

  // Lints the committed file, which the test above holds equal to the served document (the
  // exceptions in .redocly.lint-ignore.yaml are keyed by that file name).
  it('passes `redocly lint` with zero errors', async () => {
    const { stdout } = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'redocly'),
      ['lint', 'openapi.json', '--config', 'redocly.yaml', '--format', 'json'],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      // Exits non-zero when there are errors; the JSON report is still on stdout.
      if (!error.stdout) throw new Error(`redocly lint failed: ${error.stderr ?? error.message}`);
      return { stdout: error.stdout };
    });
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{
        ruleId: string;
        severity: string;
        message: string;
        location: Array<{ pointer: string }>;
      }>;
    };
    const errors = report.problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId} at ${p.location.map((l) => l.pointer).join(', ')}: ${p.message}`);
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });

  describe.each(IMPLEMENTED_PAGE_ROUTES)('$method $path (from the API page)', (route) => {
    const operation = () => operationOf(doc, route.method, route.path);

    it('is documented with the page’s title and scopes', () => {
      expect(operation()).toBeDefined();
      expect(operation().summary).toBe(route.summary);
      expect(operation().description).toContain(route.scopes);
    });

    it('documents its path and query parameters', () => {
      const params = (operation().parameters ?? []).map((p) => deref<ParameterObject>(doc, p));
      const named = (where: string) => params.filter((p) => p.in === where).map((p) => p.name);
      expect(named('path').sort()).toEqual([...route.pathParams].sort());
      expect(named('query').sort()).toEqual([...route.queryParams].sort());
      for (const p of params.filter((p) => p.in === 'path')) expect(p.required).toBe(true);
    });

    it('documents its request body', () => {
      const body = operation().requestBody;
      if (route.requestBody) {
        const content = deref<RequestBodyObject>(doc, body!).content['application/json'];
        expect(content.schema).toEqual({ $ref: `#/components/schemas/${route.requestBody}` });
      } else {
        expect(body).toBeUndefined();
      }
    });

    it('documents its success response', () => {
      const response = operation().responses[route.response.status] as ResponseObject;
      expect(response).toBeDefined();
      expect(response.description).not.toBe('');
      const schema = response.content?.['application/json']?.schema;
      if (typeof route.response.schema === 'string') {
        expect(schema).toEqual({ $ref: `#/components/schemas/${route.response.schema}` });
      } else if (route.response.schema) {
        expect(schema).toMatchObject(route.response.schema);
      } else {
        expect(schema).toBeUndefined();
      }
    });

    it.each(route.errors)('documents %s with the body the service sends', (status) => {
      const response = operation().responses[status] as ResponseObject | undefined;
      expect(response).toBeDefined();
      const schema = response!.content?.['application/json']?.schema;
      expect(schema).toBeDefined();
      const alternatives = (deref<SchemaObject>(doc, schema!).oneOf ?? [schema!]).map((s) =>
        deref<SchemaObject>(doc, s),
      );
      const shapes = alternatives.map((s) => ({
        error: deref<SchemaObject>(doc, s.properties!.error).enum,
        fields: Object.keys(s.properties!).filter((k) => k !== 'error'),
      }));
      expect(shapes).toEqual(ERROR_BODIES[status].map((b) => ({ ...b, error: [b.error] })));
    });
  });

  it('lists every query parameter of the list with its type and defaults', () => {
    const params = parametersOf(doc, 'get', '/api/webhooks/endpoints');
    const workspaceId = params.workspace_id.schema as SchemaObject;
    // `string | string[]` on the page: an exploded form array takes one value or repeated ones.
    expect(workspaceId.type).toBe('array');
    expect(deref<SchemaObject>(doc, workspaceId.items!)).toMatchObject({ type: 'string' });
    expect(params.workspace_id.style ?? 'form').toBe('form');
    expect(params.workspace_id.explode ?? true).toBe(true);
    expect(params.page.schema).toMatchObject({ type: 'integer', default: 1, minimum: 1 });
    expect(params.limit.schema).toMatchObject({ type: 'integer', default: 10, minimum: 1 });
    for (const p of Object.values(params)) expect(p.required).toBe(false);
  });

  it.each(Object.entries(REQUEST_BODIES))(
    'documents every field of %s as the page does',
    (name, fields) => {
      const schema = schemaNamed(doc, name);
      expect(Object.keys(schema.properties ?? {}).sort()).toEqual(Object.keys(fields).sort());
      expect([...(schema.required ?? [])].sort()).toEqual(
        Object.keys(fields)
          .filter((f) => fields[f].required)
          .sort(),
      );
      for (const [field, spec] of Object.entries(fields)) {
        const property = deref<SchemaObject>(doc, schema.properties![field]);
        const effective = singleSchema(doc, property);
        expect({ field, type: effective.type, nullable: property.nullable === true }).toEqual({
          field,
          type: spec.type,
          nullable: spec.nullable,
        });
        if (spec.enum) {
          const values =
            spec.type === 'array' ? enumOf(doc, effective.items!) : enumOf(doc, property);
          expect({ field, values: values.filter((v) => v !== null) }).toEqual({
            field,
            values: spec.enum,
          });
          // OpenAPI 3.0 admits null in an enum only when the enum lists it.
          if (spec.nullable && spec.type !== 'array') expect(values).toContain(null);
        }
      }
    },
  );

  it('describes WebhookEndpoint and its page with every field the service returns', () => {
    expect(Object.keys(schemaNamed(doc, 'WebhookEndpoint').properties!).sort()).toEqual(
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
    const page = schemaNamed(doc, 'PaginatedList_WebhookEndpoint_');
    expect(page.required).toEqual(expect.arrayContaining(['data', 'meta']));
    const meta = deref<SchemaObject>(doc, page.properties!.meta);
    expect(Object.keys(meta.properties!).sort()).toEqual(['page', 'pages', 'per_page', 'total']);
  });

  it('covers all 8 routes of the page', () => {
    expect(new Set(IMPLEMENTED_PAGE_ROUTES.map((r) => `${r.method} ${r.path}`)).size).toBe(8);
  });

  it('gives every operation a unique id, a summary and declared tags', () => {
    const operations = allOperations(doc);
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const declaredTags = (doc.tags ?? []).map((tag) => tag.name);
    const incomplete = operations
      .filter(({ operation }) => !operation.summary || !operation.tags?.length)
      .map(where);
    expect(incomplete).toEqual([]);
    const undeclared = operations.flatMap(({ operation }) =>
      (operation.tags ?? []).filter((tag) => !declaredTags.includes(tag)),
    );
    expect(undeclared).toEqual([]);
  });

  it('requires the bearer token exactly on the operations that answer 401 without one', async () => {
    expect(doc.components?.securitySchemes?.[BEARER_SCHEME]).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    const mismatches: string[] = [];
    for (const op of allOperations(doc)) {
      const url = op.path.replace(/\{[^}]+\}/g, randomUUID());
      const { status } = await send(t, op.method, url);
      const bearerRequired = (op.operation.security ?? doc.security ?? []).some(
        (requirement) => BEARER_SCHEME in requirement,
      );
      if (bearerRequired !== (status === 401)) {
        mismatches.push(`${where(op)}: answers ${status} without a token`);
      }
      if (bearerRequired && !('401' in op.operation.responses && '403' in op.operation.responses)) {
        mismatches.push(`${where(op)}: needs a token but does not document 401 and 403`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  describe('describes the responses the service actually sends', () => {
    let write: string;
    let readOnly: string;
    let workspaceId: string;
    const endpoints = '/api/webhooks/endpoints';

    beforeAll(async () => {
      ({ token: write, workspaceId } = await t.workspaceToken());
      ({ token: readOnly } = await t.workspaceToken(['webhooks:read'], workspaceId));
    });

    /** Fails unless the response's status, headers and body are as documented. */
    const conforms = (method: Method, path: string, res: Response) => {
      const response = operationOf(doc, method, path).responses[String(res.status)] as
        ResponseObject | undefined;
      const where = `${method.toUpperCase()} ${path} → ${res.status}`;
      expect({ where, documented: response !== undefined }).toEqual({ where, documented: true });
      for (const header of Object.keys(response!.headers ?? {})) {
        expect({ where, header, sent: header.toLowerCase() in res.headers }).toEqual({
          where,
          header,
          sent: true,
        });
      }
      const schema = response!.content?.['application/json']?.schema;
      if (schema) {
        expect({ where, body: res.body, problems: problemsOf(doc, schema, res.body) }).toEqual({
          where,
          body: res.body,
          problems: [],
        });
      } else {
        expect({ where, body: res.text }).toEqual({ where, body: '' });
      }
    };

    it('for successful calls', async () => {
      const create = { url: 'https://example.com/hook', format: 'slack', events: EVENT_TYPES };
      const created = await t.http.post(endpoints).set(bearer(write)).send(create).expect(201);
      conforms('post', endpoints, created);
      const one = `${endpoints}/{id}`;
      const url = `${endpoints}/${created.body.id}`;
      conforms('get', one, await t.http.get(url).set(bearer(readOnly)).expect(200));
      conforms('get', endpoints, await t.http.get(endpoints).set(bearer(write)).expect(200));
      const update = { enabled: false, format: null, url: null };
      conforms('patch', one, await t.http.patch(url).set(bearer(write)).send(update).expect(200));
      conforms(
        'patch',
        `${one}/secret`,
        await t.http.patch(`${url}/secret`).set(bearer(write)).expect(200),
      );
      conforms('delete', one, await t.http.delete(url).set(bearer(write)).expect(204));
    });

    it('for 401, 403, 404 and 422', async () => {
      const one = `${endpoints}/{id}`;
      const missing = `${endpoints}/${randomUUID()}`;
      conforms('get', endpoints, await t.http.get(endpoints).expect(401));
      conforms(
        'get',
        endpoints,
        await t.http.get(endpoints).set(bearer('rwh_unknown')).expect(401),
      );
      conforms('post', endpoints, await t.http.post(endpoints).set(bearer(readOnly)).expect(403));
      conforms('get', one, await t.http.get(missing).set(bearer(write)).expect(404));
      conforms('delete', one, await t.http.delete(missing).set(bearer(write)).expect(404));
      const invalid = { url: 42, format: 'xml', events: ['nope'], extra: [true, null] };
      conforms(
        'post',
        endpoints,
        await t.http.post(endpoints).set(bearer(write)).send(invalid).expect(422),
      );
      conforms(
        'get',
        endpoints,
        await t.http.get(`${endpoints}?page=0&limit=x`).set(bearer(write)).expect(422),
      );
      conforms('get', one, await t.http.get(`${endpoints}/nope`).set(bearer(write)).expect(422));
    });
  });
});

// ---- reading the document ----

function deref<T>(doc: OpenAPIObject, item: T | ReferenceObject): T {
  if (!item || typeof item !== 'object' || !('$ref' in item)) return item as T;
  const [, , section, name] = item.$ref.split('/');
  const components = doc.components as Record<string, Record<string, unknown>>;
  return deref(doc, components[section][name] as T | ReferenceObject);
}

function schemaNamed(doc: OpenAPIObject, name: string): SchemaObject {
  const schema = doc.components?.schemas?.[name];
  expect({ name, defined: schema !== undefined }).toEqual({ name, defined: true });
  return deref<SchemaObject>(doc, schema!);
}

/** A property schema with a lone `allOf: [$ref]` wrapper (how Nest attaches a description) unwrapped. */
function singleSchema(doc: OpenAPIObject, schema: SchemaObject): SchemaObject {
  if (!schema.type && schema.allOf?.length === 1) return deref(doc, schema.allOf[0]);
  return schema;
}

function enumOf(doc: OpenAPIObject, schema: SchemaObject | ReferenceObject): unknown[] {
  const resolved = singleSchema(doc, deref<SchemaObject>(doc, schema));
  return resolved.enum ?? [];
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function allOperations(
  doc: OpenAPIObject,
): Array<{ method: Method; path: string; operation: OperationObject }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({
        method: method as Method,
        path,
        operation: operation as OperationObject,
      })),
  );
}

const where = ({ method, path }: { method: Method; path: string }) =>
  `${method.toUpperCase()} ${path}`;

function operationOf(doc: OpenAPIObject, method: Method, path: string): OperationObject {
  return doc.paths[path]?.[method] as OperationObject;
}

function parametersOf(
  doc: OpenAPIObject,
  method: Method,
  path: string,
): Record<string, ParameterObject> {
  const params = (operationOf(doc, method, path).parameters ?? []).map((p) =>
    deref<ParameterObject>(doc, p),
  );
  return Object.fromEntries(params.map((p) => [p.name, p]));
}

function send(t: TestApp, method: Method, url: string) {
  switch (method) {
    case 'get':
      return t.http.get(url);
    case 'post':
      return t.http.post(url);
    case 'patch':
      return t.http.patch(url);
    case 'delete':
      return t.http.delete(url);
  }
}

// ---- checking a value against a schema ----

const FORMATS_CHECKED: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
};

/**
 * What is wrong with `value` under `schema`, for the OpenAPI 3.0 subset the document uses.
 * Stricter than OpenAPI in one way, on purpose: an object may not carry undocumented fields.
 */
function problemsOf(
  doc: OpenAPIObject,
  schemaOrRef: SchemaObject | ReferenceObject,
  value: unknown,
  at = '$',
): string[] {
  const schema = deref<SchemaObject>(doc, schemaOrRef);
  if (value === null && schema.nullable) return [];
  const problems: string[] = [];
  for (const part of schema.allOf ?? []) problems.push(...problemsOf(doc, part, value, at));
  const matching = (alternatives: Array<SchemaObject | ReferenceObject>) =>
    alternatives.filter((s) => problemsOf(doc, s, value, at).length === 0).length;
  if (schema.oneOf && matching(schema.oneOf) !== 1) {
    problems.push(`${at}: matches ${matching(schema.oneOf)} of the oneOf alternatives, not 1`);
  }
  if (schema.anyOf && matching(schema.anyOf) === 0) {
    problems.push(`${at}: matches none of the anyOf alternatives`);
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (!schema.type) return problems;
  if (value === null) return [...problems, `${at}: null, but not nullable`];
  const actual = Array.isArray(value)
    ? 'array'
    : Number.isInteger(value)
      ? 'integer'
      : typeof value;
  const typeMatches = actual === schema.type || (schema.type === 'number' && actual === 'integer');
  if (!typeMatches) return [...problems, `${at}: a ${actual}, documented as ${schema.type}`];
  const format = schema.format && FORMATS_CHECKED[schema.format];
  if (format && !format.test(value as string)) {
    problems.push(`${at}: ${JSON.stringify(value)} is not a ${schema.format}`);
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) =>
      problems.push(...problemsOf(doc, schema.items!, item, `${at}[${i}]`)),
    );
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    const properties = schema.properties ?? {};
    for (const key of schema.required ?? []) {
      if (!(key in object)) problems.push(`${at}.${key}: required, but missing`);
    }
    for (const [key, item] of Object.entries(object)) {
      if (key in properties)
        problems.push(...problemsOf(doc, properties[key], item, `${at}.${key}`));
      // An object schema without properties is free-form (e.g. a validation problem's input).
      else if (schema.properties && !schema.additionalProperties) {
        problems.push(`${at}.${key}: not documented`);
      }
    }
  }
  return problems;
}
