/**
 * POST /log/event with one event object (generation 1.0, docs/API.md, "Events", "How events and points are stored"), against the real
 * application and a real InfluxDB. What was stored is always read back from InfluxDB directly.
 */
import { gzipSync } from 'node:zlib';
import {
  httpRequest,
  influxQuery,
  influxQueryText,
  startInfluxd,
  writeLines,
  type Epoch,
  type InfluxdHandle,
} from './support/influxd';
import {
  AUTH,
  inPool,
  post,
  type RunningService,
  serviceFor,
  startService,
} from './support/service';
import { waitForStored } from './support/spool';
import { SERVER_ID } from './support/ids';

/** Rows of an InfluxQL query on the service's own database. */
function query(svc: RunningService, q: string, epoch?: Epoch) {
  return influxQuery(svc.influxUrl, svc.database, q, epoch);
}

/** POSTs a raw body with the demo token; status, headers and the body as text. */
function postRaw(
  svc: RunningService,
  body: string | Buffer,
  headers: Record<string, string> = {},
  path = '/log/event',
) {
  return httpRequest('POST', `${svc.url}${path}`, body, {
    'Content-Type': 'application/json',
    ...AUTH,
    ...headers,
  });
}

/** POSTs an event that must be accepted, and returns the id the service answered. */
async function accepted(svc: RunningService, event: unknown): Promise<string> {
  const reply = await post(`${svc.url}/log/event`, event);
  expect(reply).toMatchObject({ status: 200 });
  expect(typeof reply.body).toBe('string');
  return reply.body as string;
}

/** The stored point with that event_id, straight from InfluxDB, without other events' nulls. */
async function storedEvent(
  svc: RunningService,
  id: string,
  measurement = 'analytics',
): Promise<Record<string, unknown>> {
  const rows = await query(svc, `SELECT * FROM "${measurement}" WHERE "event_id" = '${id}'`);
  expect(rows).toHaveLength(1);
  return Object.fromEntries(Object.entries(rows[0]!).filter(([, value]) => value !== null));
}

/** `SHOW FIELD KEYS` as { key: type }. */
async function fieldTypes(
  svc: RunningService,
  measurement = 'analytics',
): Promise<Record<string, unknown>> {
  const rows = await query(svc, `SHOW FIELD KEYS FROM "${measurement}"`);
  const types: Record<string, unknown> = {};
  for (const row of rows) types[String(row.fieldKey)] = row.fieldType;
  return types;
}

async function tagKeys(svc: RunningService, measurement = 'analytics') {
  const rows = await query(svc, `SHOW TAG KEYS FROM "${measurement}"`);
  return rows.map((row) => row.tagKey);
}

/** Points of `analytics` matching `where`, counted by their uid field (0 when none). */
async function countEvents(svc: RunningService, where: string): Promise<number> {
  const rows = await query(svc, `SELECT COUNT("uid") FROM "analytics" WHERE ${where}`);
  return (rows[0]?.count as number | undefined) ?? 0;
}

async function expectNothingStored(svc: RunningService): Promise<void> {
  await expect(query(svc, 'SHOW MEASUREMENTS')).resolves.toEqual([]);
}

/** The JSON body of a 400 Refusal (src/http/refusal.ts). */
/** The body reader's rule for an integer literal beyond int64 (docs/API.md, "Numbers"). */
const INT64_RULE = 'integers must be from -9223372036854775808 to 9223372036854775807 (int64)';

function refusal(key: string, rule: string, extra: Record<string, unknown> = {}) {
  return {
    statusCode: 400,
    error: 'Bad Request',
    message: key === '' ? rule : `${key}: ${rule}`,
    key,
    rule,
    ...extra,
  };
}

function conflict(key: string, stored: string, incoming: string) {
  return refusal(
    key,
    `field type conflict: "${key}" of measurement "analytics" is stored as ${stored}, this value is ${incoming}`,
    { stored, incoming },
  );
}

