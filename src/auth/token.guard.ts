import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Scope } from './access-file';
import { AccessService, type AuthenticatedUser } from './access.service';
import { authConfig, type AuthConfig } from './auth.config';
import { IS_PUBLIC } from './public.decorator';
import { RateLimiter } from './rate-limiter';

export interface AuthenticatedRequest extends Request {
  /** Set once the token is verified, also when the request is then refused (403, 429). */
  user?: AuthenticatedUser;
}

/**
 * Clients send `Token <t>`; `Token<t>`, a bare `<t>` and `Bearer <t>` are also in the wild.
 * A token itself cannot start with a scheme name: its JSON payload makes it start with `ey`.
 */
const SCHEME = /^(?:token|bearer)\s*/i;

/** What a request needs of its token: reading an event back, or writing (every other method). */
export function scopeNeeded(method: string): Scope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/**
 * Global: every route needs a token unless it is marked @Public(). The token must be listed in
 * the access file (401 otherwise) and carry the scope the request needs (403, naming it). With
 * RATE_LIMIT_PER_SECOND each user also has a token bucket; a request that finds it empty gets
 * 429 and `Retry-After` at once, its body unread. The guard knows tokens, not bodies.
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
    const response = http.getResponse<Response>();
    const header = request.headers.authorization?.trim();
    const result =
      header === undefined || header === ''
        ? { ok: false as const, reason: 'missing Authorization header' }
        : this.access.authenticate(header.replace(SCHEME, ''));
    if (!result.ok) {
      response.setHeader('WWW-Authenticate', 'Token');
      throw new UnauthorizedException(result.reason);
    }
    // Known from here on, so that a refusal below is counted for its user (the metrics).
    request.user = result.user;

    const scope = scopeNeeded(request.method);
    if (!result.scopes.has(scope)) throw outOfScope(scope, result.scopes);

    const retryAfterSeconds = this.limiter?.take(result.user.id) ?? 0;
    if (retryAfterSeconds > 0) {
      // Nest's exceptions carry no headers: set here, as WWW-Authenticate above.
      response.setHeader('Retry-After', String(retryAfterSeconds));
      throw new HttpException(
        {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: 'Too Many Requests',
          message: 'too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored',
          retryAfter: retryAfterSeconds,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    return true;
  }
}

function outOfScope(scope: Scope, granted: ReadonlySet<Scope>): ForbiddenException {
  const what = scope === 'read' ? 'read events back' : 'write events';
  const list = [...granted].map((s) => `"${s}"`).join(', ');
  return new ForbiddenException({
    statusCode: HttpStatus.FORBIDDEN,
    error: 'Forbidden',
    message: `this token may not ${what}: it needs the scope "${scope}", and its scopes in the access file are ${list}`,
    scope,
  });
}
