/**
 * access.json re-read while the service runs (docs/TOKENS.md, "Changing tokens while it runs"),
 * on the built service (`node dist/main.js`, as the image runs it), its file changed with the
 * shipped CLI: a token added works and a revoked or rotated one is refused within 5 s, with no
 * restart; a broken file keeps the tokens in force and logs one error naming the file and the
 * entry, never a secret; SIGHUP re-reads the file and does not stop the service, unless the
 * terminal the service runs on went away (SIGHUP's first meaning), which stops it as before.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { makeToken } from '../src/auth/token-codec';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDatabase, freePort, uniqueDatabase } from './support/influxd';
import { DEMO_SECRET, DEMO_TOKEN, REPO } from './support/service';
import { eventually } from './support/spool';

/** The contract's bound: a change is in force within 5 s. */
const WITHIN_MS = 5_000;

const BIN = join(REPO, 'bin', 'stats-service-token.js');

/** The demo user alone: the file every test starts from or adds to (its token keeps working). */
const DEMO_ONLY = JSON.stringify([
  {
    id: 'user_00ca4f6190b84f25827239233c4bcbaa',
    username: 'statsbob',
    tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
  },
]);

function tokenCli(args: string[], input = ''): { status: number | null; stdout: string } {
  const result = spawnSync(BIN, args, {
    env: { PATH: process.env.PATH ?? '' },
    input,
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (result.status !== 0) throw new Error(`${args[0]} failed: ${result.stderr}`);
  return { status: result.status, stdout: result.stdout.trim() };
}

describe('access.json re-read while running', () => {
  let dir: string;
  let file: string;
  let port: number;
  let database: string;
  let child: ChildProcess;
  let output = '';

  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const post = async (token: string) =>
    (
      await fetch(url('/log/event'), {
        method: 'POST',
        headers: { Authorization: `Token ${token}` },
        body: JSON.stringify({ event: 'reload.e2e', uid: 'u' }),
      })
    ).status;

  /** The first log entry after `from` (an offset in the output) that `match` accepts. */
  function logged(from: number, match: (entry: { level: number; msg: string }) => boolean) {
    return eventually(
      'a log line',
      () =>
        Promise.resolve(
          output
            .slice(from)
            .split('\n')
            .filter((text) => text.startsWith('{'))
            .map((text) => JSON.parse(text) as { level: number; msg: string })
            .find(match),
        ),
      WITHIN_MS,
    );
  }

  /** Waits until `token` posting gets `status`, at most WITHIN_MS; returns how long it took. */
  async function inForceWithin(token: string, status: number): Promise<number> {
    const start = Date.now();
    await eventually(
      `a POST with the token answers ${status}`,
      async () => ((await post(token)) === status ? true : undefined),
      WITHIN_MS,
      100,
    );
    return Date.now() - start;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'access-reload-'));
    file = join(dir, 'access.json');
    writeFileSync(file, DEMO_ONLY);
    port = await freePort();
    database = uniqueDatabase('reload');
    child = spawn(process.execPath, [join(REPO, 'dist', 'main.js')], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        INFLUX_URL: process.env.INFLUX_URL ?? '',
        INFLUX_DATABASE: database,
        ACCESS_JSON: file,
        // A spool of its own, so that no other run's events are replayed here.
        SPOOL_DIR: join(dir, 'spool'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('the service answers /ping', async () => {
      if (child.exitCode !== null) throw new Error(`the service exited:\n${output}`);
      return (await fetch(url('/ping'))).ok ? true : undefined;
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (database) await dropDatabase(process.env.INFLUX_URL!, database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('puts a token from add-user in force, then refuses it once revoked', async () => {
    const token = tokenCli(['add-user', 'alice', '--file', file]).stdout;
    const added = await inForceWithin(token, 200);

    tokenCli(['revoke', '--file', file, '-'], token);
    const revoked = await inForceWithin(token, 401);

    expect(added).toBeLessThanOrEqual(WITHIN_MS);
    expect(revoked).toBeLessThanOrEqual(WITHIN_MS);
    expect(await post(DEMO_TOKEN)).toBe(200);
  });

  it("rotates a user's token: the new one works, the old one is refused", async () => {
    const old = tokenCli(['add-user', 'bob', '--file', file]).stdout;
    await inForceWithin(old, 200);

    const fresh = tokenCli(['rotate', 'bob', '--file', file]).stdout;
    await inForceWithin(fresh, 200);
    await inForceWithin(old, 401);
  });

  it('keeps the tokens in force when the file turns broken, logging the file and the entry', async () => {
    // From a known set: the demo user alone, in force once its re-read is logged.
    let from = output.length;
    writeFileSync(file, DEMO_ONLY);
    await logged(
      from,
      (entry) => entry.msg === `${file} re-read on a change of the file: 1 user(s), 1 token(s)`,
    );

    const broken = JSON.parse(DEMO_ONLY) as { tokens: { access_secret: string }[] }[];
    broken[0]!.tokens[0]!.access_secret = 'f'.repeat(127);
    from = output.length;
    writeFileSync(file, JSON.stringify(broken));
    try {
      const entry = await logged(from, (candidate) => candidate.level >= 50);
      expect(entry).toMatchObject({
        level: 50, // pino's error
        msg:
          `${file}: [0].tokens[0].access_secret must be 128 hexadecimal characters ` +
          '(re-read on a change of the file); still using the previous 1 user(s), 1 token(s)',
      });
      expect(output).not.toContain(DEMO_SECRET.slice(0, 16));
      expect(output).not.toContain(DEMO_TOKEN.slice(0, 16));
      expect(await post(DEMO_TOKEN)).toBe(200);
      const metrics = await (await fetch(url('/metrics'))).text();
      expect(metrics).toMatch(/^stats_access_reloads_total\{outcome="failed"\} [1-9]/m);
    } finally {
      writeFileSync(file, DEMO_ONLY);
    }
  });

  it('re-reads the file on SIGHUP, and keeps serving', async () => {
    const before = output.length;
    child.kill('SIGHUP');
    await eventually(
      'the SIGHUP re-read in the log',
      () =>
        Promise.resolve(output.slice(before).includes(`${file} re-read on SIGHUP`) || undefined),
      WITHIN_MS,
    );
    expect(child.exitCode).toBeNull();
    expect(await post(DEMO_TOKEN)).toBe(200);
  });
});

describe('SIGHUP on a terminal (the service run under `script`, as in a shell)', () => {
  let dir: string;
  let port: number;
  let database: string;
  let script: ReturnType<typeof spawn>;
  let output = '';
  let pid = 0;

  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'access-tty-'));
    const secret = randomBytes(64).toString('hex');
    const file = join(dir, 'access.json');
    writeFileSync(
      file,
      JSON.stringify([
        {
          id: 'user_tty',
          username: 'tty',
          tokens: [{ access_token: makeToken('tty', secret), access_secret: secret }],
        },
      ]),
    );
    port = await freePort();
    database = uniqueDatabase('tty');
    const main = join(REPO, 'dist', 'main.js');
    script = spawn('script', ['-qfec', `"${process.execPath}" "${main}"`, '/dev/null'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        TERM: 'dumb',
        PORT: String(port),
        HOST: '127.0.0.1',
        INFLUX_URL: process.env.INFLUX_URL ?? '',
        INFLUX_DATABASE: database,
        ACCESS_JSON: file,
        SPOOL_DIR: join(dir, 'spool'),
        // Override: JSON log lines (they carry the pid) rather than the terminal's plain ones.
        NODE_ENV: 'production',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    script.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('the service answers /ping', async () =>
      (await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.ok ? true : undefined,
    );
    pid = Number(/"pid":(\d+)/.exec(output)?.[1]);
    expect(pid).toBeGreaterThan(0);
  });

  afterAll(async () => {
    if (script && script.exitCode === null && script.pid !== undefined) {
      process.kill(-script.pid, 'SIGKILL');
    }
    if (pid > 0 && alive()) process.kill(pid, 'SIGKILL');
    if (database) await dropDatabase(process.env.INFLUX_URL!, database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('re-reads the file while the terminal is there, then stops when the terminal goes away', async () => {
    process.kill(pid, 'SIGHUP');
    await eventually(
      'the SIGHUP re-read in the log',
      () =>
        Promise.resolve(output.includes('re-read on SIGHUP: 1 user(s), 1 token(s)') || undefined),
      WITHIN_MS,
    );
    expect(alive()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/ping`)).status).toBe(200);

    // What a shell does when its window closes: the session ends, the terminal hangs up.
    process.kill(-script.pid!, 'SIGTERM');

    await eventually(
      'the service stops',
      () => Promise.resolve(alive() ? undefined : true),
      15_000,
    );
  });
});
