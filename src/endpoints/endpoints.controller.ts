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
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.guard';
import { canAccessWorkspace, Principal } from '../auth/principal';
import { notFound, validationFailed } from '../common/errors';
import { Page, pageRequest, toPage } from '../common/pagination';
import { PaginatedList } from '../common/pagination.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { Engine, ENGINE } from '../engine/engine';
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

const IdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The webhook endpoint ID.' });

@ApiTags('webhooks')
@ApiUnprocessableEntityResponse({ description: 'Validation error.' })
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
    operationId: 'webhooks:create_webhook_endpoint',
  })
  @ApiCreatedResponse({ type: WebhookEndpoint })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: WebhookEndpointCreate,
  ): Promise<WebhookEndpoint> {
    const workspaceId = workspaceForCreate(principal, body.workspace_id ?? undefined);
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
    operationId: 'webhooks:list_webhook_endpoints',
  })
  @ApiOkResponse({ type: PaginatedList(WebhookEndpoint) })
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
  @ApiOperation({ summary: 'Get Webhook Endpoint', operationId: 'webhooks:get_webhook_endpoint' })
  @IdParam()
  @ApiOkResponse({ type: WebhookEndpoint })
  @ApiNotFoundResponse({ description: 'Not found.' })
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
    operationId: 'webhooks:update_webhook_endpoint',
  })
  @IdParam()
  @ApiOkResponse({ type: WebhookEndpoint })
  @ApiNotFoundResponse({ description: 'Not found.' })
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
    operationId: 'webhooks:delete_webhook_endpoint',
  })
  @IdParam()
  @ApiNoContentResponse({ description: 'Deleted. Its delivery history is kept.' })
  @ApiNotFoundResponse({ description: 'Not found.' })
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
      'Regenerate a webhook endpoint secret. The previous secret keeps signing during a grace period.',
    operationId: 'webhooks:reset_webhook_endpoint_secret',
  })
  @IdParam()
  @ApiOkResponse({ type: WebhookEndpoint })
  @ApiNotFoundResponse({ description: 'Not found.' })
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

/**
 * A workspace token creates in its own workspace; a user token names one of its workspaces,
 * and may leave it out only when it has exactly one.
 */
function workspaceForCreate(principal: Principal, requested: string | undefined): string {
  const loc = ['body', 'workspace_id'];
  if (requested === undefined) {
    if (principal.workspaceIds.length === 1) return principal.workspaceIds[0];
    throw validationFailed([
      { type: 'missing', loc, msg: 'workspace_id is required for a token with several workspaces' },
    ]);
  }
  const id = requested.toLowerCase();
  if (canAccessWorkspace(principal, id)) return id;
  const msg =
    principal.kind === 'workspace'
      ? "workspace_id must be the token's own workspace or be omitted"
      : 'workspace_id is not one of the workspaces this token can access';
  throw validationFailed([{ type: 'value_error', loc, msg, input: requested }]);
}
