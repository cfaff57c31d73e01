/**
 * InfluxDB outages (docs/OPERATIONS.md, "Delivery guarantee"; README "Configuration"; issue "never lose an acknowledged event"): when InfluxDB is
 * unreachable, stopped, or hangs, an accepted event goes to the durable spool and is answered
 * 202 with the body of a 200; the drainer stores it once InfluxDB is back, so every event
 * answered 200 or 202 ends up in InfluxDB. Reading an event that is neither in the spool nor
 * readable from InfluxDB gets 503 with `Retry-After`. (The spool itself: spool.e2e-spec.ts.)
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  influxQuery,
  startInfluxd,
  uniqueDatabase,
  type InfluxdHandle,
} from './support/influxd';
import { get, post, startService, type RunningService } from './support/service';
import { expectSpooled, startSilentServer, waitForStored } from './support/spool';
import { SERVER_ID, unique } from './support/ids';

type Reply = Awaited<ReturnType<typeof post>>;

/** 503, a whole-seconds Retry-After, and the JSON body that repeats it. */
function expectRetryLater(reply: Reply, message: string): void {
  const retryAfter = reply.headers.get('retry-after');
  expect({
    status: reply.status,
    retryAfter,
    contentType: reply.headers.get('content-type'),
  }).toEqual({
    status: 503,
    retryAfter: expect.stringMatching(/^[1-9]\d*$/) as unknown,
    contentType: expect.stringMatching(/^application\/json/) as unknown,
  });
  expect(reply.body).toEqual({
    statusCode: 503,
    error: 'Service Unavailable',
    message,
    retryAfter: Number(retryAfter),
  });
}

/**
 * A service whose InfluxDB is out of reach for the whole describe block. Its spool and database
 * are its own, so that `recover()` can start a second service on the same spool against the
 * run's real InfluxDB, to check that what the first acknowledged with 202 is stored.
 */
function outageService(env: () => Promise<Record<string, string>>) {
  const spoolDir = mkdtempSync(join(tmpdir(), 'stats-spool-down-'));
  const database = uniqueDatabase();
  const holder: { svc?: RunningService; recovered?: RunningService } = {};
  beforeAll(async () => {
    holder.svc = await startService({
      SPOOL_DIR: spoolDir,
      INFLUX_DATABASE: database,
      ...(await env()),
    });
  });
  afterAll(async () => {
    await holder.svc?.close();
    await holder.recovered?.close();
    await rm(spoolDir, { recursive: true, force: true });
  });
  return {
    svc: () => holder.svc!,
    /** Closes the service, then starts one on the same spool and database with InfluxDB up. */
    async recover(): Promise<RunningService> {
      await holder.svc?.close();
      holder.svc = undefined;
      holder.recovered = await startService({
        SPOOL_DIR: spoolDir,
        INFLUX_DATABASE: database,
        SPOOL_DRAIN_LINES_PER_SECOND: '1000000',
      });
      return holder.recovered;
    },
  };
}

describe('InfluxDB unreachable (nothing listens on INFLUX_URL)', () => {
  const outage = outageService(async () => ({
    INFLUX_URL: `http://127.0.0.1:${await freePort()}`,
  }));
  const svc = outage.svc;
  const acknowledged: string[] = [];
  const marker = unique('points');

  it('POST /log/event with an event gets 202 and its id, and the event reads back as queued', async () => {
    const reply = await post(`${svc().url}/log/event`, { event: 'down', uid: 'u1', n: 2 });

    expectSpooled(reply, expect.stringMatching(SERVER_ID));
    const id = reply.body as string;
    acknowledged.push(id);
    const read = await get(`${svc().url}/log/event/${id}`);
    expect({ status: read.status, header: read.headers.get('x-event-status') }).toEqual({
      status: 200,
      header: 'queued',
    });
    expect(read.body).toStrictEqual({
      status: 'queued',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/) as unknown,
      event: 'down',
      event_id: id,
      uid: 'u1',
      n: 2,
    });
  });

  it('POST /log/event with points gets 202 and "OK"', async () => {
    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'down_points', tags: { host: 'a', marker }, fields: { v: 1 } },
    ]);

    expectSpooled(reply, 'OK');
  });

  it('GET /log/event/{id} of an id the spool does not hold gets 503 with Retry-After, not 404', async () => {
    const reply = await get(`${svc().url}/log/event/entry_${'0'.repeat(32)}`);

    expectRetryLater(reply, 'InfluxDB is unavailable; try again later');
    expect(reply.headers.get('x-event-status')).toBeNull();
  });

  it('still refuses a bad token with 401, before looking at InfluxDB', async () => {
    const reply = await post(
      `${svc().url}/log/event`,
      { event: 'down', uid: 'u1' },
      { Authorization: 'Token nope' },
    );

    expect(reply.status).toBe(401);
  });

  it('still refuses an invalid event with 400, before looking at InfluxDB', async () => {
    const reply = await post(`${svc().url}/log/event`, { uid: 'u1' });

    expect(reply.status).toBe(400);
  });

  it('stores everything it acknowledged once a service on the same spool reaches InfluxDB', async () => {
    expect(acknowledged).toHaveLength(1);

    const recovered = await outage.recover();

    await expect(
      waitForStored(recovered.influxUrl, recovered.database, acknowledged),
    ).resolves.toEqual(acknowledged);
    await expect(
      influxQuery(recovered.influxUrl, recovered.database, 'SELECT * FROM "down_points"'),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, host: 'a', marker, v: 1 }]);
  });
});

