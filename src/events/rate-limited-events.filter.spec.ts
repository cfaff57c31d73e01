import { HttpStatus } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { RetryLaterException } from '../http/retry-later.exception';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimitedEventsFilter } from './rate-limited-events.filter';

class FakeResponse {
  code?: number;
  readonly headers = new Map<string, string>();
  sent?: unknown;

  status(code: number): this {
    this.code = code;
    return this;
  }

  setHeader(name: string, value: string): this {
    this.headers.set(name, value);
    return this;
  }

  json(body: unknown): this {
    this.sent = body;
    return this;
  }
}

function answer(status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE) {
  return new RetryLaterException('not now', 3, status);
}

async function rateLimited(metrics: MetricsService): Promise<number | undefined> {
  const { values } = await metrics.events.get();
  return values.find((v) => v.labels.outcome === 'refused' && v.labels.reason === 'rate_limited')
    ?.value;
}

describe(RateLimitedEventsFilter.name, () => {
  it.each([
    ['an event', { event: 'e', uid: 'u' }, 1],
    ['a points array', [{}, {}, {}], 3],
    ['a body that could not be read', undefined, undefined],
  ])('counts %s refused with 429 as rate_limited events', async (_case, body, count) => {
    const metrics = new MetricsService();
    const response = new FakeResponse();
    const host = new ExecutionContextHost([{ body }, response]);

    new RateLimitedEventsFilter(metrics).catch(answer(HttpStatus.TOO_MANY_REQUESTS), host);

    expect(await rateLimited(metrics)).toBe(count);
    expect({ status: response.code, retryAfter: response.headers.get('Retry-After') }).toEqual({
      status: 429,
      retryAfter: '3',
    });
  });

  it('counts nothing for a 503', async () => {
    const metrics = new MetricsService();
    const host = new ExecutionContextHost([{ body: { event: 'e' } }, new FakeResponse()]);

    new RateLimitedEventsFilter(metrics).catch(answer(HttpStatus.SERVICE_UNAVAILABLE), host);

    expect(await rateLimited(metrics)).toBeUndefined();
  });
});
