import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsTimezoneAwareTimestamp } from '../common/timestamps';

export class RecoverEndpointRequest {
  @ApiProperty({
    type: String,
    format: 'date-time',
    description: 'Start of the window (inclusive; a timezone is required).',
  })
  @IsTimezoneAwareTimestamp()
  since!: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'End of the window (exclusive; a timezone is required). Default: now.',
  })
  @IsOptional()
  @IsTimezoneAwareTimestamp()
  until?: string;
}

export class RecoverEndpointResponse {
  @ApiProperty({ type: 'integer', description: 'Webhook events scheduled for redelivery.' })
  count!: number;
  @ApiProperty({
    description:
      'True when this call stopped at its bound (1,000 redeliveries, or 10,000 failed events looked at): call again for the rest; events recovered already are not redelivered twice.',
  })
  more!: boolean;
}
