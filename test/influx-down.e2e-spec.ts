/**
 * InfluxDB outages (CONTRACT §4, §8): when InfluxDB is unreachable, stopped, or hangs, an event
 * gets 503 with `Retry-After` and a JSON body, never a 2xx; once InfluxDB is back, events are
 * stored again; and no event that was answered 200 is missing from InfluxDB.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { freePort, influxQuery, startInfluxd, type InfluxdHandle } from './support/influxd';
import { get, post, startService, type RunningService } from './support/service';

const UNAVAILABLE = {
  statusCode: 503,
  error: 'Service Unavailable',
  message: 'InfluxDB is unavailable; nothing was stored, try again later',
};

type Reply = Awaited<ReturnType<typeof post>>;

function unique(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** 503, a whole-seconds Retry-After, and the JSON body that repeats it. */
function expectRetryLater(reply: Reply): void {
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
  expect(reply.body).toEqual({ ...UNAVAILABLE, retryAfter: Number(retryAfter) });
}

/** A TCP server that accepts connections and never answers: an InfluxDB that hangs. */
async function startSilentServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('InfluxDB unreachable (nothing listens on INFLUX_URL)', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService({ INFLUX_URL: `http://127.0.0.1:${await freePort()}` });
  });

  afterAll(async () => {
    await svc?.close();
  });

  it('POST /log/event with an event gets 503 with Retry-After and a JSON body', async () => {
    const reply = await post(`${svc.url}/log/event`, { event: 'down', uid: 'u1' });

    expectRetryLater(reply);
  });

  it('POST /log/event with points gets 503 with Retry-After and a JSON body', async () => {
    const reply = await post(`${svc.url}/log/event`, [
      { measurement: 'down_points', tags: { host: 'a' }, fields: { v: 1 } },
    ]);

    expectRetryLater(reply);
  });

  it('GET /log/event/{id} gets 503 with Retry-After, not 404', async () => {
    const reply = await get(`${svc.url}/log/event/entry_${'0'.repeat(32)}`);

    expectRetryLater(reply);
  });

  it('still refuses a bad token with 401, before looking at InfluxDB', async () => {
    const reply = await post(
      `${svc.url}/log/event`,
      { event: 'down', uid: 'u1' },
      { Authorization: 'Token nope' },
    );

    expect(reply.status).toBe(401);
  });

  it('still refuses an invalid event with 400, before looking at InfluxDB', async () => {
    const reply = await post(`${svc.url}/log/event`, { uid: 'u1' });

    expect(reply.status).toBe(400);
  });
});

