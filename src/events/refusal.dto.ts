import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { FIELD_TYPES } from '../store/point';
import { RejectedDto } from './batch-result.dto';

/** The body of a Refusal (refusal.ts). */
@ApiSchema({
  name: 'Refusal',
  description:
    'Which key and why. Values are never echoed. A field type conflict adds the `stored` ' +
    'and `incoming` types; a batch with no valid event adds `event_ids` and `rejected`.',
})
export class RefusalDto {
  @ApiProperty({ type: 'integer', enum: [400] })
  statusCode!: number;

  @ApiProperty({ enum: ['Bad Request'] })
  error!: string;

  /** Where (`[index].key`) and the rule, in one line. */
  message!: string;

  /** The offending key (`fields.count`, `a_b`); empty for the body as a whole. */
  key!: string;

  /** The element of an array body. */
  @ApiProperty({ type: 'integer', minimum: 0, required: false })
  index?: number;

  /** What the key broke. */
  rule!: string;

  /** Type conflict: the type InfluxDB holds. */
  @ApiProperty({ enum: [...FIELD_TYPES], required: false })
  stored?: string;

  /** Type conflict: the type of this value. */
  @ApiProperty({ enum: [...FIELD_TYPES], required: false })
  incoming?: string;

  /** POST /log/events: one `null` per event (their type, null, is added in events.openapi.ts). */
  @ApiProperty({ type: [String], required: false })
  event_ids?: null[];

  /** POST /log/events: why each event was refused. */
  @ApiProperty({ type: [RejectedDto], required: false })
  rejected?: RejectedDto[];
}
