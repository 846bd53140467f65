import type { FastifyInstance } from 'fastify';
import { ServiceMetrics } from './service-metrics';

/** The route label of a request that matched no route (one value, whatever the URL). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * Counts every answered request by its route pattern: added on Fastify's root instance before
 * Nest registers its routes, so the hook runs for all of them (and for 404s).
 */
export function countHttpRequests(instance: FastifyInstance, metrics: ServiceMetrics): void {
  instance.addHook('onResponse', (request, reply, done) => {
    metrics.onHttpResponse(
      request.method,
      request.routeOptions.url ?? UNMATCHED_ROUTE,
      reply.statusCode,
    );
    done();
  });
}
