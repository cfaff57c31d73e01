/**
 * Start-up of the built service (`node dist/main.js`, as the Dockerfile runs it) with a
 * controlled environment (docs/TOKENS.md, "access.json"; README "Configuration"): every bad variable or access file stops it with one
 * stderr line that names the variable or file and never a secret; the public demo secret is
 * refused in production; a good configuration serves /ping. Needs `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeToken } from '../src/auth/token-codec';
import { dropDatabase, freePort, uniqueDatabase } from './support/influxd';
import { DEMO_SECRET, DEMO_TOKEN, REPO } from './support/service';

const MAIN = join(REPO, 'dist', 'main.js');
const EXIT_TIMEOUT_MS = 15_000;
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
};

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Result = Exit & { stdout: string; stderr: string };

interface Started {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  exited: Promise<Exit>;
}

/** Processes a test started; afterEach kills those still running. */
const children = new Set<ChildProcess>();

/** `node dist/main.js` with exactly `env` (plus PATH): nothing leaks in from Jest's environment. */
function startMain(env: Record<string, string>, registry = children): Started {
  const child = spawn(process.execPath, [MAIN], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  registry.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Waits for the process to end by itself; a process still running after the limit fails. */
async function exitOf(started: Started): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${EXIT_TIMEOUT_MS} ms`)),
      EXIT_TIMEOUT_MS,
    );
  });
  try {
    const exit = await Promise.race([started.exited, limit]);
    return { ...exit, ...started.output() };
  } finally {
    clearTimeout(timer);
  }
}

/** GET /ping until it answers 200, while the process runs. */
async function waitForPing(started: Started, url: string): Promise<Response> {
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  for (;;) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`the service exited: ${started.output().stderr}`);
    }
    try {
      const response = await fetch(url);
      if (response.status === 200) return response;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no 200 from ${url} in ${EXIT_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function influxUrl(): string {
  const url = process.env.INFLUX_URL;
  if (!url) throw new Error('INFLUX_URL is not set: run the e2e project through jest');
  return url;
}

/** A configuration that starts: the run's InfluxDB, the repo's access.json, a random port. */
function goodEnv() {
  return {
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: uniqueDatabase('startup'),
    ACCESS_JSON: join(REPO, 'access.json'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
  };
}

/** A value that looks like a credential and appears nowhere else. */
function secretLooking(): string {
  return `S3cr3t${randomBytes(12).toString('hex')}`;
}

/**
 * The contract's start-up failure: a non-zero exit code, exactly one stderr line, no stack trace,
 * and none of `secrets` in any output.
 */
function expectOneLineFailure(result: Result, names: RegExp, secrets: string[]): void {
  const lines = result.stderr.split('\n');
  expect({ code: result.code, signal: result.signal, stderrLines: lines.length }).toEqual({
    code: expect.any(Number) as unknown,
    signal: null,
    stderrLines: 2, // one line and its newline
  });
  expect(result.code).not.toBe(0);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(names);
  // Nothing else, on either stream: no second (JSON) line, no resolver stack.
  expect(result.stdout).toBe('');
  for (const secret of secrets) {
    expect(result.stderr).not.toContain(secret);
    expect(result.stdout).not.toContain(secret);
  }
}

async function killAll(processes: Set<ChildProcess>): Promise<void> {
  const running = [...processes].filter((c) => c.exitCode === null && c.signalCode === null);
  processes.clear();
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * Runs every configuration to its exit, a few processes at a time (each start costs most of a
 * CPU second), and keeps each one's result under its name for the test that checks it.
 */
function runAll(
  configurations: Array<[string, () => Promise<Record<string, string>>]>,
  registry: Set<ChildProcess>,
): Map<string, Promise<Result>> {
  const results = new Map<string, Promise<Result>>();
  const lanes: Array<Promise<unknown>> = [Promise.resolve(), Promise.resolve(), Promise.resolve()];
  configurations.forEach(([name, env], index) => {
    const lane = index % lanes.length;
    const result = lanes[lane]!.then(async () => exitOf(startMain(await env(), registry)));
    lanes[lane] = result.catch(() => undefined);
    results.set(name, result);
  });
  return results;
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
});

afterEach(() => killAll(children));

describe('start-up with a bad environment variable', () => {
  const influxPassword = secretLooking();
  const urlPassword = secretLooking();
  const influxToken = secretLooking();
  const envSecret = randomBytes(64).toString('hex');
  const envToken = makeToken('envuser', envSecret);
  const badSecret = randomBytes(64).toString('hex').slice(1);

  /** [variable, its bad setting, what the line must name, values that must not appear] */
  const cases: Array<[string, Record<string, string>, RegExp, string[]]> = [
    ['PORT=abc', { PORT: 'abc' }, /\bPORT\b/, ['abc']],
    ['PORT=70000', { PORT: '70000' }, /\bPORT\b/, ['70000']],
    ['HEALTH_PORT=abc', { HEALTH_PORT: 'abc' }, /\bHEALTH_PORT\b/, ['abc']],
    ['HEALTH_PORT=PORT', { PORT: '20999', HEALTH_PORT: '20999' }, /HEALTH_PORT must differ/, []],
    ["HOST='not a host'", { HOST: 'not a host' }, /\bHOST\b/, ['not a host']],
    // Looks like an address but is none: the resolver fails at listen, not the config check.
    ['HOST=999.1.1.1', { HOST: '999.1.1.1' }, /^stats-service: HOST must be .*resolves/, ['999.1']],
    [
      'HOST that is not an address of this machine',
      { HOST: '192.0.2.1' },
      /^stats-service: HOST must be an address of this machine/,
      ['192.0.2.1'],
    ],
    [
      'SPOOL_DIR naming a file',
      { SPOOL_DIR: join(REPO, 'package.json') },
      /^stats-service: SPOOL_DIR must name a directory .*\(it names a file\)$/,
      ['package.json', 'EEXIST'],
    ],
    ['INFLUX_URL=notaurl', { INFLUX_URL: 'notaurl' }, /\bINFLUX_URL\b/, ['notaurl']],
    [
      'INFLUX_URL with a password in it',
      { INFLUX_URL: `http://stats:${urlPassword}@127.0.0.1:8086` },
      /\bINFLUX_URL\b/,
      [urlPassword],
    ],
    ['INFLUX_TIMEOUT_MS=-1', { INFLUX_TIMEOUT_MS: '-1' }, /\bINFLUX_TIMEOUT_MS\b/, ['-1']],
    ['INFLUX_API=v3', { INFLUX_API: 'v3' }, /\bINFLUX_API\b/, ['v3']],
    [
      'INFLUX_API=v2 without INFLUX_TOKEN',
      { INFLUX_API: 'v2', INFLUX_BUCKET: 'stats', INFLUX_ORG: 'org' },
      /\bINFLUX_TOKEN\b/,
      [],
    ],
    [
      'INFLUX_API=v2 with INFLUX_TOKEN but without INFLUX_BUCKET',
      { INFLUX_API: 'v2', INFLUX_TOKEN: influxToken },
      /\bINFLUX_BUCKET\b/,
      [influxToken],
    ],
    ['MAX_BODY_BYTES=1x', { MAX_BODY_BYTES: '1x' }, /\bMAX_BODY_BYTES\b/, ['1x']],
    ['EVENT_TAGS=uid', { EVENT_TAGS: 'uid' }, /\bEVENT_TAGS\b/, []],
    ["TABLE_NAME='bad name'", { TABLE_NAME: 'bad name' }, /\bTABLE_NAME\b/, ['bad name']],
    [
      'STATS_ACCESS_TOKEN without STATS_ACCESS_SECRET',
      { STATS_ACCESS_TOKEN: envToken },
      /\bSTATS_ACCESS_SECRET\b/,
      [envToken, envToken.slice(0, 30)],
    ],
    [
      'STATS_ACCESS_SECRET that is not 128 hex characters',
      { STATS_ACCESS_TOKEN: envToken, STATS_ACCESS_SECRET: badSecret },
      /\bSTATS_ACCESS_SECRET\b/,
      [badSecret, envToken.slice(0, 30)],
    ],
    [
      'STATS_ACCESS_TOKEN not signed with STATS_ACCESS_SECRET',
      { STATS_ACCESS_TOKEN: envToken, STATS_ACCESS_SECRET: randomBytes(64).toString('hex') },
      /\bSTATS_ACCESS_TOKEN\b/,
      [envToken.slice(0, 30), envSecret],
    ],
    ['LOG_LEVEL=loud', { LOG_LEVEL: 'loud' }, /\bLOG_LEVEL\b/, ['loud']],
    [
      'INFLUX_PASSWORD without INFLUX_USERNAME',
      { INFLUX_PASSWORD: influxPassword },
      /\bINFLUX_PASSWORD\b/,
      [influxPassword],
    ],
  ];

  const started = new Set<ChildProcess>();
  let results: Map<string, Promise<Result>>;

  beforeAll(() => {
    results = runAll(
      cases.map(([name, bad]) => [name, () => Promise.resolve({ ...goodEnv(), ...bad })]),
      started,
    );
  });

  afterAll(() => killAll(started));

  it.each(cases)(
    '%s: exits non-zero with one line naming it',
    async (name, _bad, names, secrets) => {
      expectOneLineFailure(await results.get(name)!, names, secrets);
    },
  );
});

