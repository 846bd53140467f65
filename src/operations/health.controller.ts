import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';

@ApiTags('operations')
@Controller()
export class HealthController {
  @Get('health')
  @ApiOperation({ summary: 'Liveness', operationId: 'health' })
  // An empty requirement: no token needed, so load balancers and orchestrators can probe it.
  @ApiSecurity({})
  @ApiOkResponse({
    description: 'The service is up and has finished starting.',
    schema: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'] } },
      required: ['status'],
    },
  })
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
