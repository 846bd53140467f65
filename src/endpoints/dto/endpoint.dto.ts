import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
} from 'class-validator';
import { PageQuery, ToArray } from '../../common/query';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../../common/webhook-event-types';
import { describeAllowed } from '../../common/validation.pipe';
import { ENDPOINT_FORMATS, EndpointFormat } from '../endpoint';

export const URL_MAX_LENGTH = 2083;
export const SECRET_MIN_LENGTH = 32;
export const SECRET_MAX_LENGTH = 256;

const formatProperty = {
  enum: ENDPOINT_FORMATS,
  enumName: 'WebhookFormat',
  description: 'Serialisation format for outgoing webhook payloads.',
};
const eventsProperty = {
  enum: WEBHOOK_EVENT_TYPES,
  enumName: 'WebhookEventType',
  isArray: true,
  description: 'The events that will trigger the webhook.',
};
const IsFormat = () =>
  IsIn(ENDPOINT_FORMATS, { message: `Input should be ${describeAllowed(ENDPOINT_FORMATS)}` });
const IsEventTypes = () =>
  IsIn(WEBHOOK_EVENT_TYPES, { each: true, context: { allowed: WEBHOOK_EVENT_TYPES } });
const IsEventList = () => IsArray({ message: 'Input should be a valid list' });
const IsText = () => IsString({ message: 'Input should be a valid string' });
const IsSecret = () => [
  IsText(),
  MinLength(SECRET_MIN_LENGTH, {
    message: `String should have at least ${SECRET_MIN_LENGTH} characters`,
  }),
  MaxLength(SECRET_MAX_LENGTH, {
    message: `String should have at most ${SECRET_MAX_LENGTH} characters`,
  }),
];

export class WebhookEndpointCreate {
  @ApiProperty({
    description: 'The URL where the webhook events will be sent (https).',
    maxLength: URL_MAX_LENGTH,
    minLength: 1,
    format: 'uri',
    example: 'https://example.com/webhooks',
  })
  @IsText()
  url!: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    minLength: SECRET_MIN_LENGTH,
    maxLength: SECRET_MAX_LENGTH,
    deprecated: true,
    description: 'Secret used to sign payloads. Generated (`whsec_...`) when omitted.',
  })
  @IsOptional()
  @applyAll(IsSecret())
  secret?: string | null;

  @ApiProperty(formatProperty)
  @IsFormat()
  format!: EndpointFormat;

  @ApiProperty(eventsProperty)
  @IsEventList()
  @IsEventTypes()
  events!: WebhookEventType[];

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The workspace ID associated with the webhook endpoint. **Required unless you use a workspace token.**',
  })
  @IsOptional()
  @IsUUID('all', { message: 'Input should be a valid UUID' })
  workspace_id?: string | null;
}

export class WebhookEndpointUpdate {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: URL_MAX_LENGTH, format: 'uri' })
  @IsOptional()
  @IsText()
  url?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    minLength: SECRET_MIN_LENGTH,
    maxLength: SECRET_MAX_LENGTH,
    deprecated: true,
  })
  @IsOptional()
  @applyAll(IsSecret())
  secret?: string | null;

  // Inline rather than a $ref to WebhookFormat: OpenAPI 3.0 needs `type` next to `nullable`, and
  // admits null in an enum only when listed (Nest's enum type leaves null out, hence the cast).
  @ApiPropertyOptional({
    type: String,
    enum: [...ENDPOINT_FORMATS, null] as string[],
    nullable: true,
    description: formatProperty.description,
  })
  @IsOptional()
  @IsFormat()
  format?: EndpointFormat | null;

  @ApiPropertyOptional({ ...eventsProperty, nullable: true })
  @IsOptional()
  @IsEventList()
  @IsEventTypes()
  events?: WebhookEventType[] | null;

  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    description: 'Whether the webhook endpoint is enabled.',
  })
  @IsOptional()
  @IsBoolean({ message: 'Input should be a valid boolean' })
  enabled?: boolean | null;
}

export class ListEndpointsQuery extends PageQuery {
  // An exploded form array (the OpenAPI default for queries): `?workspace_id=a` is a list of one.
  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description:
      'Filter by workspace ID. Give it once or repeat it (`?workspace_id=a&workspace_id=b`).',
  })
  @IsOptional()
  @ToArray()
  @IsUUID('all', { each: true, message: 'Input should be a valid UUID' })
  workspace_id?: string[];
}

export class WebhookEndpoint {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) modified_at!: string | null;
  @ApiProperty({ description: 'The URL where the webhook events will be sent.' }) url!: string;
  @ApiProperty(formatProperty) format!: EndpointFormat;
  @ApiProperty({
    description:
      'The signing secret (`whsec_...`). Shown in full to tokens with `webhooks:write`, masked otherwise.',
  })
  secret!: string;
  @ApiProperty({ format: 'uuid' }) workspace_id!: string;
  @ApiProperty(eventsProperty) events!: WebhookEventType[];
  @ApiProperty({ description: 'Whether the webhook endpoint is enabled.' }) enabled!: boolean;
}

function applyAll(decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => decorators.forEach((d) => d(target, key));
}
