import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { HistoryEntry } from './history';

@ApiSchema({ name: 'HistoryEntry' })
export class HistoryEntrySchema implements HistoryEntry {
  @ApiProperty({
    type: 'integer',
    description: "The event's position in the global log (strictly increasing).",
  })
  position!: number;
  @ApiProperty({ type: 'integer', description: "The event's revision in its stream, from 0." })
  revision!: number;
  @ApiProperty({ description: 'The event type, e.g. `DeliveryAttempted`.' })
  type!: string;
  @ApiProperty({ format: 'date-time', description: 'When the event store recorded it.' })
  recorded_at!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      "The event's data, keys in snake_case. Signing secrets are never included; an archived event's payload is null.",
  })
  data!: Record<string, unknown>;
}

@ApiSchema({ name: 'History' })
export class HistorySchema {
  @ApiProperty({
    type: [HistoryEntrySchema],
    description: 'Every event of the stream, oldest first.',
  })
  data!: HistoryEntrySchema[];
}
