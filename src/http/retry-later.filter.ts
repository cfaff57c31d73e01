import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { RetryLaterException } from './retry-later.exception';

/** Nest's built-in exceptions carry no headers; this one needs `Retry-After`. */
@Catch(RetryLaterException)
export class RetryLaterFilter implements ExceptionFilter<RetryLaterException> {
  catch(exception: RetryLaterException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    response
      .status(exception.getStatus())
      .setHeader('Retry-After', String(exception.retryAfterSeconds))
      .json(exception.getResponse());
  }
}
