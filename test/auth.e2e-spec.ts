/**
 * Token authentication end to end (README "The API", docs/TOKENS.md): every header form clients send, every way a
 * token can be refused (401 + `WWW-Authenticate: Token` + JSON, nothing stored), the
 * STATS_ACCESS_TOKEN/STATS_ACCESS_SECRET user, and the routes that need no token.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeToken, makeToken, signingKey } from '../src/auth/token-codec';
import { dropDatabase, httpRequest, influxQuery } from './support/influxd';
import {
  AUTH,
  DEMO_SECRET,
  DEMO_TOKEN,
  get,
  post,
  startService,
  type RunningService,
} from './support/service';
import { unique } from './support/ids';

const DEMO_USER_ID = 'user_00ca4f6190b84f25827239233c4bcbaa';

type Reply = Awaited<ReturnType<typeof post>>;

function newSecret(): string {
  return randomBytes(64).toString('hex');
}

/** The token with one base64url character of its signature part changed. */
function tamperSignature(token: string): string {
  // The last 64 decoded bytes are the signature: 20 characters before the padding are inside it.
  const at = token.replace(/=+$/, '').length - 20;
  const flipped = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + flipped + token.slice(at + 1);
}

function unauthorized(message: string) {
  return { statusCode: 401, error: 'Unauthorized', message };
}

/** Asserts the contract's refusal: 401, `WWW-Authenticate: Token`, a JSON body, no token echoed. */
function expectRefused(reply: Reply, message: string, token?: string): void {
  expect({
    status: reply.status,
    wwwAuthenticate: reply.headers.get('www-authenticate'),
    contentType: reply.headers.get('content-type'),
    body: reply.body,
  }).toEqual({
    status: 401,
    wwwAuthenticate: 'Token',
    contentType: expect.stringMatching(/^application\/json/) as unknown,
    body: unauthorized(message),
  });
  if (token !== undefined) {
    const text = JSON.stringify(reply.body);
    expect(text).not.toContain(token.replace(/=+$/, ''));
    expect(text).not.toContain(token.slice(0, 40));
  }
}

