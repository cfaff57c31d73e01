/**
 * Wrong InfluxDB credentials are loud (docs/OPERATIONS.md, "Wrong credentials are loud"): against
 * a real influxd with authentication on, a service whose INFLUX_PASSWORD is wrong answers 202 and
 * keeps the events in its spool, fails /ready naming the variables (never their values), logs one
 * error line (at most one a minute), counts the refusals, and stores everything once InfluxDB
 * takes the credentials, without a restart. The service is the build (dist/main.js), so that its
 * log lines are read as an operator would read them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  httpRequest,
  startInfluxd,
  uniqueDatabase,
  type InfluxdHandle,
} from './support/influxd';
import { get, post, REPO } from './support/service';
import { DRAIN_WAIT_MS, eventually } from './support/spool';

const USER = 'stats';
const RIGHT = `right-${randomBytes(6).toString('hex')}`;
const WRONG = `wrong-${randomBytes(6).toString('hex')}`;

/** InfluxQL as the admin (`u`/`p`): the harness's helpers speak to an InfluxDB without auth. */
async function admin(url: string, q: string, db = '', password = RIGHT) {
  const params = new URLSearchParams({ q, u: USER, p: password, db });
  const reply = await httpRequest('POST', `${url}/query?${params.toString()}`);
  const body = JSON.parse(reply.body) as {
    error?: string;
    results?: Array<{ error?: string; series?: Array<{ values?: unknown[][] }> }>;
  };
  const error = body.error ?? body.results?.find((result) => result.error)?.error;
  if (reply.status >= 400 || error) throw new Error(`${q}: ${reply.status} ${error ?? ''}`);
  return body.results?.[0]?.series?.[0]?.values ?? [];
}

describe('an InfluxDB that refuses the service credentials (authentication on)', () => {
  let influxd: InfluxdHandle;
  let service: ChildProcess | undefined;
  let url = '';
  const output: string[] = [];
  const database = uniqueDatabase('creds');
  const spoolDir = mkdtempSync(join(tmpdir(), 'stats-spool-creds-'));
  const acknowledged: string[] = [];

  /** The service's own error lines (level 50) about the credentials (not /ready's answers). */
  const credentialErrors = () =>
    output
      .join('')
      .split('\n')
      .filter(
        (line) =>
          line.includes('"level":50') &&
          line.includes('"context":"InfluxService"') &&
          line.includes('INFLUX_PASSWORD'),
      );

  beforeAll(async () => {
    // Override: authentication on, the one thing this file is about.
    influxd = await startInfluxd({ env: { INFLUXDB_HTTP_AUTH_ENABLED: 'true' } });
    // InfluxDB takes its first admin user without credentials.
    await admin(influxd.url, `CREATE USER "${USER}" WITH PASSWORD '${RIGHT}' WITH ALL PRIVILEGES`);
    await admin(influxd.url, `CREATE DATABASE "${database}"`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    service = spawn(process.execPath, [join(REPO, 'dist', 'main.js')], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        INFLUX_URL: influxd.url,
        INFLUX_DATABASE: database,
        // The override this file is about: a password InfluxDB refuses.
        INFLUX_USERNAME: USER,
        INFLUX_PASSWORD: WRONG,
        ACCESS_JSON: join(REPO, 'access.json'),
        SPOOL_DIR: spoolDir,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    service.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    await eventually('the service answers /ping', async () => {
      const reply = await get(`${url}/ping`, {}).catch(() => undefined);
      return reply?.status === 200 ? reply : undefined;
    });
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service!.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
    await influxd?.stop();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('answers 202 with the ids, and keeps the events in the spool', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await post(`${url}/log/event`, { event: 'creds', uid: `u${i}` });
      expect(reply.status).toBe(202);
      acknowledged.push(reply.body as string);
    }
    const read = await get(`${url}/log/event/${acknowledged[0]!}`);

    expect(read.headers.get('x-event-status')).toBe('queued');
    await expect(admin(influxd.url, 'SELECT count(*) FROM "analytics"', database)).resolves.toEqual(
      [],
    );
  });

  it('fails /ready naming INFLUX_USERNAME/INFLUX_PASSWORD, never their values', async () => {
    const ready = await get(`${url}/ready`, {});

    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'error',
      error: {
        influxdb: {
          status: 'down',
          mode: 'v1',
          message: 'InfluxDB refuses INFLUX_USERNAME/INFLUX_PASSWORD (401)',
        },
      },
      info: { spool: { status: 'up', records: 3 } },
    });
    expect(JSON.stringify(ready.body)).not.toContain(WRONG);
    expect(JSON.stringify(ready.body)).not.toContain(USER);
  });

  it('logs one error line about it however many answers refused them, and never the values', async () => {
    for (let i = 0; i < 5; i++) {
      const reply = await post(`${url}/log/event`, { event: 'creds', uid: `more${i}` });
      expect(reply.status).toBe(202);
      acknowledged.push(reply.body as string);
    }

    expect(credentialErrors()).toHaveLength(1);
    expect(credentialErrors()[0]).toContain(
      'InfluxDB refuses INFLUX_USERNAME/INFLUX_PASSWORD (401); events are kept in the spool until this is fixed',
    );
    expect(output.join('')).not.toContain(WRONG);
    expect(output.join('')).not.toContain(RIGHT);
  });

  it('counts every refusal in stats_influx_credentials_refused_total', async () => {
    const metrics = await get(`${url}/metrics`, {});
    const count = /^stats_influx_credentials_refused_total (\d+)$/m.exec(metrics.body as string);

    expect(Number(count?.[1])).toBeGreaterThanOrEqual(acknowledged.length);
  });

  it('stores every acknowledged event once InfluxDB takes the credentials, and /ready is 200 again', async () => {
    // The configuration is fixed on InfluxDB's side: no restart of the service.
    await admin(influxd.url, `SET PASSWORD FOR "${USER}" = '${WRONG}'`);

    const stored = await eventually(
      `${acknowledged.length} events in InfluxDB`,
      async () => {
        const rows = await admin(
          influxd.url,
          'SELECT "event_id" FROM "analytics"',
          database,
          WRONG,
        );
        return rows.length >= acknowledged.length ? rows.map((row) => row[1]) : undefined;
      },
      DRAIN_WAIT_MS,
      250,
    );
    const ready = await eventually('/ready answers 200', async () => {
      const reply = await get(`${url}/ready`, {});
      return reply.status === 200 ? reply : undefined;
    });

    expect([...stored].sort()).toEqual([...acknowledged].sort());
    expect(ready.body).toMatchObject({ info: { influxdb: { status: 'up' } } });
    expect(credentialErrors()).toHaveLength(1);
  });
});
