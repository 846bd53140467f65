import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

@ApiTags('operations')
@Controller()
export class HealthController {
  @Get('health')
  @ApiOperation({ summary: 'Liveness', operationId: 'health' })
  @ApiOkResponse({ description: 'The service is up and has finished starting.' })
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
