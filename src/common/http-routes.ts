import type { FastifyRequest } from 'fastify';

/** The route label of a request that matched no route (one value, whatever the URL). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * A request's route pattern (e.g. `/api/webhooks/endpoints/:id`), never its raw URL: what
 * metrics and request logs name a request by (bounded, and free of ids and query text).
 */
export const routeOf = (request: FastifyRequest): string =>
  request.routeOptions.url ?? UNMATCHED_ROUTE;
