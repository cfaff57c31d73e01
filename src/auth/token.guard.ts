import {
  CanActivate,
  ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { httpConfig, type HttpConfig } from '../http/http.config';
import { JsonBodyReader } from '../http/json-body.interceptor';
import { RetryLaterException } from '../http/retry-later.exception';
import { MetricsService } from '../metrics/metrics.service';
import { AccessService, type AuthenticatedUser } from './access.service';
import { authConfig, type AuthConfig } from './auth.config';
import { IS_PUBLIC } from './public.decorator';
import { RateLimiter } from './rate-limiter';

export interface AuthenticatedRequest extends Request {
  user?: AuthenticatedUser;
}

/**
 * Clients send `Token <t>`; `Token<t>`, a bare `<t>` and `Bearer <t>` are also in the wild.
 * A token itself cannot start with a scheme name: its JSON payload makes it start with `ey`.
 */
const SCHEME = /^(?:token|bearer)\s*/i;

/**
 * Global: every route needs a token unless it is marked @Public(). With RATE_LIMIT_PER_SECOND,
 * each user also has a token bucket; a request that finds it empty gets 429 and `Retry-After`.
 */
@Injectable()
export class TokenGuard implements CanActivate {
  private readonly limiter: RateLimiter | undefined;
  private readonly body: JsonBodyReader;

  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessService,
    @Inject(authConfig.KEY) config: AuthConfig,
    private readonly metrics: MetricsService,
    @Inject(httpConfig.KEY) http: HttpConfig,
  ) {
    this.body = new JsonBodyReader(http.maxBodyBytes);
    this.limiter =
      config.rateLimitPerSecond > 0
        ? new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst)
        : undefined;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic === true) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization?.trim();
    const result =
      header === undefined || header === ''
        ? { ok: false as const, reason: 'missing Authorization header' }
        : this.access.authenticate(header.replace(SCHEME, ''));
    if (!result.ok) {
      http.getResponse<Response>().setHeader('WWW-Authenticate', 'Token');
      throw new UnauthorizedException(result.reason);
    }
    const retryAfterSeconds = this.limiter?.take(result.user.id) ?? 0;
    if (retryAfterSeconds > 0) {
      const limited = new RetryLaterException(
        'too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored',
        retryAfterSeconds,
        HttpStatus.TOO_MANY_REQUESTS,
      );
      // JsonBodyInterceptor reads bodies after the guards: this user is authenticated, so read
      // the body here only to count the events refused (an unreadable body counts none).
      if (request.body === undefined && request.method === 'POST' && hasBody(request)) {
        const response = http.getResponse<Response>();
        return this.body.read(request, response).then(
          () => this.refuse(request.body, limited),
          () => this.refuse(undefined, limited),
        );
      }
      return this.refuse(request.body, limited);
    }
    request.user = result.user;
    return true;
  }

  /** Counts the events (or points) of a rate-limited request, and throws its 429. */
  private refuse(body: unknown, limited: RetryLaterException): never {
    const refused = eventsIn(body);
    if (refused > 0)
      this.metrics.events.inc({ outcome: 'refused', reason: 'rate_limited' }, refused);
    throw limited;
  }
}

/** Whether a request has a body to read (as type-is's `hasBody` tells). */
function hasBody(request: Request): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined ||
    (length !== undefined && Number(length) > 0)
  );
}

/** Events (or points) a refused request carried, once its body is parsed. */
function eventsIn(body: unknown): number {
  if (Array.isArray(body)) return body.length;
  return typeof body === 'object' && body !== null ? 1 : 0;
}
