/**
 * Where GET /log/event/{id} looks (docs/API.md, "Where a read looks"), against the real
 * application and a real InfluxDB: server ids at their own moment, however old; UUIDv7 client
 * ids from their time on; ids without a time within EVENT_READ_WINDOW_HOURS only, unless 0.
 * The events are seeded as line protocol straight into InfluxDB, at the times each case needs.
 */
import { randomBytes } from 'node:crypto';
import { InfluxService } from '../src/influx/influx.service';
import { dropDatabase, writeLines } from './support/influxd';
import { get, startService, type RunningService } from './support/service';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NOW_MS = Date.now();

/** A nanosecond time `ago` ms before the run started, with sub-millisecond digits of its own. */
function nsAgo(ago: number): bigint {
  return BigInt(NOW_MS - ago) * 1_000_000n + BigInt(1 + Math.floor(Math.random() * 999_998));
}

/** A server id as the service makes them: 16 hex digits of the point's time, 16 random. */
function serverId(ns: bigint): string {
  return `entry_${ns.toString(16).padStart(16, '0')}${randomBytes(8).toString('hex')}`;
}

/** A UUIDv7 (RFC 9562) whose first 48 bits are `ms`. */
function uuidV7(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${randomBytes(2).toString('hex').slice(1)}-a${randomBytes(2).toString('hex').slice(1)}-${randomBytes(6).toString('hex')}`;
}

/**
 * An `entry_` + uuid4 id of the original whose first 16 hex digits are above 2^63: no plausible
 * time, so it is looked for in the window only.
 */
function originalId(): string {
  const hex = randomBytes(16).toString('hex');
  return `entry_9${hex.slice(1, 12)}4${hex.slice(13, 16)}a${hex.slice(17)}`;
}

const seeded = {
  serverRecent: { id: '', ns: nsAgo(HOUR_MS) },
  serverOld: { id: '', ns: nsAgo(30 * DAY_MS) },
  originalRecent: { id: originalId(), ns: nsAgo(2 * HOUR_MS) },
  originalOld: { id: originalId(), ns: nsAgo(30 * DAY_MS) },
  clientRecent: { id: uuidV7(NOW_MS - 3 * HOUR_MS - 60_000), ns: nsAgo(3 * HOUR_MS) },
  clientOld: { id: uuidV7(NOW_MS - 40 * DAY_MS - 60_000), ns: nsAgo(40 * DAY_MS) },
  // The client's clock ran two hours ahead: its id's time is after the event's.
  clientAhead: { id: uuidV7(NOW_MS - 2 * HOUR_MS), ns: nsAgo(4 * HOUR_MS) },
  // Stored at another time than the id says (10 days earlier than the id, 5 hours ago).
  movedRecent: { id: serverId(nsAgo(10 * DAY_MS)), ns: nsAgo(5 * HOUR_MS) },
  movedOld: { id: serverId(nsAgo(1 * DAY_MS)), ns: nsAgo(20 * DAY_MS) },
};
seeded.serverRecent.id = serverId(seeded.serverRecent.ns);
seeded.serverOld.id = serverId(seeded.serverOld.ns);

type Case = keyof typeof seeded;

let svc: RunningService;
let unbounded: RunningService;

function read(service: RunningService, id: string) {
  return get(`${service.url}/log/event/${id}`);
}

function notFound(id: string) {
  return { statusCode: 404, error: 'Not Found', message: `no event with id ${JSON.stringify(id)}` };
}

/** The event queries among those sent (the field type cache may query too). */
function eventQueries(calls: Array<[string, ...unknown[]]>): string[] {
  return calls.map(([q]) => q).filter((q) => q.startsWith('SELECT *::field'));
}

/** The stored event as the read answers it. */
function expected(name: Case) {
  return { status: 'stored', event: 'seeded', uid: name, event_id: seeded[name].id };
}

describe('GET /log/event/{id}: where a read looks', () => {
  beforeAll(async () => {
    svc = await startService();
    // The service created its database at start-up.
    const lines = Object.entries(seeded).map(
      ([name, { id, ns }]) => `analytics,event=seeded uid="${name}",event_id="${id}" ${ns}`,
    );
    // Other events at the same moments, in another series, that must not be answered.
    lines.push(
      ...Object.values(seeded).map(
        ({ ns }) => `analytics,event=neighbour uid="n",event_id="entry_other" ${ns}`,
      ),
    );
    await writeLines(svc.influxUrl, svc.database, lines);
    unbounded = await startService({
      INFLUX_DATABASE: svc.database,
      EVENT_READ_WINDOW_HOURS: '0',
    });
  });

  afterAll(async () => {
    await unbounded?.close();
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  afterEach(() => jest.restoreAllMocks());

  it.each<Case>(['serverRecent', 'serverOld'])(
    'finds a server id at its own time (%s), older than the window too',
    async (name) => {
      const reply = await read(svc, seeded[name].id);

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject(expected(name));
    },
  );

  it('asks InfluxDB for the moment of a server id only, once', async () => {
    const query = jest.spyOn(svc.app.get(InfluxService), 'query');
    const { id, ns } = seeded.serverOld;

    const reply = await read(svc, id);

    expect(reply.status).toBe(200);
    expect(eventQueries(query.mock.calls)).toEqual([
      `SELECT *::field FROM "analytics" WHERE "event_id" =~ /(?i)^${id}$/ AND time = ${ns} ` +
        'GROUP BY * ORDER BY time DESC LIMIT 1',
    ]);
  });

  it('finds a server id written in upper case', async () => {
    const upper = seeded.serverOld.id.toUpperCase();
    expect(upper).toMatch(/^ENTRY_[0-9A-F]{32}$/);

    const reply = await read(svc, upper);

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject(expected('serverOld'));
  });

  it('finds an event stored at another time than its server id says, within the window', async () => {
    const reply = await read(svc, seeded.movedRecent.id);

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject(expected('movedRecent'));
  });

  it('does not find such an event outside the window, unless the window is lifted', async () => {
    const { id } = seeded.movedOld;

    await expect(read(svc, id)).resolves.toMatchObject({ status: 404, body: notFound(id) });
    await expect(read(unbounded, id)).resolves.toMatchObject({
      status: 200,
      body: expected('movedOld'),
    });
  });

  it('finds an original entry_ + uuid4 id within the window, whatever the case of entry_', async () => {
    const { id } = seeded.originalRecent;

    await expect(read(svc, id)).resolves.toMatchObject({
      status: 200,
      body: expected('originalRecent'),
    });
    await expect(read(svc, id.replace('entry_', 'ENTRY_'))).resolves.toMatchObject({
      status: 200,
      body: expected('originalRecent'),
    });
  });

  it('does not find an original id older than the window: 404 with a JSON body', async () => {
    const { id } = seeded.originalOld;

    const reply = await read(svc, id);

    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(reply.body).toEqual(notFound(id));
  });

  it('finds an original id older than the window when EVENT_READ_WINDOW_HOURS is 0', async () => {
    await expect(read(unbounded, seeded.originalOld.id)).resolves.toMatchObject({
      status: 200,
      body: expected('originalOld'),
    });
  });

  it.each<Case>(['clientRecent', 'clientOld', 'clientAhead'])(
    'finds a UUIDv7 client id (%s)',
    async (name) => {
      const reply = await read(svc, seeded[name].id);

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject(expected(name));
    },
  );

  it('looks for a UUIDv7 client id from its time (less 10 minutes) on first', async () => {
    const query = jest.spyOn(svc.app.get(InfluxService), 'query');
    const { id } = seeded.clientRecent;
    const since = BigInt(NOW_MS - 3 * HOUR_MS - 60_000 - 600_000) * 1_000_000n;

    await expect(read(svc, id)).resolves.toMatchObject({ status: 200 });

    expect(eventQueries(query.mock.calls)).toEqual([
      `SELECT *::field FROM "analytics" WHERE "event_id" = '${id}' AND time >= ${since} ` +
        'GROUP BY * ORDER BY time DESC LIMIT 1',
    ]);
  });

  it.each<[string, () => string]>([
    ['a server id with nothing at its time', () => serverId(nsAgo(DAY_MS))],
    ['a UUIDv7 client id', () => uuidV7(NOW_MS - HOUR_MS)],
    ['an original id', originalId],
  ])('answers 404 with a JSON body for %s that is not stored', async (_case, make) => {
    const id = make();

    await expect(read(svc, id)).resolves.toMatchObject({ status: 404, body: notFound(id) });
  });
});
