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
import { RetryLaterException, type RefusedAfterBody } from '../http/retry-later.exception';
import { AccessService, type AuthenticatedUser } from './access.service';
import { authConfig, type AuthConfig } from './auth.config';
import { IS_PUBLIC } from './public.decorator';
import { RateLimiter } from './rate-limiter';

export interface AuthenticatedRequest extends Request, RefusedAfterBody {
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
 * The guard knows tokens, not bodies: a refused POST with a body is marked (RefusedAfterBody)
 * and refused by the body reader once the body is read, so that the events layer can count the
 * events it carried (RateLimitedEventsFilter).
 */
@Injectable()
export class TokenGuard implements CanActivate {
  private readonly limiter: RateLimiter | undefined;

  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessService,
    @Inject(authConfig.KEY) config: AuthConfig,
  ) {
    this.limiter =
      config.rateLimitPerSecond > 0
        ? new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst)
        : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
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
      if (request.method === 'POST' && hasBody(request)) {
        request.refuseAfterBody = limited;
        return true;
      }
      throw limited;
    }
    request.user = result.user;
    return true;
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
