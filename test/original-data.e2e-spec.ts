/**
 * Switching from the original service: what it stored, this service stores, and the queries
 * that found the original's events find the new ones too. Each test first writes, straight to
 * InfluxDB, what the original wrote (or nothing: an empty database), then posts through the
 * service what the original's clients send, and queries InfluxDB. A fresh database per test.
 *
 * What the original wrote, derived from its source (oisinmulvihill/stats-service):
 * - 1.0 (`POST /log/event` with an object): the body plus `now` (the server's `time.time()`,
 *   float seconds) and `event_id` (`entry_` + uuid4 hex), the same dict as `tags` and
 *   `fields` of one point in TABLE_NAME, no timestamp (InfluxDB stamps it).
 * - 1.1 (an array of points): each element's measurement, tags and fields, nothing else.
 * - Lines made by influxdb-python on Python 2: keys sorted, integers as `5i`, floats with
 *   Python 2's `str` (12 significant digits: `1796047975.4`) in tags and in fields of the 2016
 *   library; later releases write fields with `repr` (`1796047975.4036353`). Both appear below.
 *
 * What its clients send (oisinmulvihill/stats-client):
 * - 1.0: the event, `datetime` (UTC isoformat), and with the `tags` option its dict under
 *   `tags`, flattened with `_` (`tags_app-name`); `system_startup()` sends `server.start` with
 *   `uid` `system-<host>`, `ip`, `app_node`.
 * - 1.1: points; `system_startup()` sends `server_startup` with tags `uid`, `ip`, `hostname`
 *   (plus the `tags` option's keys as they are, `app-name`) and the field `value` 1.
 */
import {
  createDatabase,
  dropDatabase,
  influxQuery,
  uniqueDatabase,
  writeLines,
} from './support/influxd';
import { get, post, type RunningService, startService } from './support/service';

const OLD_PURCHASE = 'entry_0ed4f1c2a3b44c5d8e9f0a1b2c3d4e5f';
const OLD_LOGIN = 'entry_7a1e2b3c4d5e4f60a1b2c3d4e5f60718';
const OLD_START = 'entry_c0ffee00c0ffee00c0ffee00c0ffee00';
const OLD_NUMERIC = 'entry_42424242424242424242424242424242';

/** The original's lines, byte for byte (see the header for where each part comes from). */
const ORIGINAL_LINES = [
  // 1.0 client with its `tags` option, influxdb-python of 2016 (`str` floats).
  `analytics,count=5,datetime=2026-11-30T09:15:02.123456,event=pnc.purchase,event_id=${OLD_PURCHASE},now=1796047975.4,tags_app-name=billing,uid=u1 count=5i,datetime="2026-11-30T09:15:02.123456",event="pnc.purchase",event_id="${OLD_PURCHASE}",now=1796047975.4,tags_app-name="billing",uid="u1"`,
  // 1.0 client without it, a later influxdb-python (`repr` floats in fields).
  `analytics,datetime=2026-11-30T09:16:40.000001,event=pnc.login,event_id=${OLD_LOGIN},now=1796048100.12,uid=u2 datetime="2026-11-30T09:16:40.000001",event="pnc.login",event_id="${OLD_LOGIN}",now=1796048100.1234567,uid="u2"`,
  // 1.0 system_startup().
  `analytics,app_node=web-1,datetime=2026-11-30T09:17:00.5,event=server.start,event_id=${OLD_START},ip=10.0.0.5,now=1796048220.5,uid=system-web-1 app_node="web-1",datetime="2026-11-30T09:17:00.5",event="server.start",event_id="${OLD_START}",ip="10.0.0.5",now=1796048220.5,uid="system-web-1"`,
  // 1.1 system_startup() and the points example of the original README.
  'server_startup,hostname=web-1,ip=10.0.0.5,uid=system-web-1 value=1i',
  'ping,from=oisin value=1i',
];

