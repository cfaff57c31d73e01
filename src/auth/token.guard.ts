import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AccessService, type AuthenticatedUser } from './access.service';
import { IS_PUBLIC } from './public.decorator';

export interface AuthenticatedRequest extends Request {
  user?: AuthenticatedUser;
}

/**
 * Clients send `Token <t>`; `Token<t>`, a bare `<t>` and `Bearer <t>` are also in the wild.
 * A token itself cannot start with a scheme name: its JSON payload makes it start with `ey`.
 */
const SCHEME = /^(?:token|bearer)\s*/i;

/** Global: every route needs a token unless it is marked @Public(). */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessService,
  ) {}

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
    request.user = result.user;
    return true;
  }
}
