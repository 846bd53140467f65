import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQuery, ToArray, ToBoolean } from '../../common/query';
import { IsTimezoneAwareTimestamp } from '../../common/timestamps';
import { describeAllowed } from '../../common/validation.pipe';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../../common/webhook-event-types';
import { HTTP_CODE_CLASSES, HttpCodeClass } from '../deliveries.repository';

export const QUERY_MAX_LENGTH = 256;

/** `endpoint_id`, given once or repeated: the filters of both lists. */
const EndpointIdFilter = () =>
  applyDecorators(
    ApiPropertyOptional({
      type: [String],
      format: 'uuid',
      description: 'Filter by webhook endpoint ID. Give it once or repeat it.',
    }),
    IsOptional(),
    ToArray(),
    IsUUID('all', { each: true, message: 'Input should be a valid UUID' }),
  );

/** `event_type`, given once or repeated. */
const EventTypeFilter = () =>
  applyDecorators(
    ApiPropertyOptional({
      enum: WEBHOOK_EVENT_TYPES,
      enumName: 'WebhookEventType',
      isArray: true,
      description: 'Filter by webhook event type. Give it once or repeat it.',
    }),
    IsOptional(),
    ToArray(),
    IsIn(WEBHOOK_EVENT_TYPES, { each: true, context: { allowed: WEBHOOK_EVENT_TYPES } }),
  );

export class ListDeliveriesQuery extends PageQuery {
  @EndpointIdFilter()
  endpoint_id?: string[];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Filter deliveries after this timestamp (exclusive; a timezone is required).',
  })
  @IsOptional()
  @IsTimezoneAwareTimestamp()
  start_timestamp?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Filter deliveries before this timestamp (exclusive; a timezone is required).',
  })
  @IsOptional()
  @IsTimezoneAwareTimestamp()
  end_timestamp?: string;

  @ApiPropertyOptional({ type: Boolean, description: 'Filter by delivery success status.' })
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'Input should be a valid boolean' })
  succeeded?: boolean;

  @ApiPropertyOptional({
    type: String,
    maxLength: QUERY_MAX_LENGTH,
    description:
      'Case-insensitive substring of the delivery ID, the event ID or the HTTP code. `%` and `_` are literal.',
  })
  @IsOptional()
  @IsString({ message: 'Input should be a valid string' })
  @MaxLength(QUERY_MAX_LENGTH, {
    message: `String should have at most ${QUERY_MAX_LENGTH} characters`,
  })
  query?: string;

  @ApiPropertyOptional({
    enum: HTTP_CODE_CLASSES,
    enumName: 'HttpCodeClass',
    description: 'Filter by HTTP response code class. Unreachable attempts never match.',
  })
  @IsOptional()
  @IsIn(HTTP_CODE_CLASSES, { message: `Input should be ${describeAllowed(HTTP_CODE_CLASSES)}` })
  http_code_class?: HttpCodeClass;

  @EventTypeFilter()
  event_type?: WebhookEventType[];
}

@ApiSchema({ name: 'WebhookEvent' })
export class WebhookEventSchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) modified_at!: string | null;
  @ApiProperty({ format: 'uuid' }) webhook_endpoint_id!: string;
  @ApiProperty({
    enum: WEBHOOK_EVENT_TYPES,
    enumName: 'WebhookEventType',
    description: 'The event type.',
  })
  type!: WebhookEventType;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The exact JSON body sent, as a string; null once archived.',
  })
  payload!: string | null;
  @ApiProperty({ type: 'integer', nullable: true }) last_http_code!: number | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      'True once any attempt succeeded, false when its retries ran out, null while pending.',
  })
  succeeded!: boolean | null;
  @ApiProperty({ description: 'True when not sent because the endpoint was disabled.' })
  skipped!: boolean;
  @ApiProperty() is_archived!: boolean;
}

export class WebhookDelivery {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) modified_at!: string | null;
  @ApiProperty({ format: 'uuid' }) webhook_endpoint_id!: string;
  @ApiProperty() succeeded!: boolean;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Null when the endpoint was unreachable.',
  })
  http_code!: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The response body truncated to 2048 characters, or the error when unreachable.',
  })
  response!: string | null;
  @ApiProperty({ type: 'integer' }) duration_ms!: number;
  @ApiProperty({ type: WebhookEventSchema }) webhook_event!: WebhookEventSchema;
}

export class ListWebhookEventsQuery extends PageQuery {
  @EndpointIdFilter()
  endpoint_id?: string[];

  @EventTypeFilter()
  event_type?: WebhookEventType[];

  @ApiPropertyOptional({
    type: Boolean,
    description: 'true: delivered; false: retries ran out. Pending events match neither.',
  })
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'Input should be a valid boolean' })
  succeeded?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'Filter by whether the event was skipped (endpoint disabled).',
  })
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'Input should be a valid boolean' })
  skipped?: boolean;
}
