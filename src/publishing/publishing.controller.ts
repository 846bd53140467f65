import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.guard';
import { Principal, workspaceFor } from '../auth/principal';
import { validationFailed } from '../common/errors';
import { ApiRequestValidationError } from '../openapi/error-responses';
import { Publication, PublishEventRequest } from './dto/publish.dto';
import { PublicationResult, PublishEventCommand } from './publish.command';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('webhooks')
@ApiRequestValidationError()
@Controller('api/webhooks/events')
export class PublishingController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(202)
  @RequireScope('webhooks:publish')
  @ApiOperation({
    summary: 'Publish Event',
    description:
      'Publish a domain event: one WebhookEvent is created for each enabled endpoint of the workspace subscribed to its type, then delivered. **Scopes**: `webhooks:publish`',
    operationId: 'webhooks:publish_event',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'The same key and workspace within 24 hours answers the first publication again without a second fan-out; reusing it with a different body is a 422.',
    schema: { type: 'string', maxLength: 255 },
  })
  @ApiAcceptedResponse({
    type: Publication,
    description: 'The publication and its webhook events.',
  })
  async publish(
    @CurrentPrincipal() principal: Principal,
    @Body() body: PublishEventRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<PublicationResult> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw validationFailed([
        {
          type: 'string_pattern_mismatch',
          loc: ['header', 'idempotency-key'],
          msg: 'Idempotency-Key must be 1 to 255 visible ASCII characters',
          input: idempotencyKey,
        },
      ]);
    }
    const workspaceId = workspaceFor(principal, body.workspace_id ?? undefined);
    return this.commands.execute(
      new PublishEventCommand(workspaceId, body.type, body.data, idempotencyKey),
    );
  }
}
