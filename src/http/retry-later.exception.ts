import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * "Not now, try again in `retryAfterSeconds`": 503 (or 429) with a `Retry-After` header, which
 * RetryLaterFilter sets. Nothing of the request was stored.
 */
export class RetryLaterException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    status:
      | HttpStatus.SERVICE_UNAVAILABLE
      | HttpStatus.TOO_MANY_REQUESTS = HttpStatus.SERVICE_UNAVAILABLE,
  ) {
    super(
      {
        statusCode: status,
        error:
          status === HttpStatus.SERVICE_UNAVAILABLE ? 'Service Unavailable' : 'Too Many Requests',
        message,
        retryAfter: retryAfterSeconds,
      },
      status,
    );
  }
}
