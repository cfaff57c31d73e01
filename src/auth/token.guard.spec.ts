import {
  ForbiddenException,
  HttpException,
  HttpStatus,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessService } from './access.service';
import { parseAuthConfig, type AuthConfig } from './auth.config';
import { Public } from './public.decorator';
import { makeToken } from './token-codec';
import { TokenGuard } from './token.guard';

// From docs/TOKENS.md, "Test vectors".
const DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';
const DEMO_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImJjODIxOCIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9NyjnVy3QkN9pa2H_DVe4OZLi5dydu1mB3clN2HezjI8y331ZflOHSOtgvw8JjnjlC4UFF8q1LCp0kHdj96ipDw==';
const EXAMPLE_SECRET = '0123456789abcdef'.repeat(8);
const EXAMPLE_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImExYjJjMyIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9eEgkqiIDYAVIqo67lGh8dh7svzMWBOgtZSCe_LepYOJaoIgWrEIBMGY096xo8JRioAwVhcMiRs0Ek2tLcLqqng==';
const REORDERED_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJpZGVudGl0eSI6ICJzdGF0c2JvYiIsICJzYWx0IjogImExYjJjMyJ95HOF4A4hyPBt7Op5FoxYvelPtQosohfSj081_oiMOTNHec25QPmlpLfUHcPnglFny5vNnPdxGhjjZETAsSRrOQ==';
const USER_ID = 'user_00ca4f6190b84f25827239233c4bcbaa';
const STATSBOB = { id: USER_ID, username: 'statsbob' };

// 2001-09-09: a real Unix time, long past.
const EXPIRED_TOKEN = makeToken('statsbob', EXAMPLE_SECRET, { expiresAt: 1e9 });
const UNLISTED_TOKEN = makeToken('statsbob', DEMO_SECRET);
/** statsbob's second token, by user id. */
const SECOND_TOKEN = makeToken(USER_ID, EXAMPLE_SECRET);
/** A user who may only write (scopes on the user), and a read-only token (scopes on the token). */
const WRITER = { id: 'user_writer', username: 'writer' };
const WRITER_TOKEN = makeToken('writer', EXAMPLE_SECRET);
const READER = { id: 'user_reader', username: 'reader' };
const READER_TOKEN = makeToken('reader', EXAMPLE_SECRET);

class EventsController {
  post(): void {}
}

@Public()
class HealthController {
  ping(): void {}
}

class MixedController {
  @Public()
  ping(): void {}

  post(): void {}
}

interface FakeRequest {
  method?: string;
  headers: Record<string, string | undefined>;
  body?: unknown;
  user?: unknown;
}

class FakeResponse {
  readonly headers = new Map<string, string>();

  setHeader(name: string, value: string): this {
    this.headers.set(name, value);
    return this;
  }
}

let dir: string;
let access: AccessService;
let guard: TokenGuard;

/** A guard over the test's access file, with the rate limit these variables configure. */
function guardWith(env: Record<string, string> = {}): TokenGuard {
  const config: AuthConfig = { ...parseAuthConfig(env), accessJsonPath: '' };
  return new TokenGuard(new Reflector(), access, config);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'token-guard-'));
  const accessJsonPath = join(dir, 'access.json');
  writeFileSync(
    accessJsonPath,
    JSON.stringify([
      {
        id: USER_ID,
        username: 'statsbob',
        tokens: [
          { access_token: DEMO_TOKEN, access_secret: DEMO_SECRET },
          { access_token: EXAMPLE_TOKEN, access_secret: DEMO_SECRET },
          { access_token: EXPIRED_TOKEN, access_secret: EXAMPLE_SECRET },
          { access_token: SECOND_TOKEN, access_secret: EXAMPLE_SECRET },
        ],
      },
      {
        id: 'user_alice',
        username: 'alice',
        tokens: [{ access_token: REORDERED_TOKEN, access_secret: EXAMPLE_SECRET }],
      },
      {
        ...WRITER,
        scopes: ['write'],
        tokens: [{ access_token: WRITER_TOKEN, access_secret: EXAMPLE_SECRET }],
      },
      {
        ...READER,
        tokens: [{ access_token: READER_TOKEN, access_secret: EXAMPLE_SECRET, scopes: ['read'] }],
      },
    ]),
  );
  access = new AccessService({ ...parseAuthConfig({}), accessJsonPath });
  guard = guardWith();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function attempt(
  authorization: string | undefined,
  controller: new () => object = EventsController,
  handler: () => void = EventsController.prototype.post,
  using: TokenGuard = guard,
  body?: unknown,
  method = 'POST',
) {
  const request: FakeRequest = {
    method,
    headers: authorization === undefined ? {} : { authorization },
    body,
  };
  const response = new FakeResponse();
  const context = new ExecutionContextHost([request, response], controller, handler);
  /** The guard's decision: without a body to read, it decides synchronously. */
  const run = (): boolean => {
    const result = using.canActivate(context);
    if (typeof result !== 'boolean') throw new Error('expected a synchronous decision');
    return result;
  };
  return { request, response, run };
}