/** A database where the original stored a numeric uid first: `uid` is an integer field. */
const ORIGINAL_NUMERIC_UID = [
  `analytics,event=pnc.purchase,event_id=${OLD_NUMERIC},now=1796047975.4,uid=42 event="pnc.purchase",event_id="${OLD_NUMERIC}",now=1796047975.4,uid=42i`,
];

const DATETIME = '2026-11-30T10:00:00.000001';

/** What the original clients send: 1.0 events (object bodies). */
const CLIENT_EVENTS = {
  withTags: {
    event: 'pnc.purchase',
    uid: 'u1',
    count: 5,
    datetime: DATETIME,
    'tags_app-name': 'billing',
  },
  plain: { event: 'pnc.login', uid: 'u2', datetime: DATETIME },
  numericUid: { event: 'pnc.purchase', uid: 42, datetime: DATETIME },
  startup: {
    event: 'server.start',
    uid: 'system-web-1',
    ip: '10.0.0.5',
    app_node: 'web-1',
    datetime: DATETIME,
    'tags_app-name': 'billing',
  },
  oddKeys: { event: 'pnc.login', uid: 'u1', 'odd key, a=b': 'x', 'x\\y': true },
};

/** What the original clients send: 1.1 points (array bodies). */
const CLIENT_POINTS = {
  startup: [
    {
      measurement: 'server_startup',
      tags: { uid: 'system-web-1', ip: '10.0.0.5', hostname: 'web-1' },
      fields: { value: 1 },
    },
  ],
  startupWithTags: [
    {
      measurement: 'server_startup',
      tags: { uid: 'system-web-1', ip: '10.0.0.5', hostname: 'web-1', 'app-name': 'billing' },
      fields: { value: 1 },
    },
  ],
  // The original README's example, with a key beside the three the original copied out.
  readme: [{ fields: { value: 1 }, tags: { from: 'oisin' }, measurement: 'ping', time: 'x' }],
};

/** Starts a service on a fresh database holding `seed` (written before it starts). */
async function serviceOn(seed: string[], env: Record<string, string> = {}) {
  const influxUrl = process.env.INFLUX_URL!;
  const database = uniqueDatabase('original');
  await createDatabase(influxUrl, database);
  if (seed.length > 0) await writeLines(influxUrl, database, seed);
  return startService({ INFLUX_DATABASE: database, ...env });
}

const running: RunningService[] = [];
async function start(seed: string[], env: Record<string, string> = {}) {
  const svc = await serviceOn(seed, env);
  running.push(svc);
  return svc;
}
afterEach(async () => {
  for (const svc of running.splice(0)) {
    await svc.close();
    await dropDatabase(svc.influxUrl, svc.database);
  }
});

async function logEvent(svc: RunningService, body: unknown): Promise<string> {
  const reply = await post(`${svc.url}/log/event/`, body);
  expect({ body, status: reply.status }).toEqual({ body, status: 200 });
  expect(reply.body).toEqual(expect.any(String));
  return reply.body as string;
}

async function logPoints(svc: RunningService, body: unknown[]): Promise<void> {
  const reply = await post(`${svc.url}/log/event/`, body);
  expect({ body, status: reply.status, reply: reply.body }).toEqual({
    body,
    status: 200,
    reply: 'OK',
  });
}

/** Posts every client body of both generations; the ids of the events, by name. */
async function postEverything(svc: RunningService) {
  const ids: Record<keyof typeof CLIENT_EVENTS, string> = {
    withTags: await logEvent(svc, CLIENT_EVENTS.withTags),
    plain: await logEvent(svc, CLIENT_EVENTS.plain),
    numericUid: await logEvent(svc, CLIENT_EVENTS.numericUid),
    startup: await logEvent(svc, CLIENT_EVENTS.startup),
    oddKeys: await logEvent(svc, CLIENT_EVENTS.oddKeys),
  };
  await logPoints(svc, CLIENT_POINTS.startup);
  await logPoints(svc, CLIENT_POINTS.startupWithTags);
  await logPoints(svc, CLIENT_POINTS.readme);
  await logPoints(svc, []);
  return ids;
}

