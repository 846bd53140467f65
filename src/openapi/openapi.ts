import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document, generated from the controllers and DTOs (never hand-edited). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Rapidly Webhooks')
    .setDescription(
      'Event-sourced webhook delivery: endpoints, publishing, signed deliveries with durable ' +
        'retries, and the full delivery history. Authenticate with `Authorization: Bearer <token>`.',
    )
    .setVersion('0.1.0')
    .setLicense('UNLICENSED', 'https://rapidly.tech')
    // Relative: the API is on the host that serves this document (and Swagger UI's "Try it out").
    .addServer('/', 'This service')
    .addTag(
      'webhooks',
      'Webhook endpoints: where events are delivered, in which format, signed how.',
    )
    .addTag('operations', 'Probes for load balancers and orchestrators.')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque',
      description: 'A workspace or user access token (`rwh_...`), created with the CLI.',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
  return inCanonicalOrder(document);
}

export function serveOpenApi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    raw: ['json'],
  });
}

/** The committed `openapi.json`: 2-space indentation and a final newline. */
export function serialiseOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

const TOP_LEVEL_ORDER = ['openapi', 'info', 'servers', 'security', 'tags', 'paths', 'components'];
const METHOD_ORDER = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * The same document with its maps in a fixed order: the usual top-level order, paths sorted,
 * methods in the HTTP order, components sorted by name. The order then depends on neither module
 * registration order nor which controller first mentions a schema, so adding a route changes
 * only the lines that describe it.
 */
function inCanonicalOrder(document: OpenAPIObject): OpenAPIObject {
  const paths = mapValues(sortKeys(document.paths), (item) => sortKeys(item, byRank(METHOD_ORDER)));
  const components = document.components && mapValues(sortKeys(document.components), sortKeys);
  const ordered = sortKeys({ ...document, paths, components }, byRank(TOP_LEVEL_ORDER));
  return ordered as unknown as OpenAPIObject;
}

type Compare = (a: string, b: string) => number;

/** By code point, so the order is the same whatever the machine's locale. */
const byCodePoint: Compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function byRank(order: readonly string[]): Compare {
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length);
  return (a, b) => rank(a) - rank(b) || byCodePoint(a, b);
}

/** A copy with the keys in `compare` order (and undefined members left out). */
function sortKeys(object: unknown, compare: Compare = byCodePoint): Record<string, unknown> {
  const entries = Object.entries(object ?? {}).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries.sort(([a], [b]) => compare(a, b)));
}

function mapValues(
  object: Record<string, unknown>,
  map: (value: unknown) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value)]));
}
