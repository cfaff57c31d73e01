import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../env';
import { AccessService } from './access.service';
import type { AuthConfig } from './auth.config';
import { MetricsService } from '../metrics/metrics.service';
import * as codec from './token-codec';

// From docs/TOKENS.md, "Test vectors".
const DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';
const DEMO_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImJjODIxOCIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9NyjnVy3QkN9pa2H_DVe4OZLi5dydu1mB3clN2HezjI8y331ZflOHSOtgvw8JjnjlC4UFF8q1LCp0kHdj96ipDw==';
const EXAMPLE_SECRET = '0123456789abcdef'.repeat(8);
const EXAMPLE_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImExYjJjMyIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9eEgkqiIDYAVIqo67lGh8dh7svzMWBOgtZSCe_LepYOJaoIgWrEIBMGY096xo8JRioAwVhcMiRs0Ek2tLcLqqng==';
const USER_ID = 'user_00ca4f6190b84f25827239233c4bcbaa';
const STATSBOB = { id: USER_ID, username: 'statsbob' };
/** What a token without `scopes` of its own or of its user may do: both, as in the original. */
const BOTH = new Set(['read', 'write']);
const DEMO_REFUSAL =
  'the public demo access secret is configured (ACCESS_JSON or STATS_ACCESS_SECRET) and NODE_ENV is production; replace it';

const NOW = 1_750_000_000;

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'access-service-'));
  jest.useFakeTimers({ now: NOW * 1000 });
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

interface Listed {
  id?: string;
  username?: string;
  tokens: [token: string, secret: string][];
}

function accessJson(users: Listed[]): string {
  const path = join(dir, 'access.json');
  writeFileSync(
    path,
    JSON.stringify(
      users.map(({ id = USER_ID, username = 'statsbob', tokens }) => ({
        id,
        username,
        tokens: tokens.map(([access_token, access_secret]) => ({ access_token, access_secret })),
      })),
    ),
  );
  return path;
}

function config(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    accessJsonPath: join(dir, 'missing.json'),
    envToken: undefined,
    envSecret: undefined,
    production: false,
    rateLimitPerSecond: 0,
    rateLimitBurst: 0,
    ...overrides,
  };
}

function serviceFor(users: Listed[], production = false): AccessService {
  return new AccessService(config({ accessJsonPath: accessJson(users), production }));
}

