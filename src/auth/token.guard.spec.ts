import { HttpStatus, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RetryLaterException } from '../http/retry-later.exception';
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
) {
  const request: FakeRequest = {
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

  describe('rate limit (RATE_LIMIT_PER_SECOND)', () => {
    const post = (using: TokenGuard, authorization = `Token ${DEMO_TOKEN}`, body?: unknown) =>
      attempt(authorization, EventsController, EventsController.prototype.post, using, body);

    /** The exception a request that finds its bucket empty is refused with. */
    function limited(run: () => unknown): RetryLaterException {
      try {
        run();
      } catch (error) {
        if (error instanceof RetryLaterException) return error;
        throw error;
      }
      throw new Error('expected a RetryLaterException');
    }

    it('is off by default', () => {
      for (let i = 0; i < 100; i++) expect(post(guard).run()).toBe(true);
    });

    it('lets the burst through, then refuses with 429 and the seconds to wait', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' });
      expect(post(limitedGuard).run()).toBe(true);
      expect(post(limitedGuard).run()).toBe(true);

      const { request, run } = post(limitedGuard);
      const error = limited(run);

      expect(error.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
      expect(error.retryAfterSeconds).toBe(1);
      expect(error.getResponse()).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored',
        retryAfter: 1,
      });
      expect(request.user).toBeUndefined();
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

    /** A POST whose body is still unread, as the guard sees it (the body reader runs after). */
    function unread(headers: Record<string, string>) {
      const request: FakeRequest & { method: string; refuseAfterBody?: RetryLaterException } = {
        method: 'POST',
        headers: { authorization: `Token ${DEMO_TOKEN}`, ...headers },
        body: undefined,
      };
      const context = new ExecutionContextHost(
        [request, new FakeResponse()],
        EventsController,
        EventsController.prototype.post,
      );
      return { request, context };
    }

    it.each([
      ['a Content-Length', { 'content-length': '12' }],
      ['chunked encoding', { 'transfer-encoding': 'chunked' }],
    ])(
      'lets a refused POST with a body (%s) on to the body reader, marked with its 429',
      (_case, headers) => {
        const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
        expect(limitedGuard.canActivate(unread(headers).context)).toBe(true);

        const { request, context } = unread(headers);
        expect(limitedGuard.canActivate(context)).toBe(true);

        expect(request.refuseAfterBody?.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
        expect(request.refuseAfterBody?.retryAfterSeconds).toBe(1);
        expect(request).not.toHaveProperty('user');
      },
    );

    it('refuses a POST without a body at once', () => {
      const limitedGuard = guardWith({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
      limitedGuard.canActivate(unread({ 'content-length': '0' }).context);

      expect(limited(() => limitedGuard.canActivate(unread({}).context)).getStatus()).toBe(429);
    });
  });
});