describe('POST /log/event with an event object', () => {
  const svc = serviceFor();

  it.each(['/log/event', '/log/event/'])(
    'answers %s with 200 and the new id as a JSON string',
    async (path) => {
      const reply = await postRaw(svc(), JSON.stringify({ event: 'route', uid: path }), {}, path);

      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
      expect(reply.body).toMatch(/^"entry_[0-9a-f]{32}"$/);
      const id = JSON.parse(reply.body) as string;
      await expect(storedEvent(svc(), id)).resolves.toMatchObject({
        event_id: id,
        event: 'route',
        uid: path,
      });
    },
  );

  it('stores the original README example in analytics: event as the only tag, uid, event_id and now as fields', async () => {
    const id = await accepted(svc(), {
      event: 'pnc.test',
      uid: 'oisin',
      now: '2016-05-20T10:00:00.000000',
    });

    expect(id).toMatch(SERVER_ID);
    await expect(query(svc(), 'SHOW MEASUREMENTS')).resolves.toEqual([{ name: 'analytics' }]);
    await expect(tagKeys(svc())).resolves.toEqual(['event']);
    await expect(fieldTypes(svc())).resolves.toMatchObject({
      uid: 'string',
      event_id: 'string',
      now: 'string',
    });
    await expect(storedEvent(svc(), id)).resolves.toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) as unknown,
      event: 'pnc.test',
      uid: 'oisin',
      now: '2016-05-20T10:00:00.000000',
      event_id: id,
    });
  });

  it('adds no now field of its own', async () => {
    const id = await accepted(svc(), { event: 'no.now', uid: 'u-now' });

    const stored = await storedEvent(svc(), id);
    expect(Object.keys(stored).sort()).toEqual(['event', 'event_id', 'time', 'uid']);
  });

  it('accepts an empty uid', async () => {
    const id = await accepted(svc(), { event: 'anon', uid: '' });

    await expect(storedEvent(svc(), id)).resolves.toMatchObject({ uid: '', event: 'anon' });
  });

  it('keeps strings as strings and booleans as booleans, and stores numbers as floats', async () => {
    const id = await accepted(svc(), {
      event: 'types',
      uid: 'u-types',
      label: 'text',
      digits: '42',
      yes: true,
      no: false,
      whole: 3,
      ratio: 0.25,
    });

    await expect(storedEvent(svc(), id)).resolves.toMatchObject({
      label: 'text',
      digits: '42',
      yes: true,
      no: false,
      whole: 3,
      ratio: 0.25,
    });
    await expect(fieldTypes(svc())).resolves.toMatchObject({
      label: 'string',
      digits: 'string',
      yes: 'boolean',
      no: 'boolean',
      whole: 'float',
      ratio: 'float',
    });
  });

  it('flattens nested objects with _ and drops nulls', async () => {
    const id = await accepted(svc(), {
      event: 'nested',
      uid: 'u-nested',
      a: { b: 1, c: { d: 'x' } },
      gone: null,
      inner: { gone: null },
    });

    const stored = await storedEvent(svc(), id);
    expect(stored).toEqual({
      time: expect.any(String) as unknown,
      event: 'nested',
      uid: 'u-nested',
      a_b: 1,
      a_c_d: 'x',
      event_id: id,
    });
    const types = await fieldTypes(svc());
    expect(types).toMatchObject({ a_b: 'float', a_c_d: 'string' });
    expect(Object.keys(types)).not.toContain('gone');
    expect(Object.keys(types)).not.toContain('inner_gone');
    await expect(tagKeys(svc())).resolves.toEqual(['event']);
  });

  it('keeps a valid client event_id', async () => {
    const id = await accepted(svc(), { event: 'own.id', uid: 'u-own', event_id: 'Client-1.a:b_c' });

    expect(id).toBe('Client-1.a:b_c');
    await expect(storedEvent(svc(), 'Client-1.a:b_c')).resolves.toMatchObject({
      event: 'own.id',
      uid: 'u-own',
    });
  });

  it.each<[string, unknown]>([
    ['containing a space', 'my id'],
    ['containing a quote', "it's"],
    ['that is a number', 12345],
    ['of 129 characters', 'x'.repeat(129)],
  ])('replaces a client event_id %s with a server id', async (_case, given) => {
    const uid = `u-replaced-${String(given).length}-${typeof given}`;
    const id = await accepted(svc(), { event: 'bad.id', uid, event_id: given });

    expect(id).toMatch(SERVER_ID);
    const rows = await query(svc(), `SELECT "event_id" FROM "analytics" WHERE "uid" = '${uid}'`);
    expect(rows).toEqual([{ time: expect.any(String) as unknown, event_id: id }]);
  });

  it('reads a body sent as application/x-www-form-urlencoded (curl -d) as JSON', async () => {
    const reply = await postRaw(svc(), '{"event": "curl", "uid": "u-curl", "n": 1}', {
      'Content-Type': 'application/x-www-form-urlencoded',
    });

    expect(reply.status).toBe(200);
    const id = JSON.parse(reply.body) as string;
    expect(id).toMatch(SERVER_ID);
    await expect(storedEvent(svc(), id)).resolves.toMatchObject({
      event: 'curl',
      uid: 'u-curl',
      n: 1,
    });
  });

  it('accepts a gzip body (Content-Encoding: gzip)', async () => {
    const body = gzipSync(JSON.stringify({ event: 'zipped', uid: 'u-gzip', note: 'é✓' }));
    const reply = await postRaw(svc(), body, { 'Content-Encoding': 'gzip' });

    expect(reply.status).toBe(200);
    const id = JSON.parse(reply.body) as string;
    expect(id).toMatch(SERVER_ID);
    await expect(storedEvent(svc(), id)).resolves.toMatchObject({
      event: 'zipped',
      uid: 'u-gzip',
      note: 'é✓',
    });
  });
});

