import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EngineProbe } from './engine-probe';
import { Readiness } from './readiness';
import { ServiceMetrics } from './service-metrics';

const countsByProjection = {
  type: 'object',
  additionalProperties: { type: 'integer', minimum: 0 },
} as const;

/** Readiness and metrics for orchestrators and Prometheus: no token, like GET /health. */
@ApiTags('operations')
@Controller()
export class OperationsController {
  constructor(
    private readonly probe: EngineProbe,
    private readonly metrics: ServiceMetrics,
  ) {}

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness',
    description:
      'Ready when the engines answer (within 2 s each) and no projection lags more than ' +
      'WEBHOOK_READY_MAX_LAG events behind the log.',
    operationId: 'ready',
  })
  @ApiSecurity({})
  @ApiOkResponse({
    description: 'The engines answer and the read models are current enough to serve traffic.',
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['ready'] },
        log_head: { type: 'integer', description: 'Position of the newest event in the log' },
        projection_lags: { ...countsByProjection, description: 'Events behind, per projection' },
        max_lag: { type: 'integer', description: 'WEBHOOK_READY_MAX_LAG' },
      },
      required: ['status', 'log_head', 'projection_lags', 'max_lag'],
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'An engine did not answer, or a projection lags too far behind.',
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['not_ready'] },
        reasons: {
          type: 'array',
          items: { type: 'string' },
          example: [
            'projection deliveries lags 1500 events behind the log (head 9000, at most 1000 allowed)',
          ],
        },
      },
      required: ['status', 'reasons'],
    },
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness> {
    const readiness = await this.probe.readiness();
    if (readiness.status === 'not_ready') void reply.status(503);
    return readiness;
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics', operationId: 'metrics' })
  @ApiSecurity({})
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The metrics in the Prometheus text exposition format (version 0.0.4).',
    schema: { type: 'string' },
  })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.scrape();
    void reply.type(contentType);
    return body;
  }
}
