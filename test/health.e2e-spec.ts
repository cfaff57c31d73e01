/**
 * Liveness and readiness (README "The API"): `/` and `/ping` answer 200 whatever InfluxDB does, so a
 * liveness probe never restarts a pod for a database outage; `/ready` has three checks (shutdown,
 * influxdb, spool) and follows InfluxDB here (the spool check: spool.e2e-spec.ts).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { dropDatabase, freePort, influxQuery } from './support/influxd';
import { AUTH, REPO, startService, type RunningService } from './support/service';
import { startSilentServer } from './support/spool';

const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
};

const LIVENESS_PATHS = ['/', '/ping', '/ping/'];

/** The spool check of /ready with nothing spooled (SPOOL_MAX_BYTES at its default, 1 GiB). */
const EMPTY_SPOOL = { status: 'up', bytes: 0, records: 0, maxBytes: 1024 ** 3 };

/** Status, content type and parsed body of a request without a token. */
async function call(method: 'GET' | 'HEAD', url: string) {
  const response = await fetch(url, { method });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** The liveness body: these three keys first, more may follow (README "The API"). */
function expectLivenessBody(body: Record<string, unknown> | undefined): void {
  expect(body).toBeDefined();
  expect(Object.keys(body!).slice(0, 3)).toEqual(['status', 'name', 'version']);
  expect(body).toMatchObject({ status: 'ok', name: 'stats-service', version });
}

describe('health routes against a running InfluxDB', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService();
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it.each(LIVENESS_PATHS)('GET %s answers 200 with status, name and version', async (path) => {
    const reply = await call('GET', `${svc.url}${path}`);

    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/json/);
    expectLivenessBody(reply.body);
  });

  it.each(LIVENESS_PATHS)('HEAD %s answers 200 with no body', async (path) => {
    const reply = await call('HEAD', `${svc.url}${path}`);

    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/json/);
    expect(reply.text).toBe('');
  });

  it.each(['/ready', '/ready/'])('GET %s answers 200 with every check up', async (path) => {
    const reply = await call('GET', `${svc.url}${path}`);

    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/json/);
    const checks = {
      shutdown: { status: 'up' },
      influxdb: { status: 'up', mode: 'v1' },
      spool: EMPTY_SPOOL,
    };
    expect(reply.body).toEqual({ status: 'ok', info: checks, error: {}, details: checks });
  });

  it('does not redirect a trailing slash', async () => {
    const response = await fetch(`${svc.url}/ping/`, { redirect: 'manual' });
    await response.text();

    expect(response.status).toBe(200);
  });
});

describe('health routes while InfluxDB is unreachable', () => {
  let svc: RunningService;

  beforeAll(async () => {
    // A port nothing listens on: connections are refused at once.
    svc = await startService({ INFLUX_URL: `http://127.0.0.1:${await freePort()}` });
  });

  afterAll(async () => {
    await svc?.close();
  });

  it.each(LIVENESS_PATHS)('GET %s still answers 200 (liveness)', async (path) => {
    const reply = await call('GET', `${svc.url}${path}`);

    expect(reply.status).toBe(200);
    expectLivenessBody(reply.body);
  });

  it.each(LIVENESS_PATHS)('HEAD %s still answers 200 (liveness)', async (path) => {
    const reply = await call('HEAD', `${svc.url}${path}`);

    expect(reply.status).toBe(200);
  });

  it.each(['/ready', '/ready/'])(
    'GET %s answers 503 with the influxdb check down and the others up',
    async (path) => {
      const reply = await call('GET', `${svc.url}${path}`);

      expect(reply.status).toBe(503);
      expect(reply.contentType).toMatch(/^application\/json/);
      const influxdb = {
        status: 'down',
        mode: 'v1',
        message: expect.stringMatching(/^InfluxDB unreachable: .*ECONNREFUSED/) as unknown,
      };
      const up = { shutdown: { status: 'up' }, spool: EMPTY_SPOOL };
      expect(reply.body).toEqual({
        status: 'error',
        info: up,
        error: { influxdb },
        details: { shutdown: up.shutdown, influxdb, spool: up.spool },
      });
    },
  );
});

describe('health routes while InfluxDB accepts connections but never answers', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let svc: RunningService;

  beforeAll(async () => {
    silent = await startSilentServer();
    svc = await startService({ INFLUX_URL: silent.url, INFLUX_TIMEOUT_MS: '1000' });
  });

  afterAll(async () => {
    await svc?.close();
    await silent?.stop();
  });

  it('GET /ping answers 200 at once', async () => {
    const started = Date.now();
    const reply = await call('GET', `${svc.url}/ping`);

    expect(reply.status).toBe(200);
    expectLivenessBody(reply.body);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('GET /ready answers 503 within a few seconds, not when the client gives up', async () => {
    const started = Date.now();
    const reply = await call('GET', `${svc.url}/ready`);

    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({
      status: 'error',
      error: { influxdb: { status: 'down', mode: 'v1' } },
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('shutdown with a keep-alive request in flight', () => {
  let svc: RunningService | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  afterAll(async () => {
    agent.destroy();
    await svc?.close().catch(() => undefined);
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  // Regression: the answer to a request already being served when shutdown began kept its
  // connection open for the keep-alive timeout (65 s). The closing service waited for it, and
  // took the next request sent on it: in the e2e run, a client that later wrote to another
  // service on the same port could have its event acknowledged by this one, into its database.
  it('answers it, then closes its connection, and finishes shutting down', async () => {
    svc = await startService();
    const body = JSON.stringify({ event: 'in.flight', uid: 'u' });
    let socket: Socket | undefined;
    let closing: Promise<void> | undefined;
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${svc!.url}/log/event`,
        {
          method: 'POST',
          agent,
          headers: {
            ...AUTH,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.on('socket', (s) => (socket = s));
      // The headers and part of the body are in; shutdown starts; then the rest arrives.
      req.write(body.slice(0, 5));
      void (async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        closing = svc!.close();
        await new Promise((resolve) => setTimeout(resolve, 300));
        req.end(body.slice(5));
      })();
    });

    expect(reply.status).toBe(200);
    const outcome = await Promise.race([
      new Promise<string>((resolve) =>
        socket!.destroyed ? resolve('closed') : socket!.once('close', () => resolve('closed')),
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10_000).unref()),
    ]);
    expect(outcome).toBe('closed');
    await closing;
    const id = JSON.parse(reply.text) as string;
    await expect(
      influxQuery(
        svc.influxUrl,
        svc.database,
        `SELECT "uid" FROM "analytics" WHERE "event_id" = '${id}'`,
      ),
    ).resolves.toHaveLength(1);
  });
});
