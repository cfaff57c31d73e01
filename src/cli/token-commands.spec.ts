import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAccessFile, type AccessUser } from '../auth/access-file';
import { decodeToken, encodeToken, makeToken } from '../auth/token-codec';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseDuration, type CliIo } from './cli-io';
import { runCli, USAGE } from './token-commands';
import { issueToken, newSecret, newUserId, verifyToken } from './tokens';

// Every constant below is copied from the token test vectors of docs/TOKENS.md, not computed by the code under test.
const DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';
const DEMO_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImJjODIxOCIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9NyjnVy3QkN9pa2H_DVe4OZLi5dydu1mB3clN2HezjI8y331ZflOHSOtgvw8JjnjlC4UFF8q1LCp0kHdj96ipDw==';
const DEMO_ID = 'user_00ca4f6190b84f25827239233c4bcbaa';
const EXAMPLE_SECRET = '0123456789abcdef'.repeat(8);
const EXAMPLE_KEY_HEX =
  '4f14385ffc53ada7f167ece8b2f9330469aed2b3e2066d5cf7e6cbf00d7c95c43848dadb00e4dbc478bc10e77de9ad55614e4b63d5b7cac03603848cb0f2e6fa';
const EXAMPLE_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImExYjJjMyIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9eEgkqiIDYAVIqo67lGh8dh7svzMWBOgtZSCe_LepYOJaoIgWrEIBMGY096xo8JRioAwVhcMiRs0Ek2tLcLqqng==';

const NOW_MS = Date.UTC(2026, 0, 1);
const NOW_S = NOW_MS / 1000;

const DEMO_USERS: AccessUser[] = [
  {
    id: DEMO_ID,
    username: 'statsbob',
    tokens: [{ accessToken: DEMO_TOKEN, accessSecret: DEMO_SECRET }],
  },
];

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function run(argv: string[], stdin = ''): Run {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readStdin: () => stdin,
    now: () => NOW_MS,
  };
  const status = runCli(argv, io);
  return { status, stdout, stderr };
}

/** The token's payload as the exact JSON text it carries. */
function payloadText(token: string): string {
  const decoded = decodeToken(token);
  if (!decoded.ok) throw new Error(`not a token: ${decoded.reason}`);
  return decoded.payloadBytes.toString('utf8');
}

/** Signs the token's own payload bytes with the contract's key: equal only if the signature is. */
function resignedWithExampleKey(token: string): string {
  return encodeToken(payloadText(token), Buffer.from(EXAMPLE_KEY_HEX, 'hex'));
}

function userWith(token: string, secret: string, username = 'statsbob'): AccessUser[] {
  return [{ id: 'user_1', username, tokens: [{ accessToken: token, accessSecret: secret }] }];
}

