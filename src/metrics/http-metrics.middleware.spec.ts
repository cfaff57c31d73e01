import type { NextFunction, Request, Response } from 'express';
import { EventEmitter } from 'node:events';
import {
  HttpMetricsMiddleware,
  MAX_USER_LABELS,
  OTHER_USERS,
  UNMATCHED,
} from './http-metrics.middleware';
import { parseMetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/** The parts of an Express request the middleware reads; the router fills them in. */
interface FakeRequest {
  method: string;
  baseUrl: string;
  route?: { path: string };
}

class FakeResponse extends EventEmitter {
  statusCode = 200;
}

describe(HttpMetricsMiddleware.name, () => {
  let metrics: MetricsService;

  beforeEach(() => {
    metrics = new MetricsService();
  });

  /**
   * Runs the middleware for one request: `route` is what the router matched after it ran, and
   * `status` the answer; the request is counted when the response finishes.
   */
  function handle(
    request: FakeRequest,
    after: { route?: { path: string }; baseUrl?: string; status: number },
    enabled = true,
  ): { nextCalls: number } {
    const middleware = new HttpMetricsMiddleware(
      metrics,
      parseMetricsConfig({ METRICS_ENABLED: String(enabled) }),
    );
    const response = new FakeResponse();
    let nextCalls = 0;
    const next: NextFunction = () => {
      nextCalls++;
    };
    middleware.use(request as unknown as Request, response as unknown as Response, next);
    request.route = after.route;
    request.baseUrl = after.baseUrl ?? request.baseUrl;
    response.statusCode = after.status;
    response.emit('finish');
    return { nextCalls };
  }

  async function counted(): Promise<Array<{ labels: object; value: number }>> {
    return (await metrics.httpRequests.get()).values.map(({ labels, value }) => ({
      labels,
      value,
    }));
  }

  it('labels a matched route by its pattern, not its URL', async () => {
    const { nextCalls } = handle(
      { method: 'GET', baseUrl: '' },
      { route: { path: '/log/event/:id' }, status: 404 },
    );

    expect(nextCalls).toBe(1);
    expect(await counted()).toEqual([
      { labels: { method: 'GET', route: '/log/event/:id', status: '404' }, value: 1 },
    ]);
  });

  it('prefixes the path of the router the route is mounted on', async () => {
    handle(
      { method: 'POST', baseUrl: '' },
      { route: { path: '/event' }, baseUrl: '/log', status: 200 },
    );

    expect(await counted()).toEqual([
      { labels: { method: 'POST', route: '/log/event', status: '200' }, value: 1 },
    ]);
  });

  it('records the status the answer finished with (a 401 from the guard)', async () => {
    handle({ method: 'POST', baseUrl: '' }, { route: { path: '/log/event' }, status: 401 });
    handle({ method: 'POST', baseUrl: '' }, { route: { path: '/log/event' }, status: 401 });

    expect(await counted()).toEqual([
      { labels: { method: 'POST', route: '/log/event', status: '401' }, value: 2 },
    ]);
  });

  it(`labels a request no route matched "${UNMATCHED}"`, async () => {
    handle({ method: 'GET', baseUrl: '' }, { status: 404 });

    expect(await counted()).toEqual([
      { labels: { method: 'GET', route: UNMATCHED, status: '404' }, value: 1 },
    ]);
  });

  it(`labels a request that matched only the middleware's own catch-all "${UNMATCHED}"`, async () => {
    const catchAll = { path: '/{*path}' };

    handle({ method: 'DELETE', baseUrl: '', route: catchAll }, { route: catchAll, status: 404 });

    expect(await counted()).toEqual([
      { labels: { method: 'DELETE', route: UNMATCHED, status: '404' }, value: 1 },
    ]);
  });

  it('times the request under the same labels', async () => {
    handle({ method: 'GET', baseUrl: '' }, { route: { path: '/ping' }, status: 200 });

    const { values } = await metrics.httpDuration.get();
    const count = values.find(({ metricName }) => metricName?.endsWith('_count'));
    expect(count).toMatchObject({
      labels: { method: 'GET', route: '/ping', status: '200' },
      value: 1,
    });
  });

  it('records nothing when METRICS_ENABLED=false', async () => {
    const { nextCalls } = handle(
      { method: 'GET', baseUrl: '' },
      { route: { path: '/ping' }, status: 200 },
      false,
    );

    expect(nextCalls).toBe(1);
    expect(await counted()).toEqual([]);
  });

  describe('per user', () => {
    /** One middleware for many requests, each finished with `status` after `user` was set. */
    function driver() {
      const middleware = new HttpMetricsMiddleware(metrics, parseMetricsConfig({}));
      return (
        method: string,
        user: { id: string; username: string } | undefined,
        status: number,
      ) => {
        const request = { method, baseUrl: '/log', user: undefined as unknown };
        const response = new FakeResponse();
        middleware.use(request as unknown as Request, response as unknown as Response, () => {
          // What the TokenGuard does, after the middleware ran and before the answer.
          request.user = user;
        });
        response.statusCode = status;
        response.emit('finish');
      };
    }

    async function perUser(): Promise<Array<{ labels: object; value: number }>> {
      return (await metrics.userRequests.get()).values.map(({ labels, value }) => ({
        labels,
        value,
      }));
    }

    it("counts a verified token's writes, reads and refusals under its username", async () => {
      const send = driver();
      const alice = { id: 'user_alice', username: 'alice' };
      send('POST', alice, 200);
      send('POST', alice, 200);
      send('POST', alice, 429);
      send('GET', alice, 403);
      send('POST', undefined, 401);

      expect(await perUser()).toEqual([
        { labels: { user: 'alice', method: 'POST', status: '200' }, value: 2 },
        { labels: { user: 'alice', method: 'POST', status: '429' }, value: 1 },
        { labels: { user: 'alice', method: 'GET', status: '403' }, value: 1 },
      ]);
    });

    it(`names at most ${MAX_USER_LABELS} users; the rest share one label`, async () => {
      const send = driver();
      for (let i = 0; i <= MAX_USER_LABELS; i++) {
        send('POST', { id: `user_${i}`, username: `u${i}` }, 200);
      }
      send('POST', { id: 'user_0', username: 'u0' }, 200);

      const series = await perUser();
      expect(series).toHaveLength(MAX_USER_LABELS + 1);
      expect(series).toContainEqual({
        labels: { user: OTHER_USERS, method: 'POST', status: '200' },
        value: 1,
      });
      expect(series).toContainEqual({
        labels: { user: 'u0', method: 'POST', status: '200' },
        value: 2,
      });
    });
  });
});
