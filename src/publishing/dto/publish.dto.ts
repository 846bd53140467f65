import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsUUID, isIn, isObject, isUUID } from 'class-validator';
import { describeAllowed } from '../../common/validation.pipe';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../../common/webhook-event-types';

const PUBLISH_FIELDS = new Set(['type', 'data', 'workspace_id']);

export class PublishEventRequest {
  @ApiProperty({
    enum: WEBHOOK_EVENT_TYPES,
    enumName: 'WebhookEventType',
    description: 'The event type.',
  })
  @IsIn(WEBHOOK_EVENT_TYPES, { message: `Input should be ${describeAllowed(WEBHOOK_EVENT_TYPES)}` })
  type!: WebhookEventType;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The event data, sent to raw endpoints as is.',
  })
  @IsObject({ message: 'Input should be a valid dictionary' })
  data!: Record<string, unknown>;

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The workspace the event belongs to. **Required unless you use a workspace token.**',
  })
  @IsOptional()
  @IsUUID('all', { message: 'Input should be a valid UUID' })
  workspace_id?: string | null;

  /** QuickCheckedBody: the decorators' own predicates, and no other field. */
  static isPlainlyValid(body: Record<string, unknown>): boolean {
    const workspaceId = body.workspace_id;
    return (
      Object.keys(body).every((key) => PUBLISH_FIELDS.has(key)) &&
      isIn(body.type, WEBHOOK_EVENT_TYPES) &&
      isObject(body.data) &&
      (workspaceId === undefined || workspaceId === null || isUUID(workspaceId, 'all'))
    );
  }
}

export class Publication {
  @ApiProperty({ format: 'uuid', description: 'The publication ID.' }) id!: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, enumName: 'WebhookEventType' }) type!: WebhookEventType;
  @ApiProperty({ format: 'uuid' }) workspace_id!: string;
  @ApiProperty({
    type: [String],
    description: 'The WebhookEvent created for each enabled endpoint subscribed to the type.',
  })
  webhook_event_ids!: string[];
}
