import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScope } from '../auth/auth.guard';
import { Principal } from '../auth/principal';
import { validationFailed } from '../common/errors';
import { parseTimestamp } from '../common/timestamps';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { ApiRequestValidationError, ApiResourceNotFoundError } from '../openapi/error-responses';
import { EndpointIdParam } from '../openapi/id-params';
import { RecoverEndpointCommand } from './recover.command';
import { RecoverEndpointRequest, RecoverEndpointResponse } from './recovery.dto';

@ApiTags('webhooks')
@ApiRequestValidationError()
@Controller('api/webhooks/endpoints')
export class RecoveryController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':id/recover')
  @HttpCode(202)
  @RequireScope('webhooks:write')
  @ApiOperation({
    summary: 'Recover Webhook Endpoint',
    description:
      'Redeliver every webhook event of the endpoint whose retries ran out within the window and that has not been redelivered since, each with a fresh retry budget (events that later succeeded, and archived ones, are left alone). Bounded: at most 1,000 redeliveries per call (`more` says when to call again); calling twice does not redeliver an event twice. A disabled endpoint gets 422. **Scopes**: `webhooks:write`',
    operationId: 'webhooks:recover_webhook_endpoint',
  })
  @EndpointIdParam()
  @ApiAcceptedResponse({ type: RecoverEndpointResponse, description: 'Redeliveries scheduled.' })
  @ApiResourceNotFoundError()
  async recover(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidParamPipe) id: string,
    @Body() body: RecoverEndpointRequest,
  ): Promise<RecoverEndpointResponse> {
    const since = parseTimestamp(body.since)!.ms;
    const until = body.until ? parseTimestamp(body.until)!.ms : Date.now();
    if (until <= since) {
      throw validationFailed([
        {
          type: 'value_error',
          loc: ['body', body.until ? 'until' : 'since'],
          msg: body.until ? 'until must be after since' : 'since must be in the past',
          input: body.until ?? body.since,
        },
      ]);
    }
    return this.commands.execute(new RecoverEndpointCommand(principal, id, { since, until }));
  }
}
