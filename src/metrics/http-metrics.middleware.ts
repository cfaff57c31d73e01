import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { metricsConfig, type MetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/** The `route` label of requests no route matched (unknown paths and methods). */
export const UNMATCHED = 'unmatched';

/**
 * Counts and times every answer, 401s from the guard and refusals from exceptions included: it
 * runs before them and records on `finish`. `route` is the pattern Express matched
 * (`/log/event/:id`), never the URL, so that ids cannot multiply the series.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  use(req: Request, res: Response, next: NextFunction): void {
    if (!this.config.enabled) return next();
    const start = process.hrtime.bigint();
    // Nest mounts this middleware as a catch-all route: a request that only matches that one
    // matched no route of ours.
    const mount: unknown = req.route;
    res.once('finish', () => {
      const route: unknown = req.route;
      const labels = {
        method: req.method,
        route:
          route === mount || !isRoute(route) ? UNMATCHED : `${req.baseUrl}${route.path}` || '/',
        status: String(res.statusCode),
      };
      this.metrics.httpRequests.inc(labels);
      this.metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  }
}

function isRoute(route: unknown): route is { path: string } {
  return typeof (route as { path?: unknown } | undefined)?.path === 'string';
}
