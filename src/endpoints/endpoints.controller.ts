import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.guard';
import { canAccessWorkspace, Principal, workspaceFor } from '../auth/principal';
import { notFound } from '../common/errors';
import { Page, pageRequest, toPage } from '../common/pagination';
import { PaginatedList } from '../common/pagination.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { Engine, ENGINE } from '../engine/engine';
import {
  ApiConflictError,
  ApiRequestValidationError,
  ApiResourceNotFoundError,
} from '../openapi/error-responses';
import { EndpointIdParam } from '../openapi/id-params';
import { Endpoint } from './endpoint';
import {
  CreateEndpointCommand,
  DeleteEndpointCommand,
  ResetEndpointSecretCommand,
  UpdateEndpointCommand,
} from './endpoints.commands';
import {
  ListEndpointsQuery,
  WebhookEndpoint,
  WebhookEndpointCreate,
  WebhookEndpointUpdate,
} from './dto/endpoint.dto';
import { presentEndpoint } from './endpoint.presenter';

@ApiTags('webhooks')
@ApiRequestValidationError()
@Controller('api/webhooks/endpoints')
export class EndpointsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(ENGINE) private readonly engine: Engine,
  ) {}

  @Post()
  @RequireScope('webhooks:write')
  @ApiOperation({
    summary: 'Create Webhook Endpoint',
    description: 'Create a webhook endpoint. **Scopes**: `webhooks:write`',
    operationId: 'webhooks:create_webhook_endpoint',
  })
  @ApiCreatedResponse({ type: WebhookEndpoint, description: 'The created webhook endpoint.' })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: WebhookEndpointCreate,
  ): Promise<WebhookEndpoint> {
    const workspaceId = workspaceFor(principal, body.workspace_id ?? undefined);
    const endpoint = await this.commands.execute<CreateEndpointCommand, Endpoint>(
      new CreateEndpointCommand(workspaceId, {
        url: body.url,
        format: body.format,
        events: body.events,
        secret: body.secret ?? undefined,
      }),
    );
    return presentEndpoint(endpoint, principal);
  }

  @Get()
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'List Webhook Endpoints',
    description:
      'List webhook endpoints, newest first. **Scopes**: `webhooks:read` `webhooks:write`',
    operationId: 'webhooks:list_webhook_endpoints',
  })
  @ApiOkResponse({
    type: PaginatedList(WebhookEndpoint),
    description: 'A page of webhook endpoints.',
  })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListEndpointsQuery,
  ): Promise<Page<WebhookEndpoint>> {
    const request = pageRequest(query.page, query.limit);
    const workspaceIds = query.workspace_id
      ? principal.workspaceIds.filter((id) => query.workspace_id!.includes(id))
      : principal.workspaceIds;
    const { items, total } = await this.engine.endpoints.list({ workspaceIds, page: request });
    return toPage(
      items.map((e) => presentEndpoint(e, principal)),
      total,
      request,
    );
  }

  @Get(':id')
  @RequireScope('webhooks:read')
  @ApiOperation({
    summary: 'Get Webhook Endpoint',
    description: 'Get a webhook endpoint by ID. **Scopes**: `webhooks:read` `webhooks:write`',
    operationId: 'webhooks:get_webhook_endpoint',
  })
  @EndpointIdParam()
  @ApiOkResponse({ type: WebhookEndpoint, description: 'The webhook endpoint.' })
  @ApiResourceNotFoundError()
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookEndpoint> {
    const endpoint = await this.engine.endpoints.findById(id);
    if (!endpoint || endpoint.deletedAt || !canAccessWorkspace(principal, endpoint.workspaceId)) {
      throw notFound();
    }
    return presentEndpoint(endpoint, principal);
  }

  @Patch(':id')
  @RequireScope('webhooks:write')
  @ApiOperation({
    summary: 'Update Webhook Endpoint',
    description:
      'Update a webhook endpoint. Absent or `null` fields are left unchanged. ' +
      '**Scopes**: `webhooks:write`',
    operationId: 'webhooks:update_webhook_endpoint',
  })
  @EndpointIdParam()
  @ApiOkResponse({ type: WebhookEndpoint, description: 'The updated webhook endpoint.' })
  @ApiResourceNotFoundError()
  @ApiConflictError()
  async update(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
    @Body() body: WebhookEndpointUpdate,
  ): Promise<WebhookEndpoint> {
    const endpoint = await this.commands.execute<UpdateEndpointCommand, Endpoint>(
      new UpdateEndpointCommand(principal, id, {
        url: body.url ?? undefined,
        format: body.format ?? undefined,
        events: body.events ?? undefined,
        secret: body.secret ?? undefined,
        enabled: body.enabled ?? undefined,
      }),
    );
    return presentEndpoint(endpoint, principal);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('webhooks:write')
  @ApiOperation({
    summary: 'Delete Webhook Endpoint',
    description:
      'Delete a webhook endpoint. Its delivery history is kept. **Scopes**: `webhooks:write`',
    operationId: 'webhooks:delete_webhook_endpoint',
  })
  @EndpointIdParam()
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiResourceNotFoundError()
  @ApiConflictError()
  async remove(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<void> {
    await this.commands.execute(new DeleteEndpointCommand(principal, id));
  }

  @Patch(':id/secret')
  @RequireScope('webhooks:write')
  @ApiOperation({
    summary: 'Reset Webhook Endpoint Secret',
    description:
      'Regenerate a webhook endpoint secret. The previous secret keeps signing during a grace ' +
      'period. **Scopes**: `webhooks:write`',
    operationId: 'webhooks:reset_webhook_endpoint_secret',
  })
  @EndpointIdParam()
  @ApiOkResponse({
    type: WebhookEndpoint,
    description: 'The webhook endpoint with its new secret.',
  })
  @ApiResourceNotFoundError()
  @ApiConflictError()
  async resetSecret(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookEndpoint> {
    const endpoint = await this.commands.execute<ResetEndpointSecretCommand, Endpoint>(
      new ResetEndpointSecretCommand(principal, id),
    );
    return presentEndpoint(endpoint, principal);
  }
}
