import type { FastifyInstance } from 'fastify';
import { routeOf } from '../common/http-routes';
import { ServiceMetrics } from './service-metrics';

/**
 * Counts every answered request by its route pattern: added on Fastify's root instance before
 * Nest registers its routes, so the hook runs for all of them (and for 404s).
 */
export function countHttpRequests(instance: FastifyInstance, metrics: ServiceMetrics): void {
  instance.addHook('onResponse', (request, reply, done) => {
    metrics.onHttpResponse(request.method, routeOf(request), reply.statusCode);
    done();
  });
}