describe('start-up with a bad access file', () => {
  let dir: string;
  const secret = randomBytes(64).toString('hex');
  const token = makeToken('statsbob', secret);
  const started = new Set<ChildProcess>();
  let results: Map<string, Promise<Result>>;
  const fileFor = (problem: string) => join(dir, `${problem.replace(/\W+/g, '-')}.json`);

  const user = (tokens: unknown) => [{ id: 'user_1', username: 'statsbob', tokens }];

  /** [problem, file contents (undefined: no file), what the line must say] */
  const cases: Array<[string, () => string | undefined, RegExp]> = [
    ['a missing file', () => undefined, /not found/],
    [
      'invalid JSON',
      () =>
        `[{"id": "user_1", "tokens": [{"access_token": "${token}", "access_secret": "${secret}"`,
      /not valid JSON/,
    ],
    [
      'a token without access_secret',
      () => JSON.stringify(user([{ access_token: token }])),
      /access_secret/,
    ],
    [
      'an access_secret that is not 128 hex characters',
      () => JSON.stringify(user([{ access_token: token, access_secret: secret.slice(2) }])),
      /access_secret/,
    ],
    [
      'an access_token that is not a token',
      () =>
        JSON.stringify(user([{ access_token: token.slice(0, 50) + '!', access_secret: secret }])),
      /access_token/,
    ],
    ['an object instead of a list of users', () => JSON.stringify({ users: [] }), /array/],
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'startup-e2e-'));
    results = runAll(
      cases.map(([problem, contents]) => [
        problem,
        async () => {
          const text = contents();
          if (text !== undefined) await writeFile(fileFor(problem), text);
          return { ...goodEnv(), ACCESS_JSON: fileFor(problem) };
        },
      ]),
      started,
    );
  });

  afterAll(async () => {
    await killAll(started);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(cases)(
    '%s: exits non-zero with one line naming the file, never a secret from it',
    async (problem, _contents, says) => {
      const file = fileFor(problem);
      const result = await results.get(problem)!;

      expectOneLineFailure(result, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), [
        secret,
        secret.slice(2, 40),
        token.slice(0, 30),
      ]);
      expect(result.stderr).toMatch(says);
    },
  );

  it('NODE_ENV=production with a secret other than the demo one starts and serves /ping', async () => {
    const file = join(dir, 'production-access.json');
    await writeFile(file, JSON.stringify(user([{ access_token: token, access_secret: secret }])));
    const port = await freePort();
    const env = { ...goodEnv(), NODE_ENV: 'production', ACCESS_JSON: file, PORT: String(port) };
    const started = startMain(env);
    try {
      const response = await waitForPing(started, `http://127.0.0.1:${port}/ping`);
      await expect(response.json()).resolves.toMatchObject({ status: 'ok', version });
    } finally {
      await dropDatabase(influxUrl(), env.INFLUX_DATABASE);
    }
  });
});