describe('POST /log/event with TABLE_NAME and EVENT_TAGS', () => {
  const svc = serviceFor({ TABLE_NAME: 'app_events', EVENT_TAGS: 'plan,region' });

  it('stores into TABLE_NAME, with the EVENT_TAGS keys as tags written as Python wrote them', async () => {
    const first = await accepted(svc(), {
      event: 'signup',
      uid: 'u-1',
      plan: true,
      region: 'eu',
      seats: 3,
    });
    const second = await accepted(svc(), { event: 'signup', uid: 'u-2', plan: 1814, region: 'us' });

    await expect(query(svc(), 'SHOW MEASUREMENTS')).resolves.toEqual([{ name: 'app_events' }]);
    await expect(tagKeys(svc(), 'app_events')).resolves.toEqual(['event', 'plan', 'region']);
    await expect(fieldTypes(svc(), 'app_events')).resolves.toEqual({
      event_id: 'string',
      seats: 'float',
      uid: 'string',
    });
    await expect(
      query(svc(), 'SHOW TAG VALUES FROM "app_events" WITH KEY = "plan"'),
    ).resolves.toEqual([
      { key: 'plan', value: '1814' },
      { key: 'plan', value: 'True' },
    ]);
    await expect(storedEvent(svc(), first, 'app_events')).resolves.toMatchObject({
      plan: 'True',
      region: 'eu',
      seats: 3,
    });
    await expect(storedEvent(svc(), second, 'app_events')).resolves.toMatchObject({
      plan: '1814',
      region: 'us',
    });
  });
});

describe('POST /log/event refusals', () => {
  const svc = serviceFor();

  it.each<[string, unknown, object]>([
    ['a missing event', { uid: 'u' }, refusal('event', 'must be a non-empty string')],
    ['an empty event', { event: '', uid: 'u' }, refusal('event', 'must be a non-empty string')],
    ['a numeric event', { event: 5, uid: 'u' }, refusal('event', 'must be a non-empty string')],
    [
      'a missing uid',
      { event: 'e' },
      refusal('uid', 'is required (a string, may be empty, or a number)'),
    ],
    [
      'a boolean uid',
      { event: 'e', uid: true },
      refusal('uid', 'must be a string (may be empty) or a finite number'),
    ],
    [
      'a key ending in a backslash',
      { event: 'e', uid: 'u', 'a\\': 1 },
      refusal('a\\', 'must not end with a backslash'),
    ],
    [
      'an array value',
      { event: 'e', uid: 'u', list: [1, 2] },
      refusal('list', 'arrays are not stored; send a string or flat keys'),
    ],
    [
      'a time without a zone',
      { event: 'e', uid: 'u', time: '2016-01-01T00:00:00' },
      refusal(
        'time',
        'must be an RFC 3339 date-time with a zone (e.g. 2026-12-03T07:25:00.123Z, at most 9 fraction digits) or a whole number of milliseconds since 1970-01-01T00:00:00Z',
      ),
    ],
    ['invalid JSON', '{"event": "e", "uid": ', refusal('', 'the body is not valid JSON')],
    ['an empty body', '', refusal('', 'the body must be a JSON object or array; it is empty')],
    [
      'a JSON string body',
      '"hello"',
      refusal('', 'the body must be a JSON object (an event) or an array (points)'),
    ],
    [
      'a JSON null body',
      'null',
      refusal('', 'the body must be a JSON object (an event) or an array (points)'),
    ],
  ])(
    'refuses %s with 400 naming the key and rule, and stores nothing',
    async (_case, body, expected) => {
      const reply = await post(`${svc().url}/log/event`, body);

      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
      expect(reply.body).toEqual(expected);
      await expectNothingStored(svc());
    },
  );
});

