import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { routeOf } from '../common/http-routes';

export const REQUEST_ID_HEADER = 'x-request-id';

/** An id a caller may choose: short, and nothing a log line could be forged with. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Request-Id` when it is a plain token, else a fresh UUID. */
export function requestIdOf(request: Pick<IncomingMessage, 'headers'>): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Every response carries its request's id (`X-Request-Id`); with `log` enabled, each request
 * ends with one line: method, route pattern (never the query, which may hold search text),
 * status and duration. Headers are never logged, so no token is.
 */
export function logRequests(instance: FastifyInstance, logRequestLines: boolean): void {
  instance.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  if (!logRequestLines) return;
  const logger = new Logger('HTTP');
  instance.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    logger.log({
      msg: `${request.method} ${route} ${reply.statusCode}`,
      request_id: request.id,
      method: request.method,
      route,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 10) / 10,
    });
    done();
  });
}