describe('start-up in production with the public demo secret', () => {
  it.each(['PRODUCTION', ' production ', 'Production'])(
    "NODE_ENV=%j with the repo's access.json refuses to start (trimmed, any case)",
    async (nodeEnv) => {
      const result = await exitOf(
        startMain({ ...goodEnv(), NODE_ENV: nodeEnv, ACCESS_JSON: join(REPO, 'access.json') }),
      );

      expectOneLineFailure(result, /demo/, [DEMO_SECRET, DEMO_TOKEN.slice(0, 30)]);
    },
  );

  it("NODE_ENV=production with the repo's access.json refuses to start", async () => {
    const result = await exitOf(
      startMain({ ...goodEnv(), NODE_ENV: 'production', ACCESS_JSON: join(REPO, 'access.json') }),
    );

    expectOneLineFailure(result, /demo/, [DEMO_SECRET, DEMO_TOKEN.slice(0, 30)]);
    expect(result.stderr).toMatch(/production/);
  });

  it('NODE_ENV=production with STATS_ACCESS_SECRET=<demo secret> refuses to start', async () => {
    const result = await exitOf(
      startMain({
        ...goodEnv(),
        NODE_ENV: 'production',
        STATS_ACCESS_TOKEN: DEMO_TOKEN,
        STATS_ACCESS_SECRET: DEMO_SECRET,
      }),
    );

    expectOneLineFailure(result, /demo/, [DEMO_SECRET, DEMO_TOKEN.slice(0, 30)]);
    expect(result.stderr).toMatch(/STATS_ACCESS_SECRET/);
  });
});