describe('POST /log/event limits', () => {
  const svc = serviceFor({
    MAX_EVENT_KEYS: '5',
    MAX_KEY_LENGTH: '10',
    MAX_STRING_BYTES: '32',
    MAX_BODY_BYTES: '4096',
  });

  it.each<[string, Record<string, unknown>, object]>([
    [
      'more keys than MAX_EVENT_KEYS',
      { event: 'e', uid: 'u', a: 1, b: 2, c: 3, d: 4 },
      refusal('', 'an event may have at most 5 keys (MAX_EVENT_KEYS)'),
    ],
    [
      'more keys than MAX_EVENT_KEYS, a client event_id included',
      { event: 'e', uid: 'u', a: 1, b: 2, c: 3, event_id: 'mine' },
      refusal('', 'an event may have at most 5 keys (MAX_EVENT_KEYS)'),
    ],
    [
      'more flattened keys than MAX_EVENT_KEYS',
      { event: 'e', uid: 'u', a: { b: 1, c: 2, d: 3, e: 4 } },
      refusal('', 'an event may have at most 5 keys (MAX_EVENT_KEYS)'),
    ],
    [
      'a key longer than MAX_KEY_LENGTH',
      { event: 'e', uid: 'u', abcdefghijk: 1 },
      refusal('abcdefghijk', 'keys may be at most 10 characters (MAX_KEY_LENGTH)'),
    ],
    [
      'a string longer than MAX_STRING_BYTES',
      { event: 'e', uid: 'u', s: 'x'.repeat(33) },
      refusal('s', 'strings may be at most 32 bytes (MAX_STRING_BYTES)'),
    ],
    [
      'a string of 17 characters but 34 bytes',
      { event: 'e', uid: 'u', s: 'é'.repeat(17) },
      refusal('s', 'strings may be at most 32 bytes (MAX_STRING_BYTES)'),
    ],
  ])('refuses %s with 400 and stores nothing', async (_case, body, expected) => {
    const reply = await post(`${svc().url}/log/event`, body);

    expect(reply).toMatchObject({ status: 400, body: expected });
    await expectNothingStored(svc());
  });

  const tooLarge = {
    statusCode: 413,
    error: 'Payload Too Large',
    message: 'the body is larger than 4096 bytes (MAX_BODY_BYTES), after decompression',
  };

  it('refuses a body over MAX_BODY_BYTES with 413 and stores nothing', async () => {
    const body = JSON.stringify({ event: 'e', uid: 'u', s: 'x'.repeat(4100) });
    const reply = await postRaw(svc(), body);

    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toEqual(tooLarge);
    await expectNothingStored(svc());
  });

  it('refuses a small gzip body that inflates past MAX_BODY_BYTES with 413 and stores nothing', async () => {
    const body = gzipSync(JSON.stringify({ event: 'e', uid: 'u', s: 'x'.repeat(1_000_000) }));
    expect(body.length).toBeLessThan(4096);

    const reply = await postRaw(svc(), body, { 'Content-Encoding': 'gzip' });

    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toEqual(tooLarge);
    await expectNothingStored(svc());
  });

  // Last in this block: the refusals above rely on an empty database.
  it('accepts an event exactly at every limit (the server-made event_id is not counted)', async () => {
    const id = await accepted(svc(), {
      event: 'e',
      uid: 'u',
      abcdefghij: 'x'.repeat(32),
      b: 'é'.repeat(16),
      c: { d: 1 },
    });

    await expect(storedEvent(svc(), id)).resolves.toEqual({
      time: expect.any(String) as unknown,
      event: 'e',
      uid: 'u',
      abcdefghij: 'x'.repeat(32),
      b: 'é'.repeat(16),
      c_d: 1,
      event_id: id,
    });
  });
});