describe('InfluxDB stops and comes back', () => {
  let influxd: InfluxdHandle;
  let svc: RunningService;

  beforeAll(async () => {
    influxd = await startInfluxd();
    svc = await startService({
      INFLUX_URL: influxd.url,
      SPOOL_DRAIN_LINES_PER_SECOND: '1000000',
    });
  });

  afterAll(async () => {
    await svc?.close();
    await influxd?.stop();
  });

  const storedIds = async (where: string): Promise<string[]> =>
    (
      await influxQuery(
        influxd.url,
        svc.database,
        `SELECT "event_id" FROM "analytics" WHERE ${where}`,
      )
    )
      .map((row) => row.event_id as string)
      .sort();

  it('answers 202 while it is down, 200 once it is up, and stores every acknowledged event', async () => {
    const acknowledged: string[] = [];
    const marker = unique('outage');
    const postEvent = (phase: string) =>
      post(`${svc.url}/log/event`, { event: 'outage', uid: 'u1', phase, marker });

    const before = await postEvent('before');
    expect(before.status).toBe(200);
    acknowledged.push(before.body as string);

    await influxd.down();
    try {
      const during = await postEvent('during');
      expectSpooled(during, expect.stringMatching(SERVER_ID));
      acknowledged.push(during.body as string);
      const duringPoints = await post(`${svc.url}/log/event`, [
        { measurement: 'outage_points', tags: { marker }, fields: { v: 1 } },
      ]);
      expectSpooled(duringPoints, 'OK');
    } finally {
      await influxd.up();
    }
    const after = await postEvent('after');
    expect(after.status).toBe(200);
    acknowledged.push(after.body as string);

    await waitForStored(influxd.url, svc.database, acknowledged);
    await expect(storedIds(`"marker" = '${marker}'`)).resolves.toEqual([...acknowledged].sort());
    await expect(
      influxQuery(
        influxd.url,
        svc.database,
        `SELECT "event_id" FROM "analytics" WHERE "phase" = 'during'`,
      ),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, event_id: acknowledged[1] }]);
    await expect(
      influxQuery(influxd.url, svc.database, `SELECT "v" FROM "outage_points"`),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, v: 1 }]);
  });

  it('a service started while InfluxDB is down spools, then stores events once InfluxDB comes up', async () => {
    await influxd.down();
    let late: RunningService | undefined;
    try {
      late = await startService({
        INFLUX_URL: influxd.url,
        SPOOL_DRAIN_LINES_PER_SECOND: '1000000',
      });
      const spooled = await post(`${late.url}/log/event`, { event: 'late', uid: 'u1' });
      expectSpooled(spooled, expect.stringMatching(SERVER_ID));
      expect((await get(`${late.url}/ready`, {})).status).toBe(503);
      await influxd.up();

      const reply = await post(`${late.url}/log/event`, { event: 'late', uid: 'u1' });

      expect(reply).toMatchObject({
        status: 200,
        body: expect.stringMatching(SERVER_ID) as unknown,
      });
      expect((await get(`${late.url}/ready`, {})).status).toBe(200);
      const ids = [spooled.body as string, reply.body as string].sort();
      await expect(waitForStored(influxd.url, late.database, ids)).resolves.toEqual(ids);
    } finally {
      await influxd.up();
      await late?.close();
    }
  });

  // An event answered 202 is stored by the drainer, and only then does its field have a type:
  // later events are checked against that type.
  it('a field of an event answered 202 gets its type when the drainer stores it', async () => {
    const field = unique('f');
    const warm = await post(`${svc.url}/log/event`, { event: 'types', uid: 'u3' });
    expect(warm.status).toBe(200);

    await influxd.down();
    let during: Reply;
    try {
      during = await post(`${svc.url}/log/event`, { event: 'types', uid: 'u3', [field]: 1 });
    } finally {
      await influxd.up();
    }
    expectSpooled(during, expect.stringMatching(SERVER_ID));
    await waitForStored(influxd.url, svc.database, [during.body as string]);
    await expect(
      influxQuery(influxd.url, svc.database, `SHOW FIELD KEYS FROM "analytics"`),
    ).resolves.toContainEqual({ fieldKey: field, fieldType: 'float' });

    const after = await post(`${svc.url}/log/event`, {
      event: 'types',
      uid: 'u3',
      [field]: 'text',
    });

    expect(after).toMatchObject({
      status: 400,
      body: { key: field, stored: 'float', incoming: 'string' },
    });
  });

  it('under steady traffic across a restart, every event answered 200 or 202 is stored', async () => {
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let sending = true;

    const sender = (async () => {
      // Bounded: stops when told to, or after 400 requests whatever happens.
      for (let i = 0; sending && i < 400; i++) {
        const reply = await post(`${svc.url}/log/event`, {
          event: 'traffic',
          uid: 'u2',
          n: i,
        });
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status === 200) expect(reply.body).toMatch(SERVER_ID);
        else expectSpooled(reply, expect.stringMatching(SERVER_ID));
        acknowledged.push(reply.body as string);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await influxd.down();
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await influxd.up();
    }
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      sending = false;
      await sender;
    }

    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(202)).toBeGreaterThan(0);
    expect([...statuses.keys()].sort()).toEqual([200, 202]);
    // The drainer's backoff (at most 10 s) may be what stands between the restart and the replay.
    await waitForStored(influxd.url, svc.database, acknowledged, 20_000);
    await expect(storedIds(`"event" = 'traffic'`)).resolves.toEqual(acknowledged.sort());
  }, 60_000);
});

