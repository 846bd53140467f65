import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestIdOf } from '../logging/request-log';
import { useLeanAsyncResourceBind } from './async-resource-bind';
import { ApiError, validationFailed } from './errors';

/** Request bodies larger than this are refused with 413 (the API's largest body is a publish). */
export const BODY_LIMIT_BYTES = 100 * 1024;

/** Path parameters up to this length reach validation (and a precise 422) instead of a 404. */
const MAX_PARAM_LENGTH = 2048;

/**
 * The HTTP platform: Nest on Fastify, whose request handling costs well under Express's. Bodies
 * are JSON only: other media types get 415, a charset other than UTF-8 415, a compressed body 415,
 * malformed JSON the same 422 `json_invalid` as any other invalid input, and a path that is not
 * valid percent-encoding a 422 too.
 */
export function createHttpAdapter(): FastifyAdapter {
  // Fastify binds a function per request body: on Node 20 that kept each request alive until a
  // full GC (see useLeanAsyncResourceBind).
  useLeanAsyncResourceBind();
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // The caller's X-Request-Id when it is a plain token (see logRequests), else a UUID.
    genReqId: requestIdOf,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const bad =
        error.code === 'FST_ERR_BAD_URL'
          ? badPathProblem(request.url)
          : new ApiError(400, { error: 'BadRequest', detail: error.message });
      void reply.status(bad.getStatus()).send(bad.body);
    },
  });
  registerJsonBody(adapter.getInstance());
  return adapter;
}

/** Replaces Fastify's body parsers with the JSON-only one described above. */
function registerJsonBody(instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const refused = refusedEncoding(request);
      if (refused) return done(refused);
      if (body.length === 0) return done(null, undefined);
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch {
        done(
          validationFailed([
            { type: 'json_invalid', loc: ['body'], msg: 'Request body is not valid JSON' },
          ]),
        );
      }
    },
  );
  // Any other media type with a body.
  instance.addContentTypeParser('*', (_request: FastifyRequest, _payload, done) =>
    done(
      unsupported(
        'Unsupported Media Type: send the body as JSON, with Content-Type: application/json',
      ),
    ),
  );
}

function refusedEncoding(request: FastifyRequest): ApiError | null {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    return unsupported(`Content-Encoding "${encoding}" is not supported; send the body as is`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '');
  if (charset && !/^utf-?8$/i.test(charset[1])) {
    return unsupported(`Unsupported charset "${charset[1]}": send UTF-8 JSON`);
  }
  return null;
}

const unsupported = (detail: string) =>
  new ApiError(415, { error: 'UnsupportedMediaType', detail });

/** The first path segment that does not percent-decode, as the problem's input. */
function badPathProblem(url: string): ApiError {
  const path = url.split('?', 1)[0];
  const segment =
    path.split('/').find((part) => {
      try {
        decodeURIComponent(part);
        return false;
      } catch {
        return true;
      }
    }) ?? path;
  return validationFailed([
    {
      type: 'value_error',
      loc: ['path'],
      msg: 'Path is not valid percent-encoding',
      input: segment,
    },
  ]);
}