describe('InfluxDB stops and comes back', () => {
  let influxd: InfluxdHandle;
  let svc: RunningService;

  beforeAll(async () => {
    influxd = await startInfluxd();
    svc = await startService({ INFLUX_URL: influxd.url });
  });

  afterAll(async () => {
    await svc?.close();
    await influxd?.stop();
  });

  const storedIds = async (): Promise<string[]> =>
    (await influxQuery(influxd.url, svc.database, 'SELECT "event_id" FROM "analytics"')).map(
      (row) => row.event_id as string,
    );

  it('answers 503 while it is down, 200 once it is up, and loses no acknowledged event', async () => {
    const acknowledged: string[] = [];
    const postEvent = (phase: string) =>
      post(`${svc.url}/log/event`, { event: 'outage', uid: 'u1', phase, marker: unique(phase) });

    const before = await postEvent('before');
    expect(before.status).toBe(200);
    acknowledged.push(before.body as string);

    await influxd.down();
    try {
      const during = await postEvent('during');
      expectRetryLater(during);
      const duringPoints = await post(`${svc.url}/log/event`, [
        { measurement: 'outage_points', fields: { v: 1 } },
      ]);
      expectRetryLater(duringPoints);
    } finally {
      await influxd.up();
    }
    const after = await postEvent('after');
    expect(after.status).toBe(200);
    acknowledged.push(after.body as string);

    const stored = await storedIds();
    expect(stored.sort()).toEqual([...acknowledged].sort());
    await expect(
      influxQuery(influxd.url, svc.database, 'SELECT * FROM "analytics" WHERE phase = \'during\''),
    ).resolves.toEqual([]);
  });

  it('a service started while InfluxDB is down stores events once InfluxDB comes up', async () => {
    await influxd.down();
    let late: RunningService | undefined;
    try {
      late = await startService({ INFLUX_URL: influxd.url });
      expectRetryLater(await post(`${late.url}/log/event`, { event: 'late', uid: 'u1' }));
      expect((await get(`${late.url}/ready`, {})).status).toBe(503);
      await influxd.up();

      const reply = await post(`${late.url}/log/event`, { event: 'late', uid: 'u1' });

      expect(reply.status).toBe(200);
      expect((await get(`${late.url}/ready`, {})).status).toBe(200);
      await expect(
        influxQuery(influxd.url, late.database, 'SELECT "event_id" FROM "analytics"'),
      ).resolves.toEqual([{ time: expect.any(String) as unknown, event_id: reply.body }]);
    } finally {
      await influxd.up();
      await late?.close();
    }
  });

  // An event answered 503 stored nothing, so its new fields must not count as stored types: a
  // later event that gives such a field another type is no conflict (InfluxDB holds no such
  // field), and a 400 would make the client drop a valid event.
  it('a field of an event answered 503 does not fix that field type for later events', async () => {
    const field = unique('f');
    const warm = await post(`${svc.url}/log/event`, { event: 'types', uid: 'u3' });
    expect(warm.status).toBe(200);

    await influxd.down();
    try {
      const during = await post(`${svc.url}/log/event`, { event: 'types', uid: 'u3', [field]: 1 });
      expectRetryLater(during);
    } finally {
      await influxd.up();
    }
    await expect(
      influxQuery(influxd.url, svc.database, `SHOW FIELD KEYS FROM "analytics"`),
    ).resolves.not.toContainEqual(expect.objectContaining({ fieldKey: field }));

    const after = await post(`${svc.url}/log/event`, {
      event: 'types',
      uid: 'u3',
      [field]: 'text',
    });

    expect(after).toMatchObject({ status: 200, body: expect.stringMatching(/^entry_/) as unknown });
  });

  it('under steady traffic across a restart, every event answered 200 is stored', async () => {
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
        if (reply.status === 200) acknowledged.push(reply.body as string);
        else expectRetryLater(reply);
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
    expect(statuses.get(503)).toBeGreaterThan(0);
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    const stored = new Set(
      (
        await influxQuery(
          influxd.url,
          svc.database,
          `SELECT "event_id" FROM "analytics" WHERE "event" = 'traffic'`,
        )
      ).map((row) => row.event_id as string),
    );
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});

describe('InfluxDB accepts connections but never answers', () => {
  const TIMEOUT_MS = 500;
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let svc: RunningService;

  beforeAll(async () => {
    silent = await startSilentServer();
    svc = await startService({ INFLUX_URL: silent.url, INFLUX_TIMEOUT_MS: String(TIMEOUT_MS) });
  });

  afterAll(async () => {
    await svc?.close();
    await silent?.stop();
  });

  it('POST /log/event gets 503 with Retry-After within about INFLUX_TIMEOUT_MS', async () => {
    const started = Date.now();
    const reply = await post(`${svc.url}/log/event`, { event: 'hang', uid: 'u1' });
    const elapsed = Date.now() - started;

    expectRetryLater(reply);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.8);
    expect(elapsed).toBeLessThan(TIMEOUT_MS * 2 + 1000);
  });

  it('a second event also gets 503 within about INFLUX_TIMEOUT_MS', async () => {
    const started = Date.now();
    const reply = await post(`${svc.url}/log/event`, { event: 'hang', uid: 'u2' });
    const elapsed = Date.now() - started;

    expectRetryLater(reply);
    expect(elapsed).toBeLessThan(TIMEOUT_MS * 2 + 1000);
  });
});