describe('POST /log/event field types', () => {
  const svc = serviceFor();

  it('refuses a number for a field stored as string, naming the field and both types', async () => {
    await accepted(svc(), { event: 'typed', uid: 'u', x: 'text' });

    const reply = await post(`${svc().url}/log/event`, { event: 'typed', uid: 'u', x: 5 });

    expect(reply).toMatchObject({ status: 400, body: conflict('x', 'string', 'float') });
    await expect(countEvents(svc(), `"event" = 'typed'`)).resolves.toBe(1);
    await expect(fieldTypes(svc())).resolves.toMatchObject({ x: 'string' });
  });

  it('refuses a conflict with a field another writer created after the types were cached', async () => {
    // The service has read the measurement's types: it knows nothing of `n` yet.
    await accepted(svc(), { event: 'cached', uid: 'u' });
    const external = `${BigInt(Date.now()) * 1_000_000n}`;
    await writeLines(svc().influxUrl, svc().database, `analytics,event=other n=1i ${external}`);

    const reply = await post(`${svc().url}/log/event`, { event: 'late', uid: 'u', n: 1.5 });

    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(reply.body).toEqual(conflict('n', 'integer', 'float'));
    await expect(countEvents(svc(), `"event" = 'late'`)).resolves.toBe(0);
    // Nothing else was lost: the other writer's point, and later events.
    await expect(
      query(svc(), `SELECT "n" FROM "analytics" WHERE "event" = 'other'`),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, n: 1 }]);
    const later = await accepted(svc(), { event: 'later', uid: 'u', n: 2, s: 'ok' });
    await expect(storedEvent(svc(), later)).resolves.toMatchObject({ n: 2, s: 'ok' });
    await expect(fieldTypes(svc())).resolves.toMatchObject({ n: 'integer' });
    await expect(countEvents(svc(), `"event" = 'cached'`)).resolves.toBe(1);
  });

  // Regression: a stale type cache once refused this valid event; the service now re-reads the
  // types and writes again once (docs/API.md, "How events and points are stored").
  it('stores an integral number as integer in a field another writer created after the types were cached', async () => {
    await accepted(svc(), { event: 'cached', uid: 'u' });
    const external = `${BigInt(Date.now()) * 1_000_000n}`;
    await writeLines(svc().influxUrl, svc().database, `analytics,event=other k=1i ${external}`);

    const reply = await post(`${svc().url}/log/event`, { event: 'integral', uid: 'u', k: 2 });

    expect({ status: reply.status, body: reply.body }).toEqual({
      status: 200,
      body: expect.stringMatching(SERVER_ID) as unknown,
    });
    await expect(
      query(svc(), `SELECT "k" FROM "analytics" WHERE "event" = 'integral'`),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, k: 2 }]);
    await expect(fieldTypes(svc())).resolves.toMatchObject({ k: 'integer' });
  });
});

describe('POST /log/event field types, written concurrently', () => {
  const svc = serviceFor();

  it('refuses only the conflicting event of those written at the same moment', async () => {
    await accepted(svc(), { event: 'cached', uid: 'u' });
    const external = `${BigInt(Date.now()) * 1_000_000n}`;
    await writeLines(svc().influxUrl, svc().database, `analytics,event=other n=1i ${external}`);

    const [bad, ...good] = await Promise.all([
      post(`${svc().url}/log/event`, { event: 'bad', uid: 'u', n: 1.5 }),
      ...Array.from({ length: 20 }, (_, i) =>
        post(`${svc().url}/log/event`, { event: 'neighbour', uid: `u-${i}`, i }),
      ),
    ]);

    expect(bad).toMatchObject({ status: 400, body: conflict('n', 'integer', 'float') });
    expect(good.map((reply) => reply.status)).toEqual(Array.from({ length: 20 }, () => 200));
    await expect(countEvents(svc(), `"event" = 'neighbour'`)).resolves.toBe(20);
    await expect(countEvents(svc(), `"event" = 'bad'`)).resolves.toBe(0);
  });
});