function query(svc: RunningService, q: string) {
  return influxQuery(svc.influxUrl, svc.database, q);
}

/** One number from an aggregate query (`count`, `sum`) without GROUP BY. */
async function single(svc: RunningService, q: string): Promise<unknown> {
  const rows = await query(svc, q);
  return rows[0]?.[Object.keys(rows[0]).find((k) => k !== 'time')!];
}

/** `count("event_id")` per value of `key`, as a dashboard's GROUP BY shows it. */
async function countsBy(
  svc: RunningService,
  key: string,
  measurement = 'analytics',
): Promise<Record<string, unknown>> {
  const rows = await query(svc, `SELECT count("event_id") FROM "${measurement}" GROUP BY "${key}"`);
  return Object.fromEntries(rows.map((row) => [String(row[key]), row.count]));
}

async function fieldTypes(
  svc: RunningService,
  measurement: string,
): Promise<Record<string, unknown>> {
  const rows = await query(svc, `SHOW FIELD KEYS FROM "${measurement}"`);
  return Object.fromEntries(rows.map((row) => [String(row.fieldKey), row.fieldType]));
}

/**
 * What the dashboard queries of docs/MIGRATING.md ("Dashboards") answer, keyed by the query: counts of
 * events by name, by uid and by a key of the original's `tags` option, and the 1.1 points.
 */
async function dashboardAnswers(svc: RunningService): Promise<Record<string, unknown>> {
  const count = (where: string) =>
    single(svc, `SELECT count("event_id") FROM "analytics" WHERE ${where}`);
  return {
    'WHERE event': await count(`event = 'pnc.purchase'`),
    'WHERE event::tag': await count(`"event"::tag = 'pnc.purchase'`),
    'count(event_id)': await single(svc, 'SELECT count("event_id") FROM "analytics"'),
    'GROUP BY event': await countsBy(svc, 'event'),
    'WHERE uid u1': await count(`uid = 'u1'`),
    'WHERE uid 42': await count(`uid = '42'`),
    'WHERE tags_app-name': await count(`"tags_app-name" = 'billing'`),
    'server_startup GROUP BY hostname': await query(
      svc,
      'SELECT sum("value") FROM "server_startup" GROUP BY "hostname"',
    ),
    'ping WHERE from': await single(
      svc,
      `SELECT count("value") FROM "ping" WHERE "from" = 'oisin'`,
    ),
  };
}

/** The time InfluxDB reports for an event, to compare with the read-back. */
async function timeOf(svc: RunningService, id: string): Promise<unknown> {
  const rows = await query(svc, `SELECT "event_id" FROM "analytics" WHERE "event_id" = '${id}'`);
  expect(rows).toHaveLength(1);
  return rows[0]!.time;
}

async function readBack(svc: RunningService, id: string) {
  const reply = await get(`${svc.url}/log/event/${id}`);
  expect(reply.status).toBe(200);
  return reply.body;
}