describe('InfluxDB accepts connections but never answers', () => {
  const TIMEOUT_MS = 500;
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  const outage = outageService(async () => {
    silent = await startSilentServer();
    return { INFLUX_URL: silent.url, INFLUX_TIMEOUT_MS: String(TIMEOUT_MS) };
  });
  const svc = outage.svc;
  const acknowledged: string[] = [];

  afterAll(async () => {
    await silent?.stop();
  });

  // The field types cannot be read (INFLUX_TIMEOUT_MS), nor would a write be acknowledged
  // within WRITE_DEADLINE_MS (2 s): the event is spooled, after the shorter of the two.
  it('POST /log/event gets 202 within about INFLUX_TIMEOUT_MS', async () => {
    const started = Date.now();
    const reply = await post(`${svc().url}/log/event`, { event: 'hang', uid: 'u1' });
    const elapsed = Date.now() - started;

    expectSpooled(reply, expect.stringMatching(SERVER_ID));
    acknowledged.push(reply.body as string);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.8);
    expect(elapsed).toBeLessThan(TIMEOUT_MS * 2 + 1000);
  });

  it('a second event also gets 202 within about INFLUX_TIMEOUT_MS', async () => {
    const started = Date.now();
    const reply = await post(`${svc().url}/log/event`, { event: 'hang', uid: 'u2' });
    const elapsed = Date.now() - started;

    expectSpooled(reply, expect.stringMatching(SERVER_ID));
    acknowledged.push(reply.body as string);
    expect(elapsed).toBeLessThan(TIMEOUT_MS * 2 + 1000);
  });

  it('stores both once a service on the same spool reaches InfluxDB', async () => {
    expect(acknowledged).toHaveLength(2);

    const recovered = await outage.recover();

    const ids = [...acknowledged].sort();
    await expect(waitForStored(recovered.influxUrl, recovered.database, ids)).resolves.toEqual(ids);
  });
});