describe('POST /log/event field types after InfluxDB was unavailable', () => {
  let influxd: InfluxdHandle;
  let svc: RunningService;

  beforeAll(async () => {
    influxd = await startInfluxd();
    svc = await startService({ INFLUX_URL: influxd.url, INFLUX_TIMEOUT_MS: '2000' });
  });

  afterAll(async () => {
    await svc?.close();
    await influxd?.stop();
  });

  // Regression: a type cached before a failed write once refused valid events for up to a
  // minute; types are remembered only after InfluxDB stored them. Since the spool, an event that
  // InfluxDB could not take is acknowledged (202) and stored later, and then its type holds.
  it('stores a string field spooled while InfluxDB was down (202), and only then refuses a number for it', async () => {
    await accepted(svc, { event: 'warm', uid: 'u' });
    await influxd.down();
    let during: Awaited<ReturnType<typeof post>>;
    try {
      during = await post(`${svc.url}/log/event`, { event: 'down', uid: 'u', x: 'text' });
    } finally {
      await influxd.up();
    }

    expect({
      status: during.status,
      retryAfter: during.headers.get('retry-after'),
      body: during.body,
    }).toEqual({
      status: 202,
      retryAfter: null,
      body: expect.stringMatching(SERVER_ID) as unknown,
    });
    const id = during.body as string;
    await waitForStored(svc.influxUrl, svc.database, [id]);
    await expect(storedEvent(svc, id)).resolves.toEqual({
      time: expect.any(String) as unknown,
      event: 'down',
      event_id: id,
      uid: 'u',
      x: 'text',
    });
    await expect(fieldTypes(svc)).resolves.toMatchObject({ x: 'string' });

    const after = await post(`${svc.url}/log/event`, { event: 'up', uid: 'u', x: 5 });

    expect(after).toMatchObject({ status: 400, body: conflict('x', 'string', 'float') });
    await expect(countEvents(svc, `"event" = 'up'`)).resolves.toBe(0);
  });
});

describe('POST /log/event into a field that exists as integer', () => {
  // Seeded before the service sees any event, as data of the original service would be.
  const svc = serviceFor({}, (s) =>
    writeLines(s.influxUrl, s.database, `analytics,event=seed uid="s",count=5i 1000000000`),
  );

  it('stores an integral number as integer', async () => {
    const id = await accepted(svc(), { event: 'int', uid: 'u', count: 7 });

    await expect(
      query(svc(), `SELECT "count" FROM "analytics" WHERE "event_id" = '${id}'`),
    ).resolves.toEqual([{ time: expect.any(String) as unknown, count: 7 }]);
    await expect(fieldTypes(svc())).resolves.toMatchObject({ count: 'integer' });
  });

  it.each([
    ['the int64 minimum', '-9223372036854775808'],
    ['the int64 maximum', '9223372036854775807'],
    ['2^53 + 1, which a double rounds to 2^53', '9007199254740993'],
  ])('stores %s, %s, as exactly that integer, and reads it back so', async (_case, digits) => {
    const reply = await post(
      `${svc().url}/log/event`,
      `{"event":"int.exact","uid":"u","count":${digits}}`,
    );
    expect(reply.status).toBe(200);
    const id = reply.body as string;

    const stored = await influxQueryText(
      svc().influxUrl,
      svc().database,
      `SELECT "count" FROM "analytics" WHERE "event_id" = '${id}'`,
    );
    expect(stored).toMatch(new RegExp(`"values":\\[\\["[^"]+",${digits}\\]\\]`));
    const read = await httpRequest('GET', `${svc().url}/log/event/${id}`, undefined, AUTH);
    expect(read.status).toBe(200);
    expect(read.body).toContain(`"count":${digits},`);
    await expect(fieldTypes(svc())).resolves.toMatchObject({ count: 'integer' });
  });

  it('refuses an integer beyond int64, 9223372036854775808, naming the key and the rule', async () => {
    const reply = await post(
      `${svc().url}/log/event`,
      '{"event":"int.over","uid":"u","count":9223372036854775808}',
    );

    expect(reply).toEqual({
      status: 400,
      headers: expect.anything() as unknown,
      body: refusal('count', INT64_RULE),
    });
    await expect(countEvents(svc(), `"event" = 'int.over'`)).resolves.toBe(0);
  });

  it.each<[string, unknown, string]>([
    ['a non-integral number', 7.5, 'float'],
    ['a string', '7', 'string'],
    ['a boolean', true, 'boolean'],
  ])('refuses %s, naming integer and the incoming type', async (_case, value, incoming) => {
    const reply = await post(`${svc().url}/log/event`, {
      event: 'bad.int',
      uid: 'u',
      count: value,
    });

    expect(reply).toMatchObject({ status: 400, body: conflict('count', 'integer', incoming) });
    await expect(countEvents(svc(), `"event" = 'bad.int'`)).resolves.toBe(0);
    await expect(fieldTypes(svc())).resolves.toMatchObject({ count: 'integer' });
  });
});