describe('on a database the original wrote', () => {
  it('stores what the original clients send, and old queries count old and new events together', async () => {
    const svc = await start(ORIGINAL_LINES);
    await postEverything(svc);

    // pnc.purchase: one old, two new (one with a numeric uid); startups: one old, two new.
    await expect(dashboardAnswers(svc)).resolves.toEqual({
      'WHERE event': 3,
      'WHERE event::tag': 3,
      'count(event_id)': 8,
      'GROUP BY event': { 'pnc.purchase': 3, 'pnc.login': 3, 'server.start': 2 },
      'WHERE uid u1': 3,
      'WHERE uid 42': 1,
      // A key the original's 1.0 client made from its `tags` option: a field on both sides.
      'WHERE tags_app-name': 3,
      // 1.1 points: old and new together.
      'server_startup GROUP BY hostname': [
        { time: '1970-01-01T00:00:00Z', hostname: 'web-1', sum: 3 },
      ],
      'ping WHERE from': 2,
    });
    const count = (where: string) =>
      single(svc, `SELECT count("event_id") FROM "analytics" WHERE ${where}`);
    await expect(count(`"event" = 'pnc.purchase'`)).resolves.toBe(3);
    await expect(count(`"event"::field = 'pnc.purchase'`)).resolves.toBe(3);
    await expect(single(svc, 'SELECT count("event") FROM "analytics"')).resolves.toBe(8);
    await expect(count(`"odd key, a=b" = 'x'`)).resolves.toBe(1);

    // What the original stored as an integer stays one.
    await expect(fieldTypes(svc, 'server_startup')).resolves.toEqual({ value: 'integer' });
    await expect(fieldTypes(svc, 'ping')).resolves.toEqual({ value: 'integer' });
    await expect(fieldTypes(svc, 'analytics')).resolves.toEqual({
      app_node: 'string',
      count: 'integer',
      datetime: 'string',
      event: 'string',
      event_id: 'string',
      ip: 'string',
      now: 'float',
      'odd key, a=b': 'string',
      'tags_app-name': 'string',
      uid: 'string',
      'x\\y': 'boolean',
    });
  });

  it('stores new events with event as a tag and a string field, as the old ones have it', async () => {
    const svc = await start(ORIGINAL_LINES);
    const id = await logEvent(svc, CLIENT_EVENTS.withTags);

    const rows = await query(
      svc,
      `SELECT "event"::field, "event"::tag AS "tag", "uid"::field, "count"::field FROM "analytics" WHERE "event_id" = '${id}'`,
    );
    expect(rows).toEqual([
      {
        time: expect.any(String) as unknown,
        event: 'pnc.purchase',
        tag: 'pnc.purchase',
        uid: 'u1',
        count: 5,
      },
    ]);
  });

  it('reads back old and new events with each key once, under its own name', async () => {
    const svc = await start(ORIGINAL_LINES);
    const ids = await postEverything(svc);

    await expect(readBack(svc, OLD_PURCHASE)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, OLD_PURCHASE),
      count: 5,
      datetime: '2026-11-30T09:15:02.123456',
      event: 'pnc.purchase',
      event_id: OLD_PURCHASE,
      now: 1796047975.4,
      'tags_app-name': 'billing',
      uid: 'u1',
    });
    // The original lower-cased ids; its read-back found them in any case.
    await expect(readBack(svc, OLD_LOGIN.toUpperCase())).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, OLD_LOGIN),
      datetime: '2026-11-30T09:16:40.000001',
      event: 'pnc.login',
      event_id: OLD_LOGIN,
      now: 1796048100.1234567,
      uid: 'u2',
    });
    await expect(readBack(svc, ids.withTags)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, ids.withTags),
      ...CLIENT_EVENTS.withTags,
      event_id: ids.withTags,
    });
    await expect(readBack(svc, ids.numericUid)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, ids.numericUid),
      ...CLIENT_EVENTS.numericUid,
      uid: '42',
      event_id: ids.numericUid,
    });
    await expect(readBack(svc, ids.oddKeys)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, ids.oddKeys),
      ...CLIENT_EVENTS.oddKeys,
      event_id: ids.oddKeys,
    });
  });

  it('keeps a real key that ends in _1 beside the key it resembles', async () => {
    const svc = await start(ORIGINAL_LINES);
    const id = await logEvent(svc, { event: 'pnc.login', uid: 'u1', event_1: 'mine' });

    await expect(readBack(svc, id)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, id),
      event: 'pnc.login',
      event_1: 'mine',
      uid: 'u1',
      event_id: id,
    });
  });

  it('groups new events by a key the original had as a tag once EVENT_TAGS names it', async () => {
    const svc = await start(ORIGINAL_LINES, { EVENT_TAGS: 'tags_app-name' });
    const id = await logEvent(svc, CLIENT_EVENTS.withTags);

    await expect(countsBy(svc, 'tags_app-name')).resolves.toEqual({ '': 2, billing: 2 });
    // Where the key is a string field as well, the new event carries it as both, like event.
    await expect(
      single(svc, `SELECT count("event_id") FROM "analytics" WHERE "tags_app-name" = 'billing'`),
    ).resolves.toBe(2);
    await expect(readBack(svc, id)).resolves.toMatchObject({ 'tags_app-name': 'billing' });
  });

  it('keeps a numeric uid a number where the original stored uid as an integer', async () => {
    const svc = await start(ORIGINAL_NUMERIC_UID);
    const id = await logEvent(svc, CLIENT_EVENTS.numericUid);

    await expect(
      single(svc, `SELECT count("event_id") FROM "analytics" WHERE "uid" = 42`),
    ).resolves.toBe(2);
    await expect(fieldTypes(svc, 'analytics')).resolves.toMatchObject({ uid: 'integer' });
    await expect(readBack(svc, id)).resolves.toMatchObject({ uid: 42, event: 'pnc.purchase' });
    await expect(readBack(svc, OLD_NUMERIC)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, OLD_NUMERIC),
      event: 'pnc.purchase',
      event_id: OLD_NUMERIC,
      now: 1796047975.4,
      uid: 42,
    });
    // What InfluxDB would refuse (and the original dropped) is refused, naming the field.
    const reply = await post(`${svc.url}/log/event`, { event: 'pnc.purchase', uid: 'u9' });
    expect(reply).toMatchObject({
      status: 400,
      body: { key: 'uid', stored: 'integer', incoming: 'string' },
    });
  });
});

