/**
 * The client under back-pressure (docs/CLIENT.md, "Back-pressure and shutdown"), against the
 * real service and a real InfluxDB: it waits out Retry-After (429 from the rate limit, 503 from
 * a full spool) before it tries again, never gives up an event refused with 429 or 503 while it
 * runs, delivers every event logged during a spike against the service as shipped, and at
 * shutdown reports what it could not deliver (onError, else one warning on stderr).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics, StatsError } from '../src/client';
import {
  dropDatabase,
  freePort,
  influxQuery,
  startInfluxd,
  uniqueDatabase,
  type InfluxdHandle,
} from './support/influxd';
import { DEMO_TOKEN, post, REPO, startService, type RunningService } from './support/service';
import { eventually } from './support/spool';

/** One POST /log/events the client sent: when, and what came back. */
interface Attempt {
  at: number;
  status: number;
  retryAfterMs?: number;
}

/**
 * Watches the client's batch requests (POST .../log/events) on their way through the real
 * fetch: nothing is changed, every answer is the service's.
 */
function watchBatches(): Attempt[] {
  const attempts: Attempt[] = [];
  const realFetch = globalThis.fetch.bind(globalThis);
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const batch = init?.method === 'POST' && url.endsWith('/log/events');
    const at = Date.now();
    try {
      const response = await realFetch(input, init);
      if (batch) {
        const retryAfter = response.headers.get('retry-after');
        attempts.push({
          at,
          status: response.status,
          ...(retryAfter === null ? {} : { retryAfterMs: Number(retryAfter) * 1000 }),
        });
      }
      return response;
    } catch (error) {
      if (batch) attempts.push({ at, status: 0 });
      throw error;
    }
  });
  return attempts;
}