describe('a good start', () => {
  it('serves /ping on PORT', async () => {
    const port = await freePort();
    const env = { ...goodEnv(), PORT: String(port) };
    const started = startMain(env);
    try {
      const response = await waitForPing(started, `http://127.0.0.1:${port}/ping`);

      await expect(response.json()).resolves.toMatchObject({
        status: 'ok',
        name: 'stats-service',
        version,
      });
      expect(started.output().stderr).toBe('');
    } finally {
      await dropDatabase(influxUrl(), env.INFLUX_DATABASE);
    }
  });

  // Regression: v2 mode once failed at start-up (the WriteApi preallocates batchSize slots).
  it('in v2 mode (INFLUX_TOKEN and INFLUX_BUCKET set) serves /ping', async () => {
    const port = await freePort();
    const started = startMain({
      ...goodEnv(),
      PORT: String(port),
      INFLUX_DATABASE: '',
      INFLUX_TOKEN: secretLooking(),
      INFLUX_ORG: 'stats-org',
      INFLUX_BUCKET: uniqueDatabase('startup_v2'),
    });

    const response = await waitForPing(started, `http://127.0.0.1:${port}/ping`);

    await expect(response.json()).resolves.toMatchObject({ status: 'ok', version });
  });

  it('with HEALTH_PORT, answers /ping there as on PORT, and nothing else', async () => {
    const port = await freePort();
    const healthPort = await freePort();
    const env = { ...goodEnv(), PORT: String(port), HEALTH_PORT: String(healthPort) };
    const started = startMain(env);
    try {
      const onPort = await waitForPing(started, `http://127.0.0.1:${port}/ping`);
      const onHealth = await fetch(`http://127.0.0.1:${healthPort}/ping`);
      const head = await fetch(`http://127.0.0.1:${healthPort}/ping`, { method: 'HEAD' });
      const slash = await fetch(`http://127.0.0.1:${healthPort}/ping/`);
      const write = await fetch(`http://127.0.0.1:${healthPort}/log/event`, {
        method: 'POST',
        body: '{}',
      });

      expect(onHealth.status).toBe(200);
      expect(onHealth.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await onHealth.json()).toEqual(await onPort.json());
      expect(head.status).toBe(200);
      expect(slash.status).toBe(200);
      expect(write.status).toBe(404);
      await expect(write.json()).resolves.toMatchObject({ statusCode: 404, error: 'Not Found' });
    } finally {
      await dropDatabase(influxUrl(), env.INFLUX_DATABASE);
    }
  });

  it('a HEALTH_PORT that is taken stops it with one line naming HEALTH_PORT', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    const env = { ...goodEnv(), PORT: String(await freePort()), HEALTH_PORT: String(port) };
    try {
      const result = await exitOf(startMain(env));

      expectOneLineFailure(result, /^stats-service: HEALTH_PORT must be free/, []);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      await dropDatabase(influxUrl(), env.INFLUX_DATABASE);
    }
  });

  it('a PORT that is taken stops it with one line and no stack trace', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    const env = { ...goodEnv(), PORT: String(port) };
    try {
      const result = await exitOf(startMain(env));

      expectOneLineFailure(result, /EADDRINUSE|in use/, []);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      await dropDatabase(influxUrl(), env.INFLUX_DATABASE);
    }
  });
});

