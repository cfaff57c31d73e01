/**
 * Logs of the built service (`node dist/main.js`, LOG_LEVEL=info): one JSON line per request with
 * its id, status and response time; the X-Request-Id a caller sends is the id and is echoed; no
 * token, Authorization header, secret or event value ever reaches the output (docs/OPERATIONS.md, "Logs"); and
 * SIGTERM stops the process cleanly. Needs `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeToken } from '../src/auth/token-codec';
import { dropDatabase, freePort, uniqueDatabase } from './support/influxd';
import { DEMO_SECRET, DEMO_TOKEN, REPO, spawnBuiltService } from './support/service';

const MAIN = join(REPO, 'dist', 'main.js');
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

interface LogLine {
  req?: { id?: unknown; method?: unknown; url?: unknown };
  res?: { statusCode?: unknown };
  responseTime?: unknown;
  [key: string]: unknown;
}

interface Sent {
  id: string;
  status: number;
  echoedId: string | null;
  body: string;
}

/**
 * Resolves once Nest has logged that the application started (no HTTP request, so no log line of
 * its own). A connection alone would not say so: PORT is bound before the start-up hooks run and
 * answers 503 until they are done; the requests go on past that in the same turn of the loop as
 * the line is written.
 */
async function waitForStart(child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output().includes('successfully started')) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error('the service exited before it started');
    }
    if (Date.now() > deadline) throw new Error('the service did not start in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('request logging of dist/main.js', () => {
  const marker = `marker_${randomBytes(8).toString('hex')}`;
  const runId = randomBytes(4).toString('hex');
  const wrongToken = makeToken('statsbob', randomBytes(64).toString('hex'));
  const database = uniqueDatabase('logging');
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null; afterMs: number } | undefined;
  const sent: Record<string, Sent> = {};
  let lines: LogLine[] = [];
  let unparsable: string[] = [];
  let port = 0;

  /** Sends one request to the spawned service and records what came back under `name`. */
  const request = async (
    name: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<void> => {
    const url = `http://127.0.0.1:${port}${path}`;
    const response = await fetch(url, init);
    sent[name] = {
      id: init.headers?.['X-Request-Id'] ?? '',
      status: response.status,
      echoedId: response.headers.get('x-request-id'),
      body: await response.text(),
    };
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    port = await freePort();
    const started = spawnBuiltService(port, database, 'info');
    child = started;
    started.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    started.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      started.once('close', (code, signal) => resolve({ code, signal })),
    );
    await waitForStart(started, () => stdout);

    const authorization = `Token ${DEMO_TOKEN}`;
    await request('event', '/log/event', {
      method: 'POST',
      headers: {
        Authorization: authorization,
        'Content-Type': 'application/json',
        'X-Request-Id': `log-${runId}-event`,
      },
      body: JSON.stringify({ event: 'logging_e2e', uid: `uid-${marker}`, note: marker }),
    });
    await request('readBack', `/log/event/${JSON.parse(sent.event!.body) as string}`, {
      headers: { Authorization: authorization, 'X-Request-Id': `log-${runId}-read` },
    });
    await request('unauthorized', '/log/event', {
      method: 'POST',
      headers: {
        Authorization: `Token ${wrongToken}`,
        'Content-Type': 'application/json',
        'X-Request-Id': `log-${runId}-unauthorized`,
      },
      body: JSON.stringify({ event: 'logging_e2e', uid: 'u', note: marker }),
    });
    await request('ping', '/ping', { headers: { 'X-Request-Id': `log-${runId}-ping` } });
    await request('pingWithoutId', '/ping', {});
    await request('pingWithBadId', '/ping', { headers: { 'X-Request-Id': 'not a valid id!' } });

    const stopping = Date.now();
    started.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      closed,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (result !== undefined) exit = { ...result, afterMs: Date.now() - stopping };

    for (const text of stdout.split('\n').filter((line) => line.trim() !== '')) {
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        unparsable.push(text);
      }
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child!.once('close', resolve));
      child.kill('SIGKILL');
      await gone;
    }
    lines = [];
    unparsable = [];
    const influxUrl = process.env.INFLUX_URL;
    if (influxUrl) await dropDatabase(influxUrl, database);
  });

  const linesOf = (id: string) => lines.filter((line) => line.req?.id === id);

  it('answered the requests as expected', () => {
    expect({
      event: sent.event?.status,
      readBack: sent.readBack?.status,
      unauthorized: sent.unauthorized?.status,
      ping: sent.ping?.status,
      pingWithoutId: sent.pingWithoutId?.status,
      pingWithBadId: sent.pingWithBadId?.status,
    }).toEqual({
      event: 200,
      readBack: 200,
      unauthorized: 401,
      ping: 200,
      pingWithoutId: 200,
      pingWithBadId: 200,
    });
    expect(sent.readBack?.body).toContain(marker);
  });

  it('writes only JSON lines to stdout', () => {
    expect(unparsable).toEqual([]);
    expect(lines.length).toBeGreaterThan(0);
  });

  it.each([
    ['event', 'POST', '/log/event', 200],
    ['readBack', 'GET', undefined, 200],
    ['unauthorized', 'POST', '/log/event', 401],
    ['ping', 'GET', '/ping', 200],
  ] as const)(
    'logs the %s request once, with req.id, res.statusCode and responseTime',
    (name, method, url, status) => {
      const id = sent[name]!.id;
      const found = linesOf(id);

      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        req: { id, method, ...(url === undefined ? {} : { url }) },
        res: { statusCode: status },
        responseTime: expect.any(Number) as unknown,
      });
    },
  );

  it('echoes a valid X-Request-Id in the response', () => {
    expect(sent.event?.echoedId).toBe(`log-${runId}-event`);
    expect(sent.unauthorized?.echoedId).toBe(`log-${runId}-unauthorized`);
    expect(sent.ping?.echoedId).toBe(`log-${runId}-ping`);
    expect(sent.readBack?.echoedId).toBe(`log-${runId}-read`);
  });

  it('makes an id when none or an unusable one is sent, answers it and logs under it', () => {
    for (const name of ['pingWithoutId', 'pingWithBadId'] as const) {
      const id = sent[name]?.echoedId;
      expect(id).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
      expect(linesOf(id!)).toEqual([
        expect.objectContaining({
          res: { statusCode: 200 },
          responseTime: expect.any(Number) as unknown,
        }),
      ]);
    }
    expect(sent.pingWithoutId?.echoedId).not.toBe(sent.pingWithBadId?.echoedId);
    expect(stdout).not.toContain('not a valid id!');
  });

  it('never writes a token, an Authorization header, the demo secret or event values', () => {
    const output = stdout + stderr;
    const secrets = {
      demoToken: DEMO_TOKEN,
      demoTokenStart: DEMO_TOKEN.slice(0, 24),
      demoSignature: DEMO_TOKEN.slice(-40),
      wrongToken: wrongToken.slice(0, 24),
      demoSecret: DEMO_SECRET,
      demoSecretStart: DEMO_SECRET.slice(0, 24),
      marker,
    };
    const leaked = Object.entries(secrets)
      .filter(([, value]) => output.includes(value))
      .map(([name]) => name);

    expect(leaked).toEqual([]);
    expect(output).not.toMatch(/authorization/i);
    expect(output).not.toMatch(/\bToken ey/);
  });

  // Nest re-raises the signal after a clean shutdown unless told to exit (src/app.factory.ts).
  it('exits 0 within a few seconds of SIGTERM', () => {
    expect(exit).toEqual({ code: 0, signal: null, afterMs: expect.any(Number) as unknown });
    expect(exit!.afterMs).toBeLessThan(STOP_TIMEOUT_MS);
  });

  it('writes nothing to stderr', () => {
    expect(stderr).toBe('');
  });
});

