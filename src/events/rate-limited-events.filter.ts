import { ArgumentsHost, Catch, HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { RetryLaterException } from '../http/retry-later.exception';
import { RetryLaterFilter } from '../http/retry-later.filter';
import { MetricsService } from '../metrics/metrics.service';

/**
 * Answers a RetryLaterException as RetryLaterFilter does, and for a 429 (the rate limit) counts
 * the events the request carried as refused: the guard refused it, the body reader has read the
 * body by then (an unreadable body counts none).
 */
@Injectable()
@Catch(RetryLaterException)
export class RateLimitedEventsFilter extends RetryLaterFilter {
  constructor(private readonly metrics: MetricsService) {
    super();
  }

  override catch(exception: RetryLaterException, host: ArgumentsHost): void {
    if (exception.getStatus() === Number(HttpStatus.TOO_MANY_REQUESTS)) {
      const refused = eventsIn(host.switchToHttp().getRequest<Request>().body);
      if (refused > 0) {
        this.metrics.events.inc({ outcome: 'refused', reason: 'rate_limited' }, refused);
      }
    }
    super.catch(exception, host);
  }
}

/** Events (or points) a body holds once parsed: an array holds many, an object one. */
function eventsIn(body: unknown): number {
  if (Array.isArray(body)) return body.length;
  return typeof body === 'object' && body !== null ? 1 : 0;
}
