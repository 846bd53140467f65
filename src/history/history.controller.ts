import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.guard';
import { canAccessWorkspace, Principal } from '../auth/principal';
import { notFound } from '../common/errors';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { webhookEventStream } from '../delivery/webhook-event';
import { endpointStream } from '../endpoints/endpoint';
import { Engine, ENGINE } from '../engine/engine';
import { ApiRequestValidationError, ApiResourceNotFoundError } from '../openapi/error-responses';
import { EndpointIdParam, WebhookEventIdParam } from '../openapi/id-params';
import { toHistory } from './history';
import { HistorySchema } from './history.dto';

/** Audit trails, read straight from the event store. */
@ApiTags('webhooks')
@ApiRequestValidationError()
@Controller('api/webhooks')
export class HistoryController {
  constructor(@Inject(ENGINE) private readonly engine: Engine) {}

  @Get('events/:id/history')
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'Get Webhook Event History',
    description:
      "A webhook event's audit trail, oldest first: its creation, every delivery attempt, redelivery request, failure, skip and archival, as recorded in the event store. **Scopes**: `webhooks:read` `webhooks:write`",
    operationId: 'webhooks:get_webhook_event_history',
  })
  @WebhookEventIdParam()
  @ApiOkResponse({ type: HistorySchema, description: "The webhook event's events, oldest first." })
  @ApiResourceNotFoundError()
  async eventHistory(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<HistorySchema> {
    const event = await this.engine.deliveries.findEvent(id);
    if (!event || !canAccessWorkspace(principal, event.workspaceId)) throw notFound();
    const recorded = await this.engine.eventStore.readStream(webhookEventStream(id));
    return { data: toHistory(recorded, { payloadArchived: event.isArchived }) };
  }

  @Get('endpoints/:id/history')
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'Get Webhook Endpoint History',
    description:
      "A webhook endpoint's audit trail, oldest first: its creation and every change (settings, secret rotations without the secrets, disabling, enabling, deletion). Still readable once the endpoint is deleted. **Scopes**: `webhooks:read` `webhooks:write`",
    operationId: 'webhooks:get_webhook_endpoint_history',
  })
  @EndpointIdParam()
  @ApiOkResponse({ type: HistorySchema, description: "The endpoint's events, oldest first." })
  @ApiResourceNotFoundError()
  async endpointHistory(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<HistorySchema> {
    const endpoint = await this.engine.endpoints.findById(id);
    if (!endpoint || !canAccessWorkspace(principal, endpoint.workspaceId)) throw notFound();
    const recorded = await this.engine.eventStore.readStream(endpointStream(id));
    return { data: toHistory(recorded) };
  }
}