/**
 * The same build on a terminal: `script` gives it a pseudo-terminal as stdout, as a shell running
 * `npm run local` does. Outside production the lines are for a person; in production still JSON.
 */
describe('dist/main.js on a terminal', () => {
  const database = uniqueDatabase('logging_tty');

  afterAll(async () => {
    const influxUrl = process.env.INFLUX_URL;
    if (influxUrl) await dropDatabase(influxUrl, database);
  });

  /**
   * Starts the service under `script`, GETs `path` once with the demo token, stops it; everything
   * the terminal showed.
   */
  async function onTerminal(
    env: Record<string, string>,
    requestId: string,
    path = '/ping',
  ): Promise<string> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const port = await freePort();
    const child = spawn('script', ['-qfec', `"${process.execPath}" "${MAIN}"`, '/dev/null'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        TERM: 'dumb',
        PORT: String(port),
        HOST: '127.0.0.1',
        INFLUX_URL: process.env.INFLUX_URL ?? '',
        INFLUX_DATABASE: database,
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const closed = new Promise((resolve) => child.once('close', resolve));
    try {
      await waitForStart(child, () => output);
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: { 'X-Request-Id': requestId, Authorization: `Token ${DEMO_TOKEN}` },
      });
      expect(response.status).toBe(200);
      // The async JSON destination flushes within a second; the pretty one at once.
      const deadline = Date.now() + 3000;
      while (!output.includes(requestId) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await closed;
    }
    return output.replace(/\r/g, '');
  }

  it('writes plain lines a person reads, not JSON, outside production, with no secret', async () => {
    const id = `tty-${randomBytes(4).toString('hex')}`;
    const inQuery = `q_${randomBytes(8).toString('hex')}`;
    const output = await onTerminal(
      { ACCESS_JSON: join(REPO, 'access.json') },
      id,
      `/ping?access_token=${inQuery}`,
    );
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO {2}GET /ping\\?… 200 \\d+ ms req=${id}$`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[NestApplication\] Nest application successfully started/,
      ),
    );
    expect(output).not.toContain(inQuery);
    expect(output).not.toContain(DEMO_TOKEN.slice(0, 24));
    expect(output).not.toMatch(/authorization/i);
  });

  it('writes JSON lines in production, even on a terminal', async () => {
    const id = `tty-${randomBytes(4).toString('hex')}`;
    const secret = randomBytes(64).toString('hex');
    const output = await onTerminal(
      {
        NODE_ENV: 'production',
        STATS_ACCESS_TOKEN: makeToken('tty-user', secret),
        STATS_ACCESS_SECRET: secret,
        ACCESS_JSON: join(REPO, 'no-such-access.json'),
      },
      id,
    );
    // `script` adds its own "Session terminated" line when it is stopped.
    const lines = output.split('\n').filter((line) => line.startsWith('{'));
    expect(output).not.toMatch(/^\d\d:\d\d:\d\d\.\d{3} /m);
    const ping = lines
      .map((line) => JSON.parse(line) as LogLine)
      .find((line) => line.req?.id === id);
    expect(ping).toMatchObject({ req: { method: 'GET', url: '/ping' }, res: { statusCode: 200 } });
  });
});