describe('while it starts', () => {
  /** What one GET answered: its status, or the error code of a connection that failed. */
  async function ask(
    url: string,
    init?: RequestInit,
  ): Promise<{ got: string; response?: Response }> {
    try {
      const response = await fetch(url, init);
      return { got: String(response.status), response };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return { got: cause?.code ?? String(error) };
    }
  }

  it('PORT answers 503 with Retry-After from its first connection until it serves, refusing and resetting none', async () => {
    // An InfluxDB that accepts connections and never answers: start-up waits INFLUX_TIMEOUT_MS
    // for it to create the database, which holds the service in start-up long enough to ask.
    const held = new Set<Socket>();
    const silent: Server = createServer((socket) => void held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const influxPort = (silent.address() as { port: number }).port;
    const port = await freePort();
    const healthPort = await freePort();
    const started = startMain({
      ...goodEnv(),
      INFLUX_URL: `http://127.0.0.1:${influxPort}`,
      PORT: String(port),
      HEALTH_PORT: String(healthPort),
      // Overrides the default 10 s only to keep the test short; any wait shows the same.
      INFLUX_TIMEOUT_MS: '3000',
    });
    const seen: string[] = [];
    let refusal: { retryAfter: string | null; body: unknown } | undefined;
    let write: string | undefined;
    let health: string | undefined;
    try {
      const deadline = Date.now() + EXIT_TIMEOUT_MS;
      while (seen.at(-1) !== '200' && Date.now() < deadline) {
        if (started.child.exitCode !== null) throw new Error(started.output().stderr);
        const { got, response } = await ask(`http://127.0.0.1:${port}/ping`);
        seen.push(got);
        if (got === '503' && refusal === undefined) {
          refusal = {
            retryAfter: response!.headers.get('retry-after'),
            body: await response!.json(),
          };
          write = (await ask(`http://127.0.0.1:${port}/log/event`, { method: 'POST', body: '{}' }))
            .got;
          health = (await ask(`http://127.0.0.1:${healthPort}/ping`)).got;
        } else {
          await response?.body?.cancel();
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }

    // Refused while nothing is bound; from the first answer on, 503 until the one 200.
    const first = seen.findIndex((got) => /^\d+$/.test(got));
    expect(seen.slice(0, first).filter((got) => got !== 'ECONNREFUSED')).toEqual([]);
    expect(new Set(seen.slice(first, -1))).toEqual(new Set(['503']));
    expect(seen.at(-1)).toBe('200');
    expect(refusal).toEqual({
      retryAfter: '1',
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/^the service is starting .*nothing was stored/) as unknown,
        retryAfter: 1,
      },
    });
    expect({ write, health }).toEqual({ write: '503', health: '200' });
  });
});
