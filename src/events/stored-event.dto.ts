import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({
  name: 'StoredEvent',
  description:
    'One event as one flat object: `status`, `time`, `event_id`, `event`, `uid` and every ' +
    'other key it was stored with (no `null` padding for keys of other events), each once ' +
    'under its own name, also where the original service stored keys as both tag and field, ' +
    'with the types it is stored with, also while it is queued. `uid` is missing only for an ' +
    'event sent with a null uid (or stored so by the original).',
})
export class StoredEventDto {
  /** `stored` in InfluxDB, or `queued` in the spool (stored soon); or the event's own `status`. */
  @ApiProperty({ type: String })
  status!: string;

  /** When the server received it, RFC 3339 in nanoseconds. */
  @ApiProperty({ format: 'date-time' })
  time!: string;

  event_id!: string;
  event!: string;

  /** Text, or a number where `uid` is a numeric field of the measurement. */
  @ApiProperty({ type: String, required: false })
  uid?: string | number;
}