/**
 * The acknowledged ids that are not stored in the service's database, each with what explains
 * it: another stored point at its time (overwritten), the database that holds it instead (the
 * reply came from another instance in this process, say over a kept-alive connection to a port
 * that instance used before), or nothing (lost, or not visible yet: the count after a pause).
 * Once seen with 999 of 1,000 and never reproduced; this makes the next failure explain itself.
 */
async function unstored(svc: RunningService, ids: string[]): Promise<string[]> {
  const rows = await query(svc, `SELECT "event_id" FROM "analytics"`);
  const stored = new Set(rows.map((row) => row.event_id as string));
  const missing = ids.filter((id) => !stored.has(id));
  if (missing.length === 0) return [];
  const byTime = new Map(rows.map((row) => [nanos(row.time as string), row.event_id as string]));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const recount = await countEvents(svc, 'time > 0');
  const databases = (await influxQuery(svc.influxUrl, svc.database, 'SHOW DATABASES')).map(
    (row) => row.name as string,
  );
  return Promise.all(
    missing.map(async (id) => {
      // A server id starts with its point's stamp (nanoseconds, 16 hex digits).
      const stamp = BigInt(`0x${id.slice(6, 22)}`);
      const elsewhere: string[] = [];
      for (const db of databases) {
        const found = await influxQuery(
          svc.influxUrl,
          db,
          `SELECT "event_id" FROM /.*/ WHERE "event_id" = '${id}'`,
        ).catch(() => []);
        if (found.length > 0) elsewhere.push(db);
      }
      return (
        `${id} stamped ${stamp}: ` +
        `same time as stored ${byTime.get(stamp) ?? '(none)'}, ` +
        `found in databases [${elsewhere.join(', ')}] (this one: ${svc.database}), ` +
        `${recount} stored after 1 s`
      );
    }),
  );
}

/** InfluxDB's RFC 3339 time (fraction without trailing zeros) in nanoseconds. */
function nanos(time: string): bigint {
  const [whole = '', fraction = ''] = time.replace(/Z$/, '').split('.');
  return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

describe('POST /log/event does not overwrite', () => {
  const svc = serviceFor();

  it('stores 1,000 identical events sent concurrently as 1,000 points with distinct ids', async () => {
    const event = { event: 'burst', uid: 'same-user', page: '/home' };
    const replies = await inPool(1000, 50, () => post(`${svc().url}/log/event`, event));

    expect(replies.filter((reply) => reply.status !== 200)).toEqual([]);
    const ids = replies.map((reply) => reply.body as string);
    expect(ids.every((id) => SERVER_ID.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(1000);
    await expect(unstored(svc(), ids)).resolves.toEqual([]);
    await expect(countEvents(svc(), `"event" = 'burst'`)).resolves.toBe(1000);
    const rows = await query(svc(), `SELECT "event_id" FROM "analytics"`, 'ns');
    expect(new Set(rows.map((row) => row.time)).size).toBe(1000);
    expect(new Set(rows.map((row) => row.event_id))).toEqual(new Set(ids));
  });
});