describe('on an empty database', () => {
  it('stores what the original clients send, and the same queries find it', async () => {
    const svc = await start([]);
    const ids = await postEverything(svc);

    await expect(dashboardAnswers(svc)).resolves.toEqual({
      'WHERE event': 2,
      'WHERE event::tag': 2,
      'count(event_id)': 5,
      'GROUP BY event': { 'pnc.purchase': 2, 'pnc.login': 2, 'server.start': 1 },
      'WHERE uid u1': 2,
      'WHERE uid 42': 1,
      'WHERE tags_app-name': 2,
      'server_startup GROUP BY hostname': [
        { time: '1970-01-01T00:00:00Z', hostname: 'web-1', sum: 2 },
      ],
      'ping WHERE from': 1,
    });

    // Only event is a tag; numbers are floats; uid is text.
    await expect(fieldTypes(svc, 'analytics')).resolves.toEqual({
      app_node: 'string',
      count: 'float',
      datetime: 'string',
      event_id: 'string',
      ip: 'string',
      'odd key, a=b': 'string',
      'tags_app-name': 'string',
      uid: 'string',
      'x\\y': 'boolean',
    });
    await expect(fieldTypes(svc, 'server_startup')).resolves.toEqual({ value: 'float' });

    for (const name of ['withTags', 'numericUid', 'oddKeys', 'startup'] as const) {
      const sent = CLIENT_EVENTS[name];
      await expect(readBack(svc, ids[name])).resolves.toStrictEqual({
        status: 'stored',
        time: await timeOf(svc, ids[name]),
        ...sent,
        uid: String(sent.uid),
        event_id: ids[name],
      });
    }
  });

  it('stores an event whose uid is null without a uid, as the original did', async () => {
    const svc = await start([]);
    const id = await logEvent(svc, { event: 'pnc.login', uid: null, datetime: DATETIME });

    await expect(readBack(svc, id)).resolves.toStrictEqual({
      status: 'stored',
      time: await timeOf(svc, id),
      event: 'pnc.login',
      datetime: DATETIME,
      event_id: id,
    });
  });

  it('answers "OK" to an empty points array and writes nothing', async () => {
    const svc = await start([]);
    await logPoints(svc, []);

    await expect(query(svc, 'SHOW MEASUREMENTS')).resolves.toEqual([]);
  });
});