function refusal(authorization: string | undefined) {
  const { request, response, run } = attempt(authorization);
  try {
    run();
  } catch (error) {
    if (!(error instanceof UnauthorizedException)) throw error;
    return { error, request, response, body: JSON.stringify(error.getResponse()) };
  }
  throw new Error('expected an UnauthorizedException');
}

describe(TokenGuard.name, () => {
  describe('accepts', () => {
    it.each([
      ['Token <t>', `Token ${DEMO_TOKEN}`],
      ['Token<t>', `Token${DEMO_TOKEN}`],
      ['a bare <t>', DEMO_TOKEN],
      ['Bearer <t>', `Bearer ${DEMO_TOKEN}`],
      ['a lower-case scheme', `token ${DEMO_TOKEN}`],
      ['an upper-case scheme', `BEARER ${DEMO_TOKEN}`],
      ['surrounding blanks', `  Token   ${DEMO_TOKEN} \t`],
      ['a token without padding', `Token ${DEMO_TOKEN.replace(/=+$/, '')}`],
    ])('%s and sets request.user', (_form, authorization) => {
      const { request, response, run } = attempt(authorization);
      expect(run()).toBe(true);
      expect(request.user).toEqual(STATSBOB);
      expect(response.headers.size).toBe(0);
    });
  });

  describe('public routes', () => {
    it('lets a @Public() controller through without a header', () => {
      const { request, run } = attempt(
        undefined,
        HealthController,
        HealthController.prototype.ping,
      );
      expect(run()).toBe(true);
      expect(request.user).toBeUndefined();
    });

    it('lets a @Public() handler through without a header', () => {
      const { run } = attempt(undefined, MixedController, MixedController.prototype.ping);
      expect(run()).toBe(true);
    });

    it('guards the other handlers of that controller', () => {
      const { run } = attempt(undefined, MixedController, MixedController.prototype.post);
      expect(run).toThrow(new UnauthorizedException('missing Authorization header'));
    });
  });

  describe('refuses', () => {
    it.each([
      ['no Authorization header', undefined, 'missing Authorization header'],
      ['an empty Authorization header', '', 'missing Authorization header'],
      ['a blank Authorization header', '   ', 'missing Authorization header'],
      ['a scheme without a token', 'Token ', 'malformed token'],
      ['garbage', 'Token not-a-token!', 'malformed token'],
      ['a token nobody lists', `Token ${UNLISTED_TOKEN}`, 'unknown token'],
      ['a token its secret did not sign', `Token ${EXAMPLE_TOKEN}`, 'bad signature'],
      [
        'a token listed for another user',
        `Token ${REORDERED_TOKEN}`,
        'token identity does not match its user',
      ],
      ['an expired token', `Token ${EXPIRED_TOKEN}`, 'token expired'],
    ])('%s with 401, WWW-Authenticate: Token and the reason', (_case, authorization, reason) => {
      const { error, request, response, body } = refusal(authorization);
      expect(error.getStatus()).toBe(401);
      expect(error.getResponse()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: reason,
      });
      expect(response.headers.get('WWW-Authenticate')).toBe('Token');
      expect(request.user).toBeUndefined();
      for (const token of [UNLISTED_TOKEN, EXAMPLE_TOKEN, REORDERED_TOKEN, EXPIRED_TOKEN]) {
        expect(body).not.toContain(token.slice(0, 20));
        expect(body).not.toContain(token.slice(-30));
      }
      expect(body).not.toContain('not-a-token');
    });
  });

  describe('scopes', () => {
    const as = (method: string, token: string, using: TokenGuard = guard) =>
      attempt(
        `Token ${token}`,
        EventsController,
        EventsController.prototype.post,
        using,
        undefined,
        method,
      );

    function forbidden(run: () => unknown): ForbiddenException {
      try {
        run();
      } catch (error) {
        if (error instanceof ForbiddenException) return error;
        throw error;
      }
      throw new Error('expected a ForbiddenException');
    }

    it.each([
      ['POST', 'write'],
      ['GET', 'read'],
      ['HEAD', 'read'],
    ])('lets a token without scopes %s (it needs "%s", and has both)', (method) => {
      expect(as(method, DEMO_TOKEN).run()).toBe(true);
    });

    it('lets a write-only user POST, and refuses its GET with 403 naming the scope', () => {
      expect(as('POST', WRITER_TOKEN).run()).toBe(true);

      const { request, run } = as('GET', WRITER_TOKEN);
      const error = forbidden(run);
      expect(error.getResponse()).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message:
          'this token may not read events back: it needs the scope "read", and its scopes in the access file are "write"',
        scope: 'read',
      });
      expect(request.user).toEqual(WRITER);
    });

    it('lets a read-only token GET and HEAD, and refuses its POST with 403 naming the scope', () => {
      expect(as('GET', READER_TOKEN).run()).toBe(true);
      expect(as('HEAD', READER_TOKEN).run()).toBe(true);

      const error = forbidden(as('POST', READER_TOKEN).run);
      expect(error.getStatus()).toBe(403);
      expect(error.getResponse()).toMatchObject({
        message:
          'this token may not write events: it needs the scope "write", and its scopes in the access file are "read"',
        scope: 'write',
      });
      expect(JSON.stringify(error.getResponse())).not.toContain(READER_TOKEN.slice(0, 20));
    });

    it('checks the scope before the rate limit: a 403 takes nothing of the bucket', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
      for (let i = 0; i < 3; i++) forbidden(as('POST', READER_TOKEN, limitedGuard).run);
      expect(as('GET', READER_TOKEN, limitedGuard).run()).toBe(true);
    });
  });

  describe('rate limit (RATE_LIMIT_PER_SECOND)', () => {
    const post = (using: TokenGuard, authorization = `Token ${DEMO_TOKEN}`, body?: unknown) =>
      attempt(authorization, EventsController, EventsController.prototype.post, using, body);

    /** The exception a request that finds its bucket empty is refused with. */
    function limited(run: () => unknown): HttpException {
      try {
        run();
      } catch (error) {
        if (error instanceof HttpException && error.getStatus() === 429) return error;
        throw error;
      }
      throw new Error('expected a 429');
    }

    it('is off by default', () => {
      for (let i = 0; i < 100; i++) expect(post(guard).run()).toBe(true);
    });

    it('lets the burst through, then refuses with 429, Retry-After and the user known', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' });
      expect(post(limitedGuard).run()).toBe(true);
      expect(post(limitedGuard).run()).toBe(true);

      const { request, response, run } = post(limitedGuard);
      const error = limited(run);

      expect(error.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
      expect(response.headers.get('Retry-After')).toBe('1');
      expect(error.getResponse()).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored',
        retryAfter: 1,
      });
      // Known, so that the metrics count the refusal for its user.
      expect(request.user).toEqual(STATSBOB);
    });

    it('shares one bucket between the tokens of a user', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
      expect(post(limitedGuard, `Token ${DEMO_TOKEN}`).run()).toBe(true);

      expect(limited(post(limitedGuard, `Token ${SECOND_TOKEN}`).run).getStatus()).toBe(429);
    });
    it('refuses a bad token with 401 before looking at the bucket', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
      post(limitedGuard).run();

      expect(post(limitedGuard, `Token ${UNLISTED_TOKEN}`).run).toThrow(
        new UnauthorizedException('unknown token'),
      );
    });

    it('does not limit @Public() routes', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
      for (let i = 0; i < 5; i++) {
        const { run } = attempt(
          `Token ${DEMO_TOKEN}`,
          HealthController,
          HealthController.prototype.ping,
          limitedGuard,
        );
        expect(run()).toBe(true);
      }
    });

    it.each([
      ['a Content-Length', { 'content-length': '12' }],
      ['chunked encoding', { 'transfer-encoding': 'chunked' }],
    ])('refuses a POST with a body (%s) at once, before anything reads it', (_case, headers) => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
      post(limitedGuard).run();
      const { request, response, run } = post(limitedGuard);
      Object.assign(request.headers, headers);

      // Thrown synchronously: no promise, so no body reader had a turn.
      expect(limited(run).getStatus()).toBe(429);
      expect(request.body).toBeUndefined();
      expect(response.headers.get('Retry-After')).toBe('1');
    });
  });
});
