/**
 * GET /log/event/{id} (docs/API.md, "Reading an event back"): one stored event back as a flat object with `"status":
 * "stored"` and `X-Event-Status: stored`, against the real application and a real InfluxDB.
 * (Events still in the spool, `queued`: spool.e2e-spec.ts.)
 */
import { dropDatabase, influxQuery } from './support/influxd';
import { get, post, startService, type RunningService } from './support/service';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

let svc: RunningService;
/** Ids of the events stored in beforeAll. */
const ids = { signup: '', click: '', client: '', clientEntry: '', ownStatus: '' };

async function store(event: Record<string, unknown>): Promise<string> {
  const reply = await post(`${svc.url}/log/event`, event);
  if (reply.status !== 200 || typeof reply.body !== 'string') {
    throw new Error(`storing ${JSON.stringify(event)} answered ${reply.status}`);
  }
  return reply.body;
}

/** The time InfluxDB itself reports (RFC 3339) for the event with that id. */
async function storedTime(id: string): Promise<unknown> {
  const rows = await influxQuery(
    svc.influxUrl,
    svc.database,
    `SELECT "uid" FROM "analytics" WHERE "event_id" = '${id}'`,
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.time;
}

function read(id: string) {
  return get(`${svc.url}/log/event/${id}`);
}

/** The 404 for `id`, quoting at most its first 64 characters (then `…`). */
function notFound(id: string) {
  const shown = id.length > 64 ? `${id.slice(0, 64)}…` : id;
  return {
    statusCode: 404,
    error: 'Not Found',
    message: `no event with id ${JSON.stringify(shown)}`,
  };
}

describe('GET /log/event/{id}', () => {
  beforeAll(async () => {
    svc = await startService();
    // Events with different keys: SELECT * over the measurement pads the others' columns with null.
    ids.signup = await store({
      event: 'signup',
      uid: 'u-1',
      plan: 'pro',
      seats: 3,
      meta: { beta: true },
    });
    ids.click = await store({ event: 'click', uid: 'u-2', page: '/home', ok: false });
    ids.client = await store({ event: 'import', uid: 'u-3', event_id: 'Batch.7:row-42' });
    ids.clientEntry = await store({ event: 'import', uid: 'u-4', event_id: 'entry_abc.def' });
    ids.ownStatus = await store({ event: 'order', uid: 'u-5', status: 'paid' });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it.each(['', '/'])(
    'answers the stored event as one flat object (trailing "%s")',
    async (slash) => {
      const reply = await get(`${svc.url}/log/event/${ids.signup}${slash}`);

      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
      expect(reply.headers.get('x-event-status')).toBe('stored');
      expect(reply.body).toStrictEqual({
        status: 'stored',
        time: await storedTime(ids.signup),
        event_id: ids.signup,
        event: 'signup',
        uid: 'u-1',
        plan: 'pro',
        seats: 3,
        meta_beta: true,
      });
      const { time } = reply.body as { time: string };
      expect(time).toMatch(RFC3339);
      expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(60_000);
    },
  );

  it('answers another event without the keys of the first, and no null padding', async () => {
    const reply = await read(ids.click);

    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-event-status')).toBe('stored');
    expect(reply.body).toStrictEqual({
      status: 'stored',
      time: await storedTime(ids.click),
      event_id: ids.click,
      event: 'click',
      uid: 'u-2',
      page: '/home',
      ok: false,
    });
  });

  it('keeps an event\'s own "status" key in the body; X-Event-Status still says stored', async () => {
    const reply = await read(ids.ownStatus);

    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-event-status')).toBe('stored');
    expect(reply.body).toStrictEqual({
      time: await storedTime(ids.ownStatus),
      event_id: ids.ownStatus,
      event: 'order',
      uid: 'u-5',
      status: 'paid',
    });
  });

  it('reads back keys named __proto__, constructor and toString like any other key', async () => {
    // A raw body: in an object literal `__proto__` would set the prototype, not a key.
    const written = await post(
      `${svc.url}/log/event`,
      '{"event":"proto","uid":"u-9","__proto__":"p","constructor":"c","toString":7}',
    );
    expect(written.status).toBe(200);
    const id = written.body as string;

    const reply = await read(id);

    expect(reply.status).toBe(200);
    const body = reply.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      ['__proto__', 'constructor', 'event', 'event_id', 'status', 'time', 'toString', 'uid'].sort(),
    );
    expect(Object.getOwnPropertyDescriptor(body, '__proto__')?.value).toBe('p');
    expect(Object.getOwnPropertyDescriptor(body, 'constructor')?.value).toBe('c');
    expect(Object.getOwnPropertyDescriptor(body, 'toString')?.value).toBe(7);
  });

  it('finds a server id written in upper case', async () => {
    const upper = ids.signup.toUpperCase();
    expect(upper).toMatch(/^ENTRY_[0-9A-F]{32}$/);

    const reply = await read(upper);

    expect(reply).toMatchObject({
      status: 200,
      body: { status: 'stored', event_id: ids.signup, event: 'signup' },
    });
    expect(reply.headers.get('x-event-status')).toBe('stored');
  });

  it('trims spaces around the id', async () => {
    const reply = await read(`%20%20${ids.click}%20`);

    expect(reply).toMatchObject({ status: 200, body: { event_id: ids.click, event: 'click' } });
  });

  it('finds a client id with dots and colons exactly', async () => {
    const reply = await read(ids.client);

    expect(ids.client).toBe('Batch.7:row-42');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-event-status')).toBe('stored');
    expect(reply.body).toStrictEqual({
      status: 'stored',
      time: await storedTime(ids.client),
      event_id: 'Batch.7:row-42',
      event: 'import',
      uid: 'u-3',
    });
  });

  it.each(['batch.7:row-42', 'BATCH.7:ROW-42', 'Batch.7:row-4', 'Batch.7:row-42x'])(
    'does not find the client id Batch.7:row-42 as %s',
    async (id) => {
      await expect(read(id)).resolves.toMatchObject({ status: 404, body: notFound(id) });
    },
  );

  it('finds a client id starting with entry_ whatever its case, the dot matching only a dot', async () => {
    await expect(read('ENTRY_ABC.DEF')).resolves.toMatchObject({
      status: 200,
      body: { event_id: 'entry_abc.def', uid: 'u-4' },
    });
    await expect(read('entry_abcXdef')).resolves.toMatchObject({
      status: 404,
      body: notFound('entry_abcXdef'),
    });
  });

  it('answers 404 with a JSON body for an unknown id', async () => {
    const id = `entry_${'0'.repeat(32)}`;
    const reply = await read(id);

    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(reply.headers.get('x-event-status')).toBeNull();
    expect(reply.body).toEqual(notFound(id));
  });

  it.each<[string, string, string]>([
    ['a quote', "a'b", 'a%27b'],
    ['an InfluxQL condition', 'x or 1=1', 'x%20or%201=1'],
    ['200 characters', 'x'.repeat(200), 'x'.repeat(200)],
    ['a slash', 'a/b', 'a%2Fb'],
    ['a regex', 'entry_.*', 'entry_.*'],
  ])('answers 404 with a JSON body for an id with %s', async (_case, id, inPath) => {
    const reply = await read(inPath);

    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(reply.body).toEqual(notFound(id));
  });

  it('answers a 10 KB id with a small 404 that quotes 64 characters of it', async () => {
    const id = `${'a'.repeat(64)}${'b'.repeat(10 * 1024)}`;
    const reply = await read(id);

    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: `no event with id "${'a'.repeat(64)}…"`,
    });
  });

  it.each(['%', '%zz', 'entry_%E0%A4%A'])(
    'answers GET /log/event/%s (malformed percent-encoding) 404 with a JSON body',
    async (inPath) => {
      const reply = await read(inPath);

      expect(reply.status).toBe(404);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
      expect(reply.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'nothing is found at a path with malformed percent-encoding',
      });
    },
  );

  it.each<[string, string]>([
    ['a quoted condition', "<click>' OR event_id =~ /.*/ OR uid = '"],
    ['a regex alternative', 'x|entry_.*'],
    ['a wildcard after entry_', 'entry_.'],
    ['a wildcard in place of the last digit', '<signup-1>.'],
    ['a closing regex delimiter', 'entry_x$/ OR event_id =~ /.*'],
  ])('cannot be made to return another event by %s', async (_case, attempt) => {
    // The table is built before beforeAll stored the events: fill in their ids now.
    const id = attempt.replace('<click>', ids.click).replace('<signup-1>', ids.signup.slice(0, -1));

    const reply = await read(encodeURIComponent(id));

    expect(reply.status).toBe(404);
    expect(reply.body).toEqual(notFound(id.trim()));
  });
});