/** A token with a payload makeToken will not write, e.g. a legacy `expires` value. */
function tokenWithPayload(payloadJson: string, secret: string): string {
  return codec.encodeToken(payloadJson, codec.signingKey(secret));
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(AccessService.name, () => {
  describe('start-up', () => {
    it('counts the users of the access file', () => {
      const service = serviceFor([
        { tokens: [[DEMO_TOKEN, DEMO_SECRET]] },
        { id: 'user_2', username: 'other', tokens: [] },
      ]);
      expect(service.userCount).toBe(2);
    });

    it('stops on a bad access file with its ConfigError', () => {
      const path = join(dir, 'missing.json');
      expect(configErrorOf(() => new AccessService(config())).message).toBe(
        `${path}: file not found`,
      );
    });

    it('uses the environment user instead of the file when STATS_ACCESS_TOKEN is set', () => {
      const service = new AccessService(config({ envToken: DEMO_TOKEN, envSecret: DEMO_SECRET }));
      expect(service.userCount).toBe(1);
      expect(service.authenticate(DEMO_TOKEN)).toEqual({
        ok: true,
        user: { id: 'statsbob', username: 'statsbob' },
        scopes: BOTH,
      });
    });

    it('refuses the demo secret from the access file in production', () => {
      expect(
        configErrorOf(() => serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }], true)).message,
      ).toBe(DEMO_REFUSAL);
    });

    it('refuses the demo secret in any token of any user in production', () => {
      const users: Listed[] = [
        { tokens: [[EXAMPLE_TOKEN, EXAMPLE_SECRET]] },
        { id: 'user_2', username: 'other', tokens: [[DEMO_TOKEN, DEMO_SECRET]] },
      ];
      expect(configErrorOf(() => serviceFor(users, true)).message).toBe(DEMO_REFUSAL);
    });

    it('refuses the demo secret from the environment in production', () => {
      const demo = config({ envToken: DEMO_TOKEN, envSecret: DEMO_SECRET, production: true });
      expect(configErrorOf(() => new AccessService(demo)).message).toBe(DEMO_REFUSAL);
    });

    it('allows the demo secret outside production', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      expect(service.authenticate(DEMO_TOKEN).ok).toBe(true);
    });

    it('starts in production with other secrets', () => {
      const service = serviceFor([{ tokens: [[EXAMPLE_TOKEN, EXAMPLE_SECRET]] }], true);
      expect(service.authenticate(EXAMPLE_TOKEN)).toEqual({
        ok: true,
        user: STATSBOB,
        scopes: BOTH,
      });
    });
  });

  describe('authenticate', () => {
    it('accepts the demo token for its user', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      expect(service.authenticate(DEMO_TOKEN)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
    });

    it('accepts a listed token sent without its padding', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      expect(service.authenticate(DEMO_TOKEN.replace(/=+$/, ''))).toEqual({
        ok: true,
        user: STATSBOB,
        scopes: BOTH,
      });
    });

    it('accepts a token whose identity is the user id', () => {
      const token = codec.makeToken(USER_ID, EXAMPLE_SECRET);
      const service = serviceFor([{ tokens: [[token, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
    });

    it('tells the users of several tokens apart', () => {
      const alice = codec.makeToken('alice', EXAMPLE_SECRET);
      const service = serviceFor([
        { tokens: [[DEMO_TOKEN, DEMO_SECRET]] },
        { id: 'user_alice', username: 'alice', tokens: [[alice, EXAMPLE_SECRET]] },
      ]);
      expect(service.authenticate(alice)).toEqual({
        ok: true,
        user: { id: 'user_alice', username: 'alice' },
        scopes: BOTH,
      });
      expect(service.authenticate(DEMO_TOKEN)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
    });

    it.each([
      ['empty', ''],
      ['garbage', 'Token abc!'],
      ['a truncated token', DEMO_TOKEN.slice(0, 80)],
    ])('says %s is a malformed token', (_case, token) => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: false, reason: 'malformed token' });
    });

    it('refuses a correctly signed token that is not listed', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      const unlisted = codec.makeToken('statsbob', DEMO_SECRET);
      expect(service.authenticate(unlisted)).toEqual({ ok: false, reason: 'unknown token' });
    });

    it('refuses a listed token whose bytes were tampered with', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      const tampered = `${DEMO_TOKEN.slice(0, 100)}${DEMO_TOKEN[100] === 'A' ? 'B' : 'A'}${DEMO_TOKEN.slice(101)}`;
      expect(service.authenticate(tampered)).toEqual({ ok: false, reason: 'unknown token' });
    });

    it('refuses a listed token that its listed secret did not sign', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(DEMO_TOKEN)).toEqual({ ok: false, reason: 'bad signature' });
    });

    it('refuses a token listed for a user it does not name', () => {
      const service = serviceFor([
        { id: 'user_alice', username: 'alice', tokens: [[EXAMPLE_TOKEN, EXAMPLE_SECRET]] },
      ]);
      expect(service.authenticate(EXAMPLE_TOKEN)).toEqual({
        ok: false,
        reason: 'token identity does not match its user',
      });
    });

    it.each([5, 0])('refuses a legacy expires of %p as expired', (expires) => {
      const token = tokenWithPayload(
        `{"expires": ${expires}, "salt": "a1b2c3", "identity": "statsbob"}`,
        EXAMPLE_SECRET,
      );
      const service = serviceFor([{ tokens: [[token, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: false, reason: 'token expired' });
    });

    it('accepts the largest legacy expires as never expiring', () => {
      const token = tokenWithPayload(
        '{"expires": 999999999, "salt": "a1b2c3", "identity": "statsbob"}',
        EXAMPLE_SECRET,
      );
      const service = serviceFor([{ tokens: [[token, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
    });

    it('refuses a token past its Unix time expiry', () => {
      const token = codec.makeToken('statsbob', EXAMPLE_SECRET, { expiresAt: NOW - 1 });
      const service = serviceFor([{ tokens: [[token, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: false, reason: 'token expired' });
    });

    it('accepts a token before its Unix time expiry', () => {
      const token = codec.makeToken('statsbob', EXAMPLE_SECRET, { expiresAt: NOW + 60 });
      const service = serviceFor([{ tokens: [[token, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
    });
  });

  describe('verification cache', () => {
    it('checks the signature of a token once', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      const verify = jest.spyOn(codec, 'signatureMatches');
      for (let i = 0; i < 3; i += 1) {
        expect(service.authenticate(DEMO_TOKEN)).toEqual({
          ok: true,
          user: STATSBOB,
          scopes: BOTH,
        });
      }
      expect(verify).toHaveBeenCalledTimes(1);
    });

    it('does not remember failures', () => {
      const service = serviceFor([{ tokens: [[DEMO_TOKEN, EXAMPLE_SECRET]] }]);
      const verify = jest.spyOn(codec, 'signatureMatches');
      service.authenticate(DEMO_TOKEN);
      expect(service.authenticate(DEMO_TOKEN)).toEqual({ ok: false, reason: 'bad signature' });
      expect(verify).toHaveBeenCalledTimes(2);
    });

    it('still enforces a real expiry once the token is remembered', () => {
      const token = codec.makeToken('statsbob', EXAMPLE_SECRET, { expiresAt: NOW + 60 });
      const service = serviceFor([{ tokens: [[token, EXAMPLE_SECRET]] }]);
      expect(service.authenticate(token)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
      jest.setSystemTime((NOW + 60) * 1000);
      expect(service.authenticate(token)).toEqual({ ok: false, reason: 'token expired' });
    });

    it('forgets the oldest token after 10,000 others', () => {
      const tokens = Array.from({ length: 10_001 }, (_, i) =>
        codec.makeToken('statsbob', EXAMPLE_SECRET, { salt: i.toString(16) }),
      );
      const service = serviceFor([
        { tokens: tokens.map((token): [string, string] => [token, EXAMPLE_SECRET]) },
      ]);
      const [first, ...others] = tokens;
      if (first === undefined) throw new Error('no tokens');
      service.authenticate(first);
      others.slice(0, -1).forEach((token) => service.authenticate(token));
      const verify = jest.spyOn(codec, 'signatureMatches');
      service.authenticate(first);
      expect(verify).toHaveBeenCalledTimes(0);

      service.authenticate(others[others.length - 1] ?? '');
      expect(service.authenticate(first)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
      expect(verify).toHaveBeenCalledTimes(2);
    });
  });

  describe('scopes', () => {
    it("answers a token's own scopes, or its user's", () => {
      const path = join(dir, 'access.json');
      const writer = codec.makeToken('statsbob', EXAMPLE_SECRET);
      const reader = codec.makeToken(USER_ID, EXAMPLE_SECRET);
      writeFileSync(
        path,
        JSON.stringify([
          {
            ...STATSBOB,
            scopes: ['write', 'read'],
            tokens: [
              { access_token: writer, access_secret: EXAMPLE_SECRET, scopes: ['write'] },
              { access_token: reader, access_secret: EXAMPLE_SECRET },
            ],
          },
        ]),
      );
      const service = new AccessService(config({ accessJsonPath: path }));
      expect(service.authenticate(writer)).toEqual({
        ok: true,
        user: STATSBOB,
        scopes: new Set(['write']),
      });
      expect(service.authenticate(reader)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
    });
  });

  describe('reload', () => {
    const NEW_TOKEN = codec.makeToken('statsbob', EXAMPLE_SECRET);

    /** The service over a file it re-reads, with the lines it logs and what it counts. */
    function reloading(users: Listed[], production = false) {
      const path = accessJson(users);
      const metrics = new MetricsService();
      const service = new AccessService(config({ accessJsonPath: path, production }), metrics);
      const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const logs = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const reloads = async () => (await metrics.render()).body;
      return { path, service, errors, logs, reloads };
    }

    it('puts a new token in force and refuses a removed one at once', async () => {
      const { service, logs, reloads, path } = reloading([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      expect(service.authenticate(DEMO_TOKEN).ok).toBe(true);
      accessJson([{ tokens: [[NEW_TOKEN, EXAMPLE_SECRET]] }]);

      expect(service.reload('SIGHUP')).toBe(true);

      expect(service.authenticate(NEW_TOKEN)).toEqual({ ok: true, user: STATSBOB, scopes: BOTH });
      // Remembered as verified before: the cache goes with the old set.
      expect(service.authenticate(DEMO_TOKEN)).toEqual({ ok: false, reason: 'unknown token' });
      expect(logs).toHaveBeenCalledWith(`${path} re-read on SIGHUP: 1 user(s), 1 token(s)`);
      expect(await reloads()).toContain('stats_access_reloads_total{outcome="loaded"} 1');
    });

    it('keeps the last good set when the new file is broken, logging the file and the entry', async () => {
      const { service, errors, reloads, path } = reloading([
        { tokens: [[DEMO_TOKEN, DEMO_SECRET]] },
      ]);
      writeFileSync(
        path,
        JSON.stringify([
          { ...STATSBOB, tokens: [{ access_token: NEW_TOKEN, access_secret: 'not-hex' }] },
        ]),
      );

      expect(service.reload('a change of the file')).toBe(false);

      expect(service.authenticate(DEMO_TOKEN).ok).toBe(true);
      expect(service.authenticate(NEW_TOKEN)).toEqual({ ok: false, reason: 'unknown token' });
      expect(errors).toHaveBeenCalledTimes(1);
      const line = String(errors.mock.calls[0]?.[0]);
      expect(line).toBe(
        `${path}: [0].tokens[0].access_secret must be 128 hexadecimal characters ` +
          '(re-read on a change of the file); still using the previous 1 user(s), 1 token(s)',
      );
      for (const secret of [NEW_TOKEN, DEMO_TOKEN, DEMO_SECRET]) {
        expect(line).not.toContain(secret.slice(0, 16));
      }
      expect(await reloads()).toContain('stats_access_reloads_total{outcome="failed"} 1');
    });

    it('keeps the last good set when the file is gone', () => {
      const { service, errors, path } = reloading([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      rmSync(path);

      expect(service.reload('SIGHUP')).toBe(false);

      expect(service.authenticate(DEMO_TOKEN).ok).toBe(true);
      expect(String(errors.mock.calls[0]?.[0])).toMatch(/: file not found \(re-read on SIGHUP\)/);
    });

    it('refuses a new file with the demo secret in production, as at start-up', () => {
      const token = codec.makeToken('statsbob', EXAMPLE_SECRET);
      const { service, errors } = reloading([{ tokens: [[token, EXAMPLE_SECRET]] }], true);
      accessJson([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);

      expect(service.reload('SIGHUP')).toBe(false);

      expect(service.authenticate(DEMO_TOKEN).ok).toBe(false);
      expect(String(errors.mock.calls[0]?.[0])).toContain(DEMO_REFUSAL);
    });

    it('has no file to re-read for the environment user', () => {
      const service = new AccessService(config({ envToken: DEMO_TOKEN, envSecret: DEMO_SECRET }));
      expect(service.reload('SIGHUP')).toBe(false);
      expect(service.authenticate(DEMO_TOKEN).ok).toBe(true);
    });

    it('listens for SIGHUP from bootstrap to shutdown', () => {
      const { service } = reloading([{ tokens: [[DEMO_TOKEN, DEMO_SECRET]] }]);
      const before = process.listenerCount('SIGHUP');
      service.onApplicationBootstrap();
      try {
        expect(process.listenerCount('SIGHUP')).toBe(before + 1);
        accessJson([{ tokens: [[NEW_TOKEN, EXAMPLE_SECRET]] }]);
        process.listeners('SIGHUP').at(-1)?.('SIGHUP');
        expect(service.authenticate(NEW_TOKEN).ok).toBe(true);
      } finally {
        service.onApplicationShutdown();
      }
      expect(process.listenerCount('SIGHUP')).toBe(before);
    });
  });
});
