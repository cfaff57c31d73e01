import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The body of Nest's built-in exceptions (404, 413, 415, 401 …). */
@ApiSchema({ name: 'HttpError' })
export class HttpErrorDto {
  @ApiProperty({ type: 'integer' })
  statusCode!: number;

  /** The status text. */
  error!: string;

  message!: string;
}

@ApiSchema({
  name: 'RetryLater',
  description: 'Nothing of the request was kept; send it again after `retryAfter` seconds.',
})
export class RetryLaterDto {
  @ApiProperty({ type: 'integer', enum: [429, 503] })
  statusCode!: number;

  @ApiProperty({ enum: ['Too Many Requests', 'Service Unavailable'] })
  error!: string;

  message!: string;

  /** Seconds, as in the Retry-After header. */
  @ApiProperty({ type: 'integer', minimum: 1 })
  retryAfter!: number;
}

/** What the classes above cannot say: examples. */
export const ERROR_BEYOND_CLASSES = {
  HttpError: {
    examples: [
      {
        statusCode: 404,
        error: 'Not Found',
        message: 'no event with id "entry_00000000000000000000000000000000"',
      },
    ],
  },
  RetryLater: {
    examples: [
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message:
          'InfluxDB is unavailable and the spool is full (SPOOL_MAX_BYTES); nothing was stored, try again later',
        retryAfter: 30,
      },
    ],
  },
};