describe('token commands', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stats-cli-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the contract vectors', () => {
    it('makeToken with the worked example salt is the worked example token', () => {
      expect(makeToken('statsbob', EXAMPLE_SECRET, { salt: 'a1b2c3' })).toBe(EXAMPLE_TOKEN);
    });

    it('verify accepts the demo pair and the worked example', () => {
      expect(verifyToken(DEMO_USERS, DEMO_TOKEN, NOW_MS)).toEqual({
        ok: true,
        user: { id: DEMO_USERS[0]!.id, username: DEMO_USERS[0]!.username },
        scopes: new Set(['read', 'write']),
        expires: 10,
      });
      expect(verifyToken(userWith(EXAMPLE_TOKEN, EXAMPLE_SECRET), EXAMPLE_TOKEN, NOW_MS)).toEqual(
        expect.objectContaining({ ok: true }),
      );
    });
  });

  describe(newSecret.name, () => {
    it('is 128 lowercase hex characters, new each time', () => {
      const secret = newSecret();
      expect(secret).toMatch(/^[0-9a-f]{128}$/);
      expect(newSecret()).not.toBe(secret);
    });
  });

  describe(newUserId.name, () => {
    it('is user_ and 32 lowercase hex characters', () => {
      expect(newUserId()).toMatch(/^user_[0-9a-f]{32}$/);
    });
  });

  describe(parseDuration.name, () => {
    it.each([
      ['90d', 90 * 86_400],
      ['12h', 12 * 3_600],
      ['30m', 1_800],
      ['3600s', 3_600],
    ])('%s is %i seconds', (text, seconds) => {
      expect(parseDuration(text)).toBe(seconds);
    });

    it.each(['', '0d', '90', 'd', '1.5h', '-1d', '90D', '1w', ' 1d', '1234567890s'])(
      'refuses %j',
      (text) => {
        expect(() => parseDuration(text)).toThrow(/--expires-in/);
      },
    );
  });

  describe(issueToken.name, () => {
    it('without an expiry writes the legacy payload, in the original key order', () => {
      const token = issueToken('statsbob', EXAMPLE_SECRET, undefined, NOW_MS);
      expect(payloadText(token)).toMatch(
        /^\{"expires": 10, "salt": "[0-9a-f]{6}", "identity": "statsbob"\}$/,
      );
      expect(resignedWithExampleKey(token)).toBe(token);
    });

    it('with an expiry writes now + duration in Unix seconds', () => {
      const token = issueToken('statsbob', EXAMPLE_SECRET, 90 * 86_400, NOW_MS + 999);
      expect(payloadText(token)).toMatch(
        new RegExp(`^\\{"expires": ${NOW_S + 90 * 86_400}, "salt": "[0-9a-f]{6}", `),
      );
      expect(resignedWithExampleKey(token)).toBe(token);
    });
  });

  describe(verifyToken.name, () => {
    const secret = EXAMPLE_SECRET;

    it.each([
      ['a malformed token', 'not a token!', /^not a token \(not base64url\)$/],
      ['an unlisted token', makeToken('statsbob', secret), /^not listed in the file$/],
    ])('refuses %s', (_what, token, reason) => {
      expect(verifyToken(userWith(EXAMPLE_TOKEN, secret), token, NOW_MS)).toEqual({
        ok: false,
        reason: expect.stringMatching(reason) as string,
      });
    });

    it('refuses a token listed beside a secret it was not signed with', () => {
      expect(verifyToken(userWith(EXAMPLE_TOKEN, DEMO_SECRET), EXAMPLE_TOKEN, NOW_MS)).toEqual({
        ok: false,
        reason: expect.stringMatching(/^bad signature/) as string,
      });
    });

    it('refuses a token whose identity is another user', () => {
      expect(verifyToken(userWith(EXAMPLE_TOKEN, secret, 'alice'), EXAMPLE_TOKEN, NOW_MS)).toEqual({
        ok: false,
        reason: expect.stringMatching(/identity/) as string,
      });
    });

    it('accepts the user id as identity', () => {
      const token = makeToken('user_1', secret);
      expect(verifyToken(userWith(token, secret), token, NOW_MS)).toMatchObject({ ok: true });
    });

    it('refuses an expired token and says when it expired', () => {
      const token = makeToken('statsbob', secret, { expiresAt: NOW_S });
      expect(verifyToken(userWith(token, secret), token, NOW_MS)).toEqual({
        ok: false,
        reason: 'expired at 2026-01-01T00:00:00.000Z',
      });
    });

    it('accepts a token until its expiry', () => {
      const token = makeToken('statsbob', secret, { expiresAt: NOW_S + 1 });
      expect(verifyToken(userWith(token, secret), token, NOW_MS)).toMatchObject({
        ok: true,
        expires: NOW_S + 1,
      });
    });

    it('accepts a token without its padding', () => {
      const unpadded = EXAMPLE_TOKEN.replace(/=+$/, '');
      expect(unpadded).toHaveLength(EXAMPLE_TOKEN.length - 2);
      expect(verifyToken(userWith(EXAMPLE_TOKEN, secret), unpadded, NOW_MS)).toMatchObject({
        ok: true,
      });
    });
  });

  describe(runCli.name, () => {
    describe('usage', () => {
      it('no command prints the usage on stderr and exits 2', () => {
        expect(run([])).toEqual({ status: EXIT_USAGE, stdout: '', stderr: USAGE });
      });

      it.each([[['--help']], [['-h']], [['help']], [['token', '--help']], [['verify', '-h']]])(
        '%j prints the usage on stdout and exits 0',
        (argv) => {
          expect(run(argv)).toEqual({ status: 0, stdout: USAGE, stderr: '' });
        },
      );

      it.each([
        [['frob'], 'unknown command: frob'],
        [[DEMO_SECRET], 'unknown command: (not shown)'],
        [['secret', 'extra'], 'too many arguments'],
        [['secret', '--secrt=x'], "Unknown option '--secrt'"],
        [['token', 'bob'], 'token needs --secret'],
        [['token', '--secret', DEMO_SECRET], 'missing <identity>'],
        [['token', 'bob', DEMO_SECRET], 'too many arguments'],
        [['token', ' bob', '--secret', DEMO_SECRET], '<identity> must be'],
        [['token', 'bob', '--secret', DEMO_SECRET.slice(1)], '--secret must be 128 hexadecimal'],
        [['token', 'bob', '--secret', DEMO_SECRET, '--expires-in', '1y'], '--expires-in must'],
        [['add-user', 'bob'], 'add-user needs --file'],
        [['verify', DEMO_TOKEN], 'verify needs --file'],
        [['verify', '--file', 'access.json'], 'verify needs a token'],
      ])('%j exits 2 and says why, without secrets', (argv, message) => {
        const result = run(argv);
        expect(result.status).toBe(EXIT_USAGE);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(`stats-service-token: ${message}`);
        expect(result.stderr).toContain(USAGE);
        expect(result.stderr).not.toContain(DEMO_SECRET.slice(1, 40));
        expect(result.stderr).not.toContain(DEMO_TOKEN.slice(0, 40));
      });
    });

    it('secret prints one new secret', () => {
      const result = run(['secret']);
      expect(result).toEqual({ status: EXIT_OK, stdout: expect.any(String) as string, stderr: '' });
      expect(result.stdout).toMatch(/^[0-9a-f]{128}\n$/);
    });

    it('token prints a token signed with the secret, read from stdin for "-"', () => {
      for (const result of [
        run(['token', 'statsbob', '--secret', EXAMPLE_SECRET]),
        run(['token', 'statsbob', '--secret', '-'], `${EXAMPLE_SECRET}\n`),
      ]) {
        expect(result.status).toBe(EXIT_OK);
        expect(result.stderr).toBe('');
        const token = result.stdout.trimEnd();
        expect(result.stdout).toBe(`${token}\n`);
        expect(payloadText(token)).toMatch(/^\{"expires": 10, .*"identity": "statsbob"\}$/);
        expect(resignedWithExampleKey(token)).toBe(token);
      }
    });

    it('token --expires-in sets the expiry', () => {
      const result = run(['token', 'statsbob', '--secret', EXAMPLE_SECRET, '--expires-in', '12h']);
      expect(result.status).toBe(EXIT_OK);
      expect(payloadText(result.stdout.trimEnd())).toContain(`"expires": ${NOW_S + 12 * 3600}, `);
    });

    describe('add-user', () => {
      it('creates a missing file, readable by loadAccessFile, with the token it prints', () => {
        const file = join(dir, 'access.json');
        const result = run(['add-user', 'alice', '--file', file, '--name', 'Alice']);
        expect(result.status).toBe(EXIT_OK);
        expect(result.stderr).toMatch(
          /^stats-service-token: added alice \(user_[0-9a-f]{32}\) to /,
        );
        const token = result.stdout.trimEnd();
        const users = loadAccessFile(file);
        expect(users).toEqual([
          {
            id: expect.stringMatching(/^user_[0-9a-f]{32}$/) as string,
            username: 'alice',
            name: 'Alice',
            tokens: [
              {
                accessToken: token,
                accessSecret: expect.stringMatching(/^[0-9a-f]{128}$/) as string,
              },
            ],
          },
        ]);
        expect(verifyToken(users, token, NOW_MS)).toMatchObject({ ok: true });
        expect(result.stderr).not.toContain(users[0]!.tokens[0]!.accessSecret);
      });

      it('--json prints username, id, token and secret, as written to the file', () => {
        const file = join(dir, 'access.json');
        const result = run(['add-user', 'alice', '--file', file, '--json']);
        expect(result.status).toBe(EXIT_OK);
        const printed = JSON.parse(result.stdout) as Record<string, string>;
        expect(Object.keys(printed)).toEqual(['username', 'id', 'access_token', 'access_secret']);
        expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([
          {
            id: printed.id,
            username: 'alice',
            tokens: [{ access_token: printed.access_token, access_secret: printed.access_secret }],
          },
        ]);
      });

      it('--expires-in gives the token an expiry', () => {
        const file = join(dir, 'access.json');
        const result = run(['add-user', 'alice', '--file', file, '--expires-in', '30m']);
        expect(payloadText(result.stdout.trimEnd())).toContain(`"expires": ${NOW_S + 1800}, `);
      });

      it('keeps the users already there, and adds to the demo file', () => {
        const file = join(dir, 'access.json');
        const demo = [
          {
            id: DEMO_ID,
            username: 'statsbob',
            name: null,
            note: 'kept',
            tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
          },
        ];
        writeFileSync(file, JSON.stringify(demo));
        expect(run(['add-user', 'alice', '--file', file]).status).toBe(EXIT_OK);
        const written = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
        expect(written).toHaveLength(2);
        expect(written[0]).toEqual(demo[0]);
        expect(loadAccessFile(file).map((user) => user.username)).toEqual(['statsbob', 'alice']);
      });

      it.each(['statsbob', DEMO_ID])(
        'refuses %s, already a username or id, and leaves the file as it was',
        (username) => {
          const file = join(dir, 'access.json');
          const before = JSON.stringify([
            {
              id: DEMO_ID,
              username: 'statsbob',
              tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
            },
          ]);
          writeFileSync(file, before);
          const result = run(['add-user', username, '--file', file]);
          expect(result).toEqual({
            status: EXIT_FAILED,
            stdout: '',
            stderr: `stats-service-token: ${file}: user ${username} already exists\n`,
          });
          expect(readFileSync(file, 'utf8')).toBe(before);
        },
      );

      it.each([
        ['{"users": []}', 'must be a JSON array of users'],
        [
          `[{"id": "u", "username": "x", "tokens": [{"access_token": "${DEMO_SECRET}"}]}]`,
          '[0].tokens[0].access_secret must be a non-empty string',
        ],
        [`{"secret": "${DEMO_SECRET}"`, 'is not valid JSON'],
      ])('refuses a broken file %#, naming it, without its content', (content, problem) => {
        const file = join(dir, 'access.json');
        writeFileSync(file, content);
        const result = run(['add-user', 'alice', '--file', file]);
        expect(result.status).toBe(EXIT_FAILED);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(`stats-service-token: ${file}: ${problem}`);
        expect(result.stderr).not.toContain(DEMO_SECRET.slice(0, 40));
        expect(readFileSync(file, 'utf8')).toBe(content);
      });
    });

    describe('add-user --scopes and a new folder', () => {
      it('makes the folder of a new file, owner-only, as for secrets/access.json', () => {
        const file = join(dir, 'secrets', 'nested', 'access.json');
        const result = run(['add-user', 'alice', '--file', file]);
        expect(result.status).toBe(EXIT_OK);
        expect(loadAccessFile(file)).toHaveLength(1);
        expect(statSync(join(dir, 'secrets', 'nested')).mode & 0o777).toBe(0o700);
        expect(statSync(file).mode & 0o777).toBe(0o600);
      });

      it('gives the token the scopes asked for', () => {
        const file = join(dir, 'access.json');
        const token = run(['add-user', 'alice', '--file', file, '--scopes', 'write']).stdout.trim();
        expect(loadAccessFile(file)[0]!.tokens[0]).toMatchObject({
          accessToken: token,
          scopes: ['write'],
        });
        expect(run(['verify', '--file', file, token]).stdout).toMatch(/, may write\n$/);
      });

      it.each(['admin', 'write,', 'read;write'])('refuses --scopes %s with the usage', (scopes) => {
        const file = join(dir, 'access.json');
        const result = run(['add-user', 'alice', '--file', file, '--scopes', scopes]);
        expect(result.status).toBe(EXIT_USAGE);
        expect(result.stderr).toMatch(
          /^stats-service-token: --scopes must be "write", "read" or "read,write"\n/,
        );
        expect(() => statSync(file)).toThrow(/ENOENT/);
      });
    });

    describe('add-token, revoke and rotate', () => {
      /** A file with alice (one token, write-only) and statsbob (the demo pair); alice's token. */
      function twoUsers(): { file: string; alice: string } {
        const file = join(dir, 'access.json');
        writeFileSync(
          file,
          JSON.stringify([
            {
              id: DEMO_ID,
              username: 'statsbob',
              tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
            },
          ]),
        );
        const alice = run(['add-user', 'alice', '--file', file, '--scopes', 'write']).stdout.trim();
        return { file, alice };
      }

      const tokensOf = (file: string, username: string) =>
        loadAccessFile(file).find((user) => user.username === username)!.tokens;

      it('add-token adds a token with a secret of its own; the old one keeps working', () => {
        const { file, alice } = twoUsers();
        const result = run(['add-token', 'alice', '--file', file, '--scopes', 'read,write']);
        expect(result.status).toBe(EXIT_OK);
        const added = result.stdout.trim();
        expect(result.stderr).toMatch(
          /^stats-service-token: added a token to alice \(user_[0-9a-f]{32}\) in .*; it has 2 now\n$/,
        );
        const [old, fresh] = tokensOf(file, 'alice');
        expect(old!.accessToken).toBe(alice);
        expect(fresh).toMatchObject({ accessToken: added, scopes: ['read', 'write'] });
        expect(fresh!.accessSecret).not.toBe(old!.accessSecret);
        const users = loadAccessFile(file);
        expect(verifyToken(users, alice, NOW_MS)).toMatchObject({ ok: true });
        expect(verifyToken(users, added, NOW_MS)).toMatchObject({ ok: true });
        expect(result.stderr).not.toContain(fresh!.accessSecret);
      });

      it('add-token finds the user by id too, and refuses an unknown one', () => {
        const { file } = twoUsers();
        expect(run(['add-token', DEMO_ID, '--file', file]).status).toBe(EXIT_OK);
        expect(tokensOf(file, 'statsbob')).toHaveLength(2);
        expect(run(['add-token', 'nobody', '--file', file])).toEqual({
          status: EXIT_FAILED,
          stdout: '',
          stderr: `stats-service-token: ${file}: no user nobody\n`,
        });
      });

      it('revoke removes the token (given on stdin, without its padding) and nothing else', () => {
        const { file, alice } = twoUsers();
        const result = run(['revoke', '--file', file, '-'], `${DEMO_TOKEN.replace(/=+$/, '')}\n`);
        expect(result).toEqual({
          status: EXIT_OK,
          stdout: '',
          stderr: `stats-service-token: revoked a token of statsbob (${DEMO_ID}) in ${file}; 0 left: the user can no longer post or read\n`,
        });
        const users = loadAccessFile(file);
        expect(verifyToken(users, DEMO_TOKEN, NOW_MS)).toEqual({
          ok: false,
          reason: 'not listed in the file',
        });
        expect(verifyToken(users, alice, NOW_MS)).toMatchObject({ ok: true });
      });

      it('revoke refuses a token that is not listed, without echoing it, and writes nothing', () => {
        const { file } = twoUsers();
        const before = readFileSync(file, 'utf8');
        const stranger = makeToken('statsbob', EXAMPLE_SECRET);
        const result = run(['revoke', '--file', file, stranger]);
        expect(result).toEqual({
          status: EXIT_FAILED,
          stdout: '',
          stderr: `stats-service-token: ${file}: that token is not listed\n`,
        });
        expect(readFileSync(file, 'utf8')).toBe(before);
      });

      it('rotate replaces every token of the user with one new one, keeping their scopes', () => {
        const { file, alice } = twoUsers();
        run(['add-token', 'alice', '--file', file, '--scopes', 'write']);
        const result = run(['rotate', 'alice', '--file', file, '--json']);
        expect(result.status).toBe(EXIT_OK);
        expect(result.stderr).toMatch(/: 2 old token\(s\) removed, 1 new\n$/);
        const printed = JSON.parse(result.stdout) as Record<string, string>;
        expect(tokensOf(file, 'alice')).toEqual([
          {
            accessToken: printed.access_token,
            accessSecret: printed.access_secret,
            scopes: ['write'],
          },
        ]);
        expect(verifyToken(loadAccessFile(file), alice, NOW_MS)).toMatchObject({ ok: false });
        expect(tokensOf(file, 'statsbob')).toHaveLength(1);
      });

      it('rotate asks for --scopes when the old tokens differ in scopes, and writes nothing', () => {
        const { file } = twoUsers();
        run(['add-token', 'alice', '--file', file, '--scopes', 'read']);
        const before = readFileSync(file, 'utf8');
        const refused = run(['rotate', 'alice', '--file', file]);
        expect(refused.status).toBe(EXIT_USAGE);
        expect(refused.stderr).toMatch(
          /^stats-service-token: the tokens of alice have different scopes; say which the new one gets with --scopes\n/,
        );
        expect(readFileSync(file, 'utf8')).toBe(before);

        expect(run(['rotate', 'alice', '--file', file, '--scopes', 'read']).status).toBe(EXIT_OK);
        expect(tokensOf(file, 'alice')).toEqual([expect.objectContaining({ scopes: ['read'] })]);
      });
    });

    describe('verify', () => {
      function demoFile(): string {
        const file = join(dir, 'access.json');
        writeFileSync(
          file,
          JSON.stringify([
            {
              id: DEMO_ID,
              username: 'statsbob',
              tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
            },
          ]),
        );
        return file;
      }

      it('exits 0 for the demo token, given as an argument or on stdin', () => {
        const file = demoFile();
        const expected = {
          status: EXIT_OK,
          stdout: `valid: statsbob (${DEMO_ID}), expires never, may read, write\n`,
          stderr: '',
        };
        expect(run(['verify', '--file', file, DEMO_TOKEN])).toEqual(expected);
        expect(run(['verify', '--file', file, '-'], `${DEMO_TOKEN}\n`)).toEqual(expected);
      });

      it('exits 1 and says why, without the token or the secret', () => {
        const file = demoFile();
        const forged = makeToken('statsbob', EXAMPLE_SECRET);
        const result = run(['verify', '--file', file, forged]);
        expect(result).toEqual({
          status: EXIT_FAILED,
          stdout: '',
          stderr: 'stats-service-token: invalid token: not listed in the file\n',
        });
      });

      it('exits 1 when the file cannot be used, naming it', () => {
        const file = join(dir, 'missing.json');
        expect(run(['verify', '--file', file, DEMO_TOKEN])).toEqual({
          status: EXIT_FAILED,
          stdout: '',
          stderr: `stats-service-token: ${file}: file not found\n`,
        });
      });
    });
  });
});
