/**
 * The built `stats-service-token`, run as npx runs it (the package's bin, executed itself, after
 * a rebuild): every command's exit status, stdout and stderr, tokens checked against the token
 * test vectors of docs/TOKENS.md, and a user made with add-user posting to the real service.
 * Needs `npm run build` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAccessFile } from '../src/auth/access-file';
import { decodeToken, encodeToken, makeToken } from '../src/auth/token-codec';
import { dropDatabase } from './support/influxd';
import { DEMO_SECRET, DEMO_TOKEN, get, post, REPO, startService } from './support/service';

const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};
const BIN = join(REPO, PACKAGE.bin['stats-service-token'] ?? 'missing');

// From docs/TOKENS.md, "Test vectors".
const DEMO_ID = 'user_00ca4f6190b84f25827239233c4bcbaa';
const EXAMPLE_SECRET = '0123456789abcdef'.repeat(8);
const EXAMPLE_KEY_HEX =
  '4f14385ffc53ada7f167ece8b2f9330469aed2b3e2066d5cf7e6cbf00d7c95c43848dadb00e4dbc478bc10e77de9ad55614e4b63d5b7cac03603848cb0f2e6fa';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bin itself (its run bit and shebang, as npx does) with only PATH from the environment. */
function cli(args: string[], input = '', cwd = REPO): Result {
  const result = spawnSync(BIN, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    input,
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function payloadText(token: string): string {
  const decoded = decodeToken(token);
  if (!decoded.ok) throw new Error(`not a token: ${decoded.reason}`);
  return decoded.payloadBytes.toString('utf8');
}

/** The token signed again with the contract's key over its own payload: equal iff it verifies. */
function resignedWithExampleKey(token: string): string {
  return encodeToken(payloadText(token), Buffer.from(EXAMPLE_KEY_HEX, 'hex'));
}

describe('stats-service-token (built)', () => {
  let dir: string;

  beforeAll(() => {
    expect(statSync(BIN).isFile()).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'stats-cli-e2e-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the bin of package.json: a node script committed with its run bit', () => {
    expect(PACKAGE.bin).toEqual({ 'stats-service-token': 'bin/stats-service-token.js' });
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    // What a fresh clone gets: git keeps the mode, and no build rewrites this file.
    const [mode] = execFileSync('git', ['ls-files', '--stage', 'bin/stats-service-token.js'], {
      cwd: REPO,
      encoding: 'utf8',
    }).split(' ');
    expect(mode).toBe('100755');
    expect(statSync(BIN).mode & 0o111).toBe(0o111);
  });

  describe('usage', () => {
    it('no command prints the usage on stderr and exits 2', () => {
      const result = cli([]);
      expect(result).toEqual({ status: 2, stdout: '', stderr: expect.any(String) as string });
      expect(result.stderr).toMatch(/^usage: stats-service-token <command> \[options\]\n/);
    });

    it.each([[['--help']], [['-h']], [['add-user', '--help']]])(
      '%j prints the usage on stdout and exits 0',
      (args) => {
        const result = cli(args);
        expect(result).toEqual({ status: 0, stdout: expect.any(String) as string, stderr: '' });
        expect(result.stdout).toMatch(/^usage: stats-service-token <command> \[options\]\n/);
      },
    );

    it('an unknown command exits 2 with the usage', () => {
      const result = cli(['rename']);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^stats-service-token: unknown command: rename\n\nusage: /);
    });

    it('a secret in the wrong place is not echoed', () => {
      const result = cli(['token', 'statsbob', DEMO_SECRET]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('too many arguments');
      expect(result.stderr).not.toContain(DEMO_SECRET.slice(0, 16));
    });
  });

  it('secret prints a new 128-hex secret', () => {
    const first = cli(['secret']);
    expect(first).toEqual({ status: 0, stdout: expect.any(String) as string, stderr: '' });
    expect(first.stdout).toMatch(/^[0-9a-f]{128}\n$/);
    expect(cli(['secret']).stdout).not.toBe(first.stdout);
  });

  describe('token', () => {
    it('prints a never-expiring token that verifies with the contract key', () => {
      const result = cli(['token', 'statsbob', '--secret', EXAMPLE_SECRET]);
      expect(result).toEqual({ status: 0, stdout: expect.any(String) as string, stderr: '' });
      const token = result.stdout.trimEnd();
      expect(payloadText(token)).toMatch(
        /^\{"expires": 10, "salt": "[0-9a-f]{6}", "identity": "statsbob"\}$/,
      );
      expect(resignedWithExampleKey(token)).toBe(token);
    });

    it('--expires-in 90d sets expires to now + 90 days, in Unix seconds', () => {
      const before = Math.floor(Date.now() / 1000);
      const result = cli(
        ['token', 'statsbob', '--secret', '-', '--expires-in', '90d'],
        EXAMPLE_SECRET,
      );
      const after = Math.floor(Date.now() / 1000);
      expect(result.status).toBe(0);
      const token = result.stdout.trimEnd();
      const expires = Number(/"expires": (\d+),/.exec(payloadText(token))?.[1]);
      expect(expires).toBeGreaterThanOrEqual(before + 90 * 86_400);
      expect(expires).toBeLessThanOrEqual(after + 90 * 86_400);
      expect(resignedWithExampleKey(token)).toBe(token);
    });

    it('refuses a secret that is not 128 hex characters, without echoing it', () => {
      const bad = `${EXAMPLE_SECRET.slice(0, 127)}g`;
      const result = cli(['token', 'statsbob', '--secret', bad]);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('--secret must be 128 hexadecimal characters');
      expect(result.stderr).not.toContain(bad.slice(0, 16));
    });
  });

  describe('verify', () => {
    it("accepts the demo pair of the repository's access.json", () => {
      expect(cli(['verify', '--file', 'access.json', DEMO_TOKEN])).toEqual({
        status: 0,
        stdout: `valid: statsbob (${DEMO_ID}), expires never, may read, write\n`,
        stderr: '',
      });
    });

    it('refuses an expired token, saying when, without the token or the secret', () => {
      const file = join(dir, 'expired.json');
      const token = makeToken('statsbob', EXAMPLE_SECRET, { expiresAt: 1e9 });
      writeFileSync(
        file,
        JSON.stringify([
          {
            id: 'user_1',
            username: 'statsbob',
            tokens: [{ access_token: token, access_secret: EXAMPLE_SECRET }],
          },
        ]),
      );
      const result = cli(['verify', '--file', file, '-'], token);
      expect(result).toEqual({
        status: 1,
        stdout: '',
        stderr: 'stats-service-token: invalid token: expired at 2001-09-09T01:46:40.000Z\n',
      });
    });

    it('refuses a token that the file does not list', () => {
      const unlisted = makeToken('statsbob', DEMO_SECRET);
      expect(cli(['verify', '--file', 'access.json', unlisted])).toEqual({
        status: 1,
        stdout: '',
        stderr: 'stats-service-token: invalid token: not listed in the file\n',
      });
    });

    it('refuses a listed token not signed with the secret beside it', () => {
      const file = join(dir, 'mismatch.json');
      writeFileSync(
        file,
        JSON.stringify([
          {
            id: DEMO_ID,
            username: 'statsbob',
            tokens: [{ access_token: DEMO_TOKEN, access_secret: EXAMPLE_SECRET }],
          },
        ]),
      );
      const result = cli(['verify', '--file', file, DEMO_TOKEN]);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^stats-service-token: invalid token: bad signature/);
      expect(result.stderr).not.toContain(DEMO_TOKEN.slice(0, 16));
      expect(result.stderr).not.toContain(EXAMPLE_SECRET.slice(0, 32));
    });

    it('exits 1 naming a missing file', () => {
      const file = join(dir, 'nowhere.json');
      expect(cli(['verify', '--file', file, DEMO_TOKEN])).toEqual({
        status: 1,
        stdout: '',
        stderr: `stats-service-token: ${file}: file not found\n`,
      });
    });
  });

  describe('add-user', () => {
    it('creates the file, prints the token, and refuses the same username again', () => {
      const file = join(dir, 'access.json');
      const added = cli(['add-user', 'alice', '--file', file]);
      expect(added.status).toBe(0);
      expect(added.stderr).toMatch(
        /^stats-service-token: added alice \(user_[0-9a-f]{32}\) to .*access\.json\n$/,
      );
      const token = added.stdout.trimEnd();
      expect(added.stdout).toBe(`${token}\n`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const users = loadAccessFile(file);
      expect(users).toEqual([
        {
          id: expect.stringMatching(/^user_[0-9a-f]{32}$/) as string,
          username: 'alice',
          tokens: [
            {
              accessToken: token,
              accessSecret: expect.stringMatching(/^[0-9a-f]{128}$/) as string,
            },
          ],
        },
      ]);
      expect(added.stderr).not.toContain(users[0]!.tokens[0]!.accessSecret);
      expect(cli(['verify', '--file', file, token]).status).toBe(0);

      const before = readFileSync(file, 'utf8');
      expect(cli(['add-user', 'alice', '--file', file])).toEqual({
        status: 1,
        stdout: '',
        stderr: `stats-service-token: ${file}: user alice already exists\n`,
      });
      expect(readFileSync(file, 'utf8')).toBe(before);
    });

    it('--file secrets/access.json, as docs/TOKENS.md says, makes the folder; git ignores it', () => {
      const cwd = mkdtempSync(join(dir, 'fresh-'));
      const added = cli(['add-user', 'billing-service', '--file', 'secrets/access.json'], '', cwd);
      expect(added.status).toBe(0);
      expect(loadAccessFile(join(cwd, 'secrets', 'access.json'))).toHaveLength(1);
      expect(statSync(join(cwd, 'secrets')).mode & 0o777).toBe(0o700);
      // In the repository, that place is ignored: real tokens are never committed by accident.
      const ignored = spawnSync('git', ['check-ignore', '--quiet', 'secrets/access.json'], {
        cwd: REPO,
      });
      expect(ignored.status).toBe(0);
    });

    it('--json prints username, id, access_token and access_secret', () => {
      const file = join(dir, 'json.json');
      const result = cli(['add-user', 'bob', '--file', file, '--json']);
      expect(result.status).toBe(0);
      const printed = JSON.parse(result.stdout) as Record<string, string>;
      expect(printed).toEqual({
        username: 'bob',
        id: expect.stringMatching(/^user_[0-9a-f]{32}$/) as string,
        access_token: expect.any(String) as string,
        access_secret: expect.stringMatching(/^[0-9a-f]{128}$/) as string,
      });
      expect(loadAccessFile(file)).toEqual([
        {
          id: printed.id,
          username: 'bob',
          tokens: [{ accessToken: printed.access_token, accessSecret: printed.access_secret }],
        },
      ]);
    });

    it('makes a user whose token the service accepts', async () => {
      const file = join(dir, 'service.json');
      writeFileSync(file, readFileSync(join(REPO, 'access.json')));
      const added = cli(['add-user', 'carol', '--file', file, '--expires-in', '1h']);
      expect(added.status).toBe(0);
      const auth = { Authorization: `Token ${added.stdout.trimEnd()}` };

      const svc = await startService({ ACCESS_JSON: file });
      try {
        const reply = await post(`${svc.url}/log/event`, { event: 'cli.e2e', uid: 'carol' }, auth);
        expect(reply).toMatchObject({
          status: 200,
          body: expect.stringMatching(/^entry_/) as string,
        });
        const stored = await get(`${svc.url}/log/event/${String(reply.body)}`, auth);
        expect(stored).toMatchObject({ status: 200, body: { event: 'cli.e2e', uid: 'carol' } });
        // The demo user kept in the file still works beside the new one.
        const demo = await post(`${svc.url}/log/event`, { event: 'cli.e2e', uid: 'bob' });
        expect(demo.status).toBe(200);
      } finally {
        await svc.close();
        await dropDatabase(svc.influxUrl, svc.database);
      }
    });
  });
});
