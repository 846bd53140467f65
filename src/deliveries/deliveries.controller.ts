import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.guard';
import { canAccessWorkspace, Principal } from '../auth/principal';
import { notFound } from '../common/errors';
import { Page, pageRequest, toPage } from '../common/pagination';
import { PaginatedList } from '../common/pagination.dto';
import { parseTimestamp } from '../common/timestamps';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { ApiRequestValidationError, ApiResourceNotFoundError } from '../openapi/error-responses';
import { WebhookEventIdParam } from '../openapi/id-params';
import { Engine, ENGINE } from '../engine/engine';
import { presentDelivery, presentWebhookEvent } from './delivery.presenter';
import {
  ListDeliveriesQuery,
  ListWebhookEventsQuery,
  WebhookDelivery,
  WebhookEventSchema,
} from './dto/delivery.dto';
import { RedeliverEventCommand } from './redeliver.command';

@ApiTags('webhooks')
@ApiRequestValidationError()
@Controller('api/webhooks')
export class DeliveriesController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(ENGINE) private readonly engine: Engine,
  ) {}

  @Get('deliveries')
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'List Webhook Deliveries',
    description:
      'List webhook deliveries. Deliveries are all the attempts to deliver a webhook event to an endpoint. **Scopes**: `webhooks:read` `webhooks:write`',
    operationId: 'webhooks:list_webhook_deliveries',
  })
  @ApiOkResponse({
    type: PaginatedList(WebhookDelivery),
    description: 'A page of deliveries, newest first.',
  })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListDeliveriesQuery,
  ): Promise<Page<WebhookDelivery>> {
    const page = pageRequest(query.page, query.limit);
    const start = query.start_timestamp ? parseTimestamp(query.start_timestamp)! : undefined;
    const end = query.end_timestamp ? parseTimestamp(query.end_timestamp)! : undefined;
    const { items, total } = await this.engine.deliveries.list({
      workspaceIds: principal.workspaceIds,
      endpointIds: query.endpoint_id?.map((id) => id.toLowerCase()),
      after: start?.ms,
      // Attempts are stored to the millisecond: an end bound with a finer fraction still
      // includes the attempt made in its own millisecond.
      before: end && (end.subMillisecond ? end.ms + 1 : end.ms),
      succeeded: query.succeeded,
      text: query.query,
      httpCodeClass: query.http_code_class,
      eventTypes: query.event_type,
      page,
    });
    return toPage(items.map(presentDelivery), total, page);
  }

  @Get('events')
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'List Webhook Events',
    description:
      'List webhook events: each published event addressed to one endpoint, newest first. **Scopes**: `webhooks:read` `webhooks:write`',
    operationId: 'webhooks:list_webhook_events',
  })
  @ApiOkResponse({
    type: PaginatedList(WebhookEventSchema),
    description: 'A page of webhook events.',
  })
  async listEvents(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListWebhookEventsQuery,
  ): Promise<Page<WebhookEventSchema>> {
    const page = pageRequest(query.page, query.limit);
    const { items, total } = await this.engine.deliveries.listEvents({
      workspaceIds: principal.workspaceIds,
      endpointIds: query.endpoint_id?.map((id) => id.toLowerCase()),
      eventTypes: query.event_type,
      succeeded: query.succeeded,
      skipped: query.skipped,
      page,
    });
    return toPage(items.map(presentWebhookEvent), total, page);
  }

  @Get('events/:id')
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'Get Webhook Event',
    description: 'Get a webhook event by ID. **Scopes**: `webhooks:read` `webhooks:write`',
    operationId: 'webhooks:get_webhook_event',
  })
  @WebhookEventIdParam()
  @ApiOkResponse({ type: WebhookEventSchema, description: 'The webhook event.' })
  @ApiResourceNotFoundError()
  async getEvent(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookEventSchema> {
    const event = await this.engine.deliveries.findEvent(id);
    if (!event || !canAccessWorkspace(principal, event.workspaceId)) throw notFound();
    return presentWebhookEvent(event);
  }

  @Post('events/:id/redeliver')
  @HttpCode(202)
  @RequireScope('webhooks:write')
  @ApiOperation({
    summary: 'Redeliver Webhook Event',
    description:
      'Schedule the re-delivery of a webhook event: a new attempt with the same id and body and a fresh retry budget. **Scopes**: `webhooks:write`',
    operationId: 'webhooks:redeliver_webhook_event',
  })
  @WebhookEventIdParam()
  @ApiAcceptedResponse({ description: 'Redelivery scheduled.', schema: { type: 'object' } })
  @ApiResourceNotFoundError()
  async redeliver(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<Record<string, never>> {
    await this.commands.execute(new RedeliverEventCommand(principal, id));
    return {};
  }
}
