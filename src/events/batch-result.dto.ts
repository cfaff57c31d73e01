import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'Rejected', description: 'An event not kept: its index, and why.' })
export class RejectedDto {
  @ApiProperty({ type: 'integer', minimum: 0 })
  index!: number;

  reason!: string;

  /** Only for an event not kept just then (503: the spool full): send it again. */
  @ApiProperty({ type: 'integer', required: false })
  status?: number;

  /** With `status`: seconds to wait first. */
  @ApiProperty({ type: 'integer', required: false })
  retryAfter?: number;
}

/** The answer to a batch of events (`POST /log/events`). */
@ApiSchema({ name: 'BatchResult' })
export class BatchResultDto {
  /** Aligned with the input: the id of each event kept, `null` where rejected. */
  @ApiProperty({ type: [String] })
  event_ids!: Array<string | null>;

  /** The events not kept, by index, with the reason. */
  @ApiProperty({ type: [RejectedDto] })
  rejected!: RejectedDto[];

  /**
   * Only when there are any: indexes of events whose client `event_id` was seen within
   * DEDUP_WINDOW_HOURS (a resend): kept once, with the same id.
   */
  @ApiProperty({ type: 'array', items: { type: 'integer', minimum: 0 }, required: false })
  duplicates?: number[];
}