function marker(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

async function storedIds(influxUrl: string, database: string, run: string): Promise<string[]> {
  const rows = await influxQuery(
    influxUrl,
    database,
    `SELECT "event_id" FROM "analytics" WHERE "run" = '${run}'`,
  );
  return rows.map((row) => row.event_id as string).sort();
}

/** Every wait after a 429 or 503 lasted at least its Retry-After. */
function waitsHonoured(attempts: Attempt[]): Array<{ waited: number; retryAfterMs: number }> {
  return attempts.slice(0, -1).flatMap((attempt, i) => {
    const { retryAfterMs } = attempt;
    if (retryAfterMs === undefined || (attempt.status !== 429 && attempt.status !== 503)) {
      return [];
    }
    return [{ waited: attempts[i + 1]!.at - attempt.at, retryAfterMs }];
  });
}

afterEach(() => jest.restoreAllMocks());

describe('429 from the rate limit (RATE_LIMIT_PER_SECOND=2, BURST=2)', () => {
  let svc: RunningService;

  beforeAll(async () => {
    // Overrides: a rate limit, so that the service answers 429 with Retry-After on cue.
    svc = await startService({ RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '2' });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('waits out every Retry-After, and delivers each event exactly once', async () => {
    const attempts = watchBatches();
    const run = marker('ratelimited');
    const errors: StatsError[] = [];
    const client = new Analytics({
      url: svc.url,
      accessToken: DEMO_TOKEN,
      tags: { run },
      maxBatchEvents: 10,
      flushIntervalMs: 0,
      onError: (error) => errors.push(error),
    });
    const ids: string[] = [];
    for (let n = 0; n < 60; n++) ids.push(await client.log({ event: 'bp.rate', uid: 'u', n }));

    await client.flush();

    expect(errors).toEqual([]);
    expect(await storedIds(svc.influxUrl, svc.database, run)).toEqual([...ids].sort());
    expect(attempts.filter((attempt) => attempt.status === 429).length).toBeGreaterThan(0);
    const waits = waitsHonoured(attempts);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.filter(({ waited, retryAfterMs }) => waited < retryAfterMs)).toEqual([]);
    await client.shutdown();
  }, 60_000);
});

describe('503 while InfluxDB is down and the spool full (SPOOL_MAX_BYTES=1048576)', () => {
  let influxd: InfluxdHandle;
  let svc: RunningService;

  beforeAll(async () => {
    influxd = await startInfluxd();
    // Overrides: an InfluxDB of its own, to stop and start; the smallest spool, to fill.
    svc = await startService({ INFLUX_URL: influxd.url, SPOOL_MAX_BYTES: String(1024 * 1024) });
  });

  afterAll(async () => {
    await svc?.close();
    await influxd?.stop();
  });

  it('keeps every refused event until the service takes it again, then delivers it', async () => {
    const pad = 'x'.repeat(60 * 1024);
    expect((await post(`${svc.url}/log/event`, { event: 'warm', uid: 'w' })).status).toBe(200);
    await influxd.down();
    let up = false;
    try {
      // Fill the spool: ~60 KiB per event, about 17 fit.
      for (let i = 0; i < 40; i++) {
        if (
          (await post(`${svc.url}/log/event`, { event: 'fill', uid: `u${i}`, pad })).status === 503
        )
          break;
      }
      const attempts = watchBatches();
      const run = marker('spoolfull');
      const errors: StatsError[] = [];
      const client = new Analytics({
        url: svc.url,
        accessToken: DEMO_TOKEN,
        tags: { run },
        flushIntervalMs: 0,
        onError: (error) => errors.push(error),
      });
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) ids.push(await client.log({ event: 'bp.full', uid: 'u', n }));
      await eventually('two 503 answers to the client', () =>
        Promise.resolve(attempts.filter((a) => a.status === 503).length >= 2 || undefined),
      );
      expect(client.pending).toBe(5);

      await influxd.up();
      up = true;
      const left = await client.shutdown();

      expect({ left, errors }).toEqual({ left: [], errors: [] });
      await eventually('the spool drained and the events stored', async () => {
        const stored = await storedIds(influxd.url, svc.database, run);
        return stored.length === ids.length ? stored : undefined;
      });
      expect(await storedIds(influxd.url, svc.database, run)).toEqual([...ids].sort());
      const waits = waitsHonoured(attempts);
      expect(waits.filter(({ waited, retryAfterMs }) => waited < retryAfterMs)).toEqual([]);
    } finally {
      if (!up) await influxd.up();
    }
  }, 90_000);
});

describe('a spike against the service as shipped (node dist/main.js, its defaults)', () => {
  let dir: string;
  let database: string;
  let port: number;
  let service: ReturnType<typeof spawn>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'client-spike-'));
    database = uniqueDatabase('spike');
    port = await freePort();
    service = spawn(process.execPath, [join(REPO, 'dist', 'main.js')], {
      cwd: REPO,
      // No override of any limit: the service as it ships, on a port and database of its own.
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        INFLUX_URL: process.env.INFLUX_URL ?? '',
        INFLUX_DATABASE: database,
        ACCESS_JSON: join(REPO, 'access.json'),
        SPOOL_DIR: join(dir, 'spool'),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    await eventually('the service answers /ping', async () =>
      (await fetch(`http://127.0.0.1:${port}/ping`)).ok ? true : undefined,
    );
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
    if (database) await dropDatabase(process.env.INFLUX_URL!, database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * 400 connections from a process of their own, each posting one event after another for
   * `seconds`, paying no heed to Retry-After (what a naive caller does).
   */
  function spike(seconds: number): Promise<void> {
    const script = `
      const http = require('node:http');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 400 });
      const until = Date.now() + ${seconds * 1000};
      const body = JSON.stringify({ event: 'spike', uid: 'naive' });
      const one = () => new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: ${port}, path: '/log/event', method: 'POST', agent,
          headers: { Authorization: 'Token ${DEMO_TOKEN}', 'Content-Type': 'application/json' } },
          (res) => { res.resume(); res.on('end', resolve); });
        req.on('error', resolve);
        req.end(body);
      });
      const loop = async () => { while (Date.now() < until) await one(); };
      Promise.all(Array.from({ length: 400 }, loop)).then(() => process.exit(0));
    `;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', () => resolve());
    });
  }

  it('delivers every event logged during the spike, each once, and gives none up', async () => {
    const attempts = watchBatches();
    const run = marker('spike');
    const errors: StatsError[] = [];
    const client = new Analytics({
      url: `http://127.0.0.1:${port}`,
      accessToken: DEMO_TOKEN,
      tags: { run },
      maxBatchEvents: 20,
      flushIntervalMs: 50,
      shutdownTimeoutMs: 30_000,
      onError: (error) => errors.push(error),
    });
    const ids: string[] = [];
    const spiking = spike(4);
    const logging = (async () => {
      for (let n = 0; n < 200; n++) {
        ids.push(await client.log({ event: 'bp.spike', uid: 'u', n }));
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    await Promise.all([spiking, logging]);

    const left = await client.shutdown();

    expect({ left, errors }).toEqual({ left: [], errors: [] });
    expect(await storedIds(process.env.INFLUX_URL!, database, run)).toEqual([...ids].sort());
    // Whatever the service answered under the spike, it was an answer the client knows.
    expect(attempts.filter((a) => ![200, 202, 429, 503].includes(a.status))).toEqual([]);
    expect(
      waitsHonoured(attempts).filter(({ waited, retryAfterMs }) => waited < retryAfterMs),
    ).toEqual([]);
  }, 90_000);
});

describe('what it cannot deliver, in a process without onError (the built dist/client)', () => {
  let svc: RunningService;

  beforeAll(async () => {
    // Overrides: a rate limit, so that some events are still refused (429) at the deadline.
    svc = await startService({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  /** Runs a CommonJS script with the built client; its exit code, stdout and stderr. */
  function node(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], {
        cwd: REPO,
        env: { PATH: process.env.PATH ?? '' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('a refused token: one warning on stderr, whatever the number of events, without the token', async () => {
    const wrong = `${DEMO_TOKEN.slice(0, -8)}AAAAAA==`;
    const { code, stderr } = await node(`
      const { Analytics } = require('stats-service/client');
      const client = Analytics.init({ url: ${JSON.stringify(svc.url)}, accessToken: ${JSON.stringify(wrong)}, maxBatchEvents: 1, flushIntervalMs: 0 });
      (async () => {
        for (let n = 0; n < 3; n++) await client.log({ event: 'bp.token', uid: '', n });
        await client.shutdown();
      })();
    `);
    expect(code).toBe(0);
    const warnings = stderr.split('\n').filter((line) => line.includes('StatsServiceWarning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /StatsServiceWarning: stats-service refused the access token \(401: [a-z ]+\); 1 event\(s\) not delivered: check accessToken/,
    );
    expect(stderr).not.toContain(wrong.slice(0, 20));
  });

  it('at shutdown: the events left are reported once on stderr, with why, and returned', async () => {
    const { code, stdout, stderr } = await node(`
      const { Analytics } = require('stats-service/client');
      const client = Analytics.init({ url: ${JSON.stringify(svc.url)}, accessToken: ${JSON.stringify(DEMO_TOKEN)}, maxBatchEvents: 1, flushIntervalMs: 0, shutdownTimeoutMs: 1500 });
      (async () => {
        for (let n = 0; n < 10; n++) await client.log({ event: 'bp.shutdown', uid: '', n });
        const left = await client.shutdown();
        process.stdout.write(String(left.length));
      })();
    `);
    expect(code).toBe(0);
    const left = Number(stdout);
    // One per second gets through: most of the ten are left at 1.5 s.
    expect(left).toBeGreaterThan(0);
    const warnings = stderr.split('\n').filter((line) => line.includes('StatsServiceWarning'));
    expect(warnings).toEqual([
      expect.stringContaining(
        `StatsServiceWarning: ${left} event(s) not delivered to stats-service within shutdownTimeoutMs (1500 ms); the last try: too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored`,
      ),
    ]);
  });
});