describe('token authentication', () => {
  let dir: string;
  let svc: RunningService;
  let storedId: string;

  const alice = { id: unique('user_alice'), username: 'alice' };
  const bob = { id: unique('user_bob'), username: 'bob' };
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  /** Well formed and validly signed, for a known identity, but with a secret no file lists. */
  const unlisted = makeToken('statsbob', newSecret());
  const tokens = {
    aliceByUsername: { token: '', secret: newSecret() },
    aliceById: { token: '', secret: newSecret() },
    aliceFuture: { token: '', secret: newSecret() },
    aliceExpired: { token: '', secret: newSecret() },
    aliceLegacyExpired: { token: '', secret: newSecret() },
    aliceBadlySigned: { token: '', secret: newSecret() },
    /** A token for alice, listed under bob. */
    aliceUnderBob: { token: '', secret: newSecret() },
  };

  /** event_id of the rows of the service's events that carry this marker. */
  const storedWithMarker = (marker: string) =>
    influxQuery(
      svc.influxUrl,
      svc.database,
      `SELECT "event_id" FROM "analytics" WHERE "marker" = '${marker}'`,
    );

  beforeAll(async () => {
    tokens.aliceByUsername.token = makeToken('alice', tokens.aliceByUsername.secret);
    tokens.aliceById.token = makeToken(alice.id, tokens.aliceById.secret);
    tokens.aliceFuture.token = makeToken('alice', tokens.aliceFuture.secret, {
      expiresAt: nowSeconds() + 3600,
    });
    tokens.aliceExpired.token = makeToken('alice', tokens.aliceExpired.secret, {
      expiresAt: nowSeconds() - 3600,
    });
    // The legacy scheme: `expires` below 1e9 is compared with a fixed "now" of 5.
    tokens.aliceLegacyExpired.token = encodeToken(
      '{"expires": 5, "salt": "0a0b0c", "identity": "alice"}',
      signingKey(tokens.aliceLegacyExpired.secret),
    );
    tokens.aliceBadlySigned.token = tamperSignature(
      makeToken('alice', tokens.aliceBadlySigned.secret),
    );
    tokens.aliceUnderBob.token = makeToken('alice', tokens.aliceUnderBob.secret);

    const listed = (...entries: Array<{ token: string; secret: string }>) =>
      entries.map(({ token, secret }) => ({ access_token: token, access_secret: secret }));
    const users = [
      {
        id: DEMO_USER_ID,
        username: 'statsbob',
        name: 'Stats User',
        tokens: listed({ token: DEMO_TOKEN, secret: DEMO_SECRET }),
      },
      {
        ...alice,
        tokens: listed(
          tokens.aliceByUsername,
          tokens.aliceById,
          tokens.aliceFuture,
          tokens.aliceExpired,
          tokens.aliceLegacyExpired,
          tokens.aliceBadlySigned,
        ),
      },
      { ...bob, tokens: listed(tokens.aliceUnderBob) },
    ];
    dir = await mkdtemp(join(tmpdir(), 'auth-e2e-'));
    const accessJson = join(dir, 'access.json');
    await writeFile(accessJson, JSON.stringify(users, null, 2));
    svc = await startService({ ACCESS_JSON: accessJson });

    const seeded = await post(`${svc.url}/log/event`, {
      event: 'auth_seed',
      uid: 'u1',
      marker: unique('seed'),
    });
    expect(seeded.status).toBe(200);
    storedId = seeded.body as string;
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('accepted Authorization header forms', () => {
    const forms: Array<[string, (token: string) => string]> = [
      ['Token <t>', (t) => `Token ${t}`],
      ['Token<t>', (t) => `Token${t}`],
      ['bare <t>', (t) => t],
      ['Bearer <t>', (t) => `Bearer ${t}`],
    ];

    it.each(forms)('POST /log/event with "%s" stores the event', async (_form, header) => {
      const marker = unique('form');
      const reply = await post(
        `${svc.url}/log/event`,
        { event: 'auth_form', uid: 'u1', marker },
        { Authorization: header(DEMO_TOKEN) },
      );

      expect(reply.status).toBe(200);
      expect(reply.body).toMatch(/^entry_[0-9a-f]{32}$/);
      await expect(storedWithMarker(marker)).resolves.toEqual([
        { time: expect.any(String) as unknown, event_id: reply.body },
      ]);
    });

    it.each(forms)('GET /log/event/{id} with "%s" reads the event', async (_form, header) => {
      const reply = await get(`${svc.url}/log/event/${storedId}`, {
        Authorization: header(DEMO_TOKEN),
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ event_id: storedId, event: 'auth_seed', uid: 'u1' });
    });
  });

  describe('accepted tokens', () => {
    const cases: Array<[string, () => string]> = [
      ['whose identity is the username', () => tokens.aliceByUsername.token],
      ['whose identity is the user id', () => tokens.aliceById.token],
      ['whose real expiry is in the future', () => tokens.aliceFuture.token],
      ['sent without its = padding', () => DEMO_TOKEN.replace(/=+$/, '')],
    ];

    it.each(cases)('a token %s is accepted', async (_name, token) => {
      const marker = unique('ok');
      const reply = await post(
        `${svc.url}/log/event`,
        { event: 'auth_ok', uid: 'u1', marker },
        { Authorization: `Token ${token()}` },
      );

      expect(reply.status).toBe(200);
      await expect(storedWithMarker(marker)).resolves.toEqual([
        { time: expect.any(String) as unknown, event_id: reply.body },
      ]);
    });
  });

  describe('refused with 401, WWW-Authenticate: Token and a JSON body', () => {
    /** [case, headers, message, token that must not be echoed] */
    const cases: Array<[string, () => Record<string, string>, string, () => string | undefined]> = [
      ['no Authorization header', () => ({}), 'missing Authorization header', () => undefined],
      [
        'an empty Authorization header',
        () => ({ Authorization: '' }),
        'missing Authorization header',
        () => undefined,
      ],
      [
        'a scheme without a token',
        () => ({ Authorization: 'Token ' }),
        'malformed token',
        () => undefined,
      ],
      [
        'a token that is not base64url',
        () => ({ Authorization: 'Token not*a*token' }),
        'malformed token',
        () => 'not*a*token',
      ],
      [
        'Basic credentials',
        () => ({ Authorization: `Basic ${Buffer.from('bob:hunter2').toString('base64')}` }),
        'malformed token',
        () => Buffer.from('bob:hunter2').toString('base64'),
      ],
      [
        'a truncated token',
        () => ({ Authorization: `Token ${DEMO_TOKEN.slice(0, 60)}` }),
        'malformed token',
        () => DEMO_TOKEN.slice(0, 60),
      ],
      [
        'a tampered signature (one character flipped)',
        () => ({ Authorization: `Token ${tamperSignature(DEMO_TOKEN)}` }),
        'unknown token',
        () => tamperSignature(DEMO_TOKEN),
      ],
      [
        'a listed token whose signature does not match its secret',
        () => ({ Authorization: `Token ${tokens.aliceBadlySigned.token}` }),
        'bad signature',
        () => tokens.aliceBadlySigned.token,
      ],
      [
        'a valid token signed with a secret nobody lists',
        () => ({ Authorization: `Token ${unlisted}` }),
        'unknown token',
        () => unlisted,
      ],
      [
        'a token whose real expiry has passed',
        () => ({ Authorization: `Token ${tokens.aliceExpired.token}` }),
        'token expired',
        () => tokens.aliceExpired.token,
      ],
      [
        'a legacy token with expires 5',
        () => ({ Authorization: `Token ${tokens.aliceLegacyExpired.token}` }),
        'token expired',
        () => tokens.aliceLegacyExpired.token,
      ],
      [
        "another user's identity (alice's token listed under bob)",
        () => ({ Authorization: `Token ${tokens.aliceUnderBob.token}` }),
        'token identity does not match its user',
        () => tokens.aliceUnderBob.token,
      ],
    ];

    it.each(cases)(
      'POST /log/event with %s: nothing is stored',
      async (_name, headers, message, token) => {
        const marker = unique('refused');
        const reply = await post(
          `${svc.url}/log/event`,
          { event: 'auth_refused', uid: 'u1', marker },
          headers(),
        );

        expectRefused(reply, message, token());
        await expect(storedWithMarker(marker)).resolves.toEqual([]);
      },
    );

    it.each(cases)('GET /log/event/{id} with %s', async (_name, headers, message, token) => {
      const reply = await get(`${svc.url}/log/event/${storedId}`, headers());

      expectRefused(reply, message, token());
      expect(JSON.stringify(reply.body)).not.toContain(storedId);
    });

    it('refuses a token once its real expiry passes, though it was accepted before', async () => {
      const secret = newSecret();
      const expiresAt = nowSeconds() + 2;
      const token = makeToken('carol', secret, { expiresAt });
      const file = join(dir, 'short-lived.json');
      await writeFile(
        file,
        JSON.stringify([
          {
            id: 'user_carol',
            username: 'carol',
            tokens: [{ access_token: token, access_secret: secret }],
          },
        ]),
      );
      const own = await startService({ ACCESS_JSON: file });
      try {
        const headers = { Authorization: `Token ${token}` };
        const before = await post(`${own.url}/log/event`, { event: 'e', uid: 'u' }, headers);
        expect(before.status).toBe(200);

        await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 200));
        const after = await post(`${own.url}/log/event`, { event: 'e', uid: 'u' }, headers);
        expectRefused(after, 'token expired', token);
      } finally {
        await own.close();
        await dropDatabase(own.influxUrl, own.database);
      }
    });

    it('keeps refusing an expired token that is sent again', async () => {
      const headers = { Authorization: `Token ${tokens.aliceExpired.token}` };
      const first = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u' }, headers);
      const second = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u' }, headers);

      expectRefused(first, 'token expired');
      expectRefused(second, 'token expired');
    });
  });

  describe('routes that need no token', () => {
    it.each(['/', '/ping', '/ready'])('GET %s answers 200 without a token', async (path) => {
      const reply = await get(`${svc.url}${path}`, {});

      expect(reply.status).toBe(200);
      expect(reply.headers.get('www-authenticate')).toBeNull();
    });

    it('an unknown route gets 404 with a JSON body', async () => {
      const reply = await get(`${svc.url}/no/such/route`, {});

      expect(reply.status).toBe(404);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'Cannot GET /no/such/route',
      });
    });

    it.each(['PUT', 'DELETE', 'PATCH'])(
      '%s /ping gets 404 or 405 with a JSON body, never HTML',
      async (method) => {
        const response = await fetch(`${svc.url}/ping`, { method });
        const text = await response.text();

        expect([404, 405]).toContain(response.status);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(text).not.toMatch(/<html|<!DOCTYPE/i);
        expect(JSON.parse(text)).toEqual({
          statusCode: response.status,
          error: response.status === 404 ? 'Not Found' : 'Method Not Allowed',
          message: expect.any(String) as unknown,
        });
      },
    );

    it('PUT /log/event with a valid token gets 404 or 405 JSON, and stores nothing', async () => {
      const marker = unique('put');
      const response = await fetch(`${svc.url}/log/event`, {
        method: 'PUT',
        headers: { Authorization: `Token ${DEMO_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'put', uid: 'u', marker }),
      });
      const text = await response.text();

      expect([404, 405]).toContain(response.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(text).not.toMatch(/<html|<!DOCTYPE/i);
      await expect(storedWithMarker(marker)).resolves.toEqual([]);
    });
  });
});

describe('one user from STATS_ACCESS_TOKEN and STATS_ACCESS_SECRET', () => {
  const secret = newSecret();
  const token = makeToken('envuser', secret);
  let svc: RunningService;

  beforeAll(async () => {
    // No access file at all: the environment alone defines the user.
    svc = await startService({
      ACCESS_JSON: join(tmpdir(), unique('no-such-access'), 'access.json'),
      STATS_ACCESS_TOKEN: token,
      STATS_ACCESS_SECRET: secret,
    });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('accepts that token and stores the event', async () => {
    const marker = unique('env');
    const reply = await post(
      `${svc.url}/log/event`,
      { event: 'auth_env', uid: 'u1', marker },
      { Authorization: `Token ${token}` },
    );

    expect(reply.status).toBe(200);
    await expect(
      influxQuery(
        svc.influxUrl,
        svc.database,
        `SELECT "event_id" FROM "analytics" WHERE "marker" = '${marker}'`,
      ),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, event_id: reply.body }]);
    const read = await get(`${svc.url}/log/event/${reply.body as string}`, {
      Authorization: `Token ${token}`,
    });
    expect(read).toMatchObject({ status: 200, body: { marker, event: 'auth_env' } });
  });

  it('refuses the demo token, which only access.json would list', async () => {
    const reply = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u' });

    expectRefused(reply, 'unknown token', DEMO_TOKEN);
  });

  it('refuses the same identity signed with another secret', async () => {
    const other = makeToken('envuser', newSecret());
    const reply = await post(
      `${svc.url}/log/event`,
      { event: 'e', uid: 'u' },
      { Authorization: `Token ${other}` },
    );

    expectRefused(reply, 'unknown token', other);
  });
});

describe('the token is checked before the body is read', () => {
  const MAX_BODY_BYTES = 4096;
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService({ MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  const unsupportedMediaType = (message: string) => ({
    statusCode: 415,
    error: 'Unsupported Media Type',
    message,
  });
  const tooLarge = {
    statusCode: 413,
    error: 'Payload Too Large',
    message: `the body is larger than ${MAX_BODY_BYTES} bytes (MAX_BODY_BYTES), after decompression`,
  };

  /** [case, body, extra headers, the answer with a valid token] */
  const bodies: Array<[string, () => string | Buffer, Record<string, string>, number, unknown]> = [
    [
      'an invalid JSON body',
      () => '{"event": "e", "uid": ',
      {},
      400,
      {
        statusCode: 400,
        error: 'Bad Request',
        message: 'the body is not valid JSON',
        key: '',
        rule: 'the body is not valid JSON',
      },
    ],
    [
      'a body over MAX_BODY_BYTES',
      () => JSON.stringify({ event: 'e', uid: 'u', pad: 'x'.repeat(1024 * 1024) }),
      {},
      413,
      tooLarge,
    ],
    [
      'a gzip bomb',
      () => gzipSync(JSON.stringify({ event: 'e', uid: 'u', pad: 'x'.repeat(20_000_000) })),
      { 'Content-Encoding': 'gzip' },
      413,
      tooLarge,
    ],
    [
      'an unsupported Content-Encoding',
      () => JSON.stringify({ event: 'e', uid: 'u' }),
      { 'Content-Encoding': 'compress' },
      415,
      unsupportedMediaType('Content-Encoding must be gzip, deflate, br or identity'),
    ],
  ];

  /** [case, Authorization headers, the 401's reason] */
  const refused: Array<[string, Record<string, string>, string]> = [
    ['without a token', {}, 'missing Authorization header'],
    ['with a malformed token', { Authorization: 'Token not*a*token' }, 'malformed token'],
    [
      'with an unknown token',
      { Authorization: `Token ${makeToken('statsbob', newSecret())}` },
      'unknown token',
    ],
  ];
  const paths = ['/log/event', '/log/events'];

  const cases = paths.flatMap((path) =>
    bodies.flatMap(([name, body, headers]) =>
      refused.map(
        ([how, auth, reason]) => [path, name, how, body, { ...headers, ...auth }, reason] as const,
      ),
    ),
  );

  it.each(cases)(
    'POST %s with %s %s gets 401, not the body refusal',
    async (path, _name, _how, body, headers, reason) => {
      const reply = await httpRequest('POST', `${svc.url}${path}`, body(), {
        'Content-Type': 'application/json',
        ...headers,
      });

      expect({
        status: reply.status,
        wwwAuthenticate: reply.headers['www-authenticate'],
        contentType: reply.headers['content-type'],
        body: JSON.parse(reply.body) as unknown,
      }).toEqual({
        status: 401,
        wwwAuthenticate: 'Token',
        contentType: expect.stringMatching(/^application\/json/) as unknown,
        body: unauthorized(reason),
      });
    },
  );

  const authorized = paths.flatMap((path) =>
    bodies.map(
      ([name, body, headers, status, answer]) =>
        [path, name, body, headers, status, answer] as const,
    ),
  );

  it.each(authorized)(
    'POST %s with %s and a valid token still gets the body refusal',
    async (path, _name, body, headers, status, answer) => {
      const reply = await httpRequest('POST', `${svc.url}${path}`, body(), {
        'Content-Type': 'application/json',
        ...AUTH,
        ...headers,
      });

      expect(reply.status).toBe(status);
      expect(reply.headers['www-authenticate']).toBeUndefined();
      expect(JSON.parse(reply.body)).toEqual(answer);
    },
  );
});
