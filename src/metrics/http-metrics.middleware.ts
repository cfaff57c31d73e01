import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { metricsConfig, type MetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/** The `route` label of requests no route matched (unknown paths and methods). */
export const UNMATCHED = 'unmatched';

/** Users counted under their own name; any further ones share OTHER_USERS. */
export const MAX_USER_LABELS = 1000;
export const OTHER_USERS = '(other users)';

/**
 * Counts and times every answer, 401s from the guard and refusals from exceptions included: it
 * runs before them and records on `finish`. `route` is the pattern Express matched
 * (`/log/event/:id`), never the URL, so that ids cannot multiply the series. A request whose
 * token was verified (the TokenGuard sets `req.user`, also when it then refuses with 403 or
 * 429) is counted for its user as well.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly users = new Set<string>();

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
      const user = usernameOf(req);
      if (user !== undefined) {
        this.metrics.userRequests.inc({
          user: this.userLabel(user),
          method: req.method,
          status: labels.status,
        });
      }
    });
    next();
  }

  private userLabel(username: string): string {
    if (this.users.has(username)) return username;
    if (this.users.size >= MAX_USER_LABELS) return OTHER_USERS;
    this.users.add(username);
    return username;
  }
}

/** The username the TokenGuard verified for this request, if any. */
function usernameOf(req: Request): string | undefined {
  const { user } = req as Request & { user?: { username?: unknown } };
  return typeof user?.username === 'string' ? user.username : undefined;
}

function isRoute(route: unknown): route is { path: string } {
  return typeof (route as { path?: unknown } | undefined)?.path === 'string';
}
