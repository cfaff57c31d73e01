/**
 * POST /log/events (docs/API.md, "Batches", "How events and points are stored"): a batch of events, each accepted
 * or rejected on its own, against the real application and a real InfluxDB; and group commit
 * under concurrency. What was stored is always read back from InfluxDB directly.
 */
import { gzipSync } from 'node:zlib';
import {
  httpRequest,
  influxQuery,
  influxQueryRaw,
  startInfluxd,
  writeLines,
  type InfluxdHandle,
} from './support/influxd';
import {
  AUTH,
  get,
  inPool,
  post,
  type RunningService,
  serviceFor,
  startService,
} from './support/service';
import { waitForStored } from './support/spool';
import { SERVER_ID, unique } from './support/ids';

type Reply = Awaited<ReturnType<typeof post>>;

interface BatchBody {
  event_ids: Array<string | null>;
  rejected: Array<{ index: number; reason: string }>;
}

/** Rows of an InfluxQL query on the service's own database. */
function query(svc: RunningService, q: string) {
  return influxQuery(svc.influxUrl, svc.database, q);
}

function postEvents(svc: RunningService, body: unknown, headers?: Record<string, string>) {
  return post(`${svc.url}/log/events`, body, headers);
}

/** POSTs a raw body to /log/events with the demo token; status, headers and body text. */
function postRaw(svc: RunningService, body: string | Buffer, headers: Record<string, string>) {
  return httpRequest('POST', `${svc.url}/log/events`, body, {
    'Content-Type': 'application/json',
    ...AUTH,
    ...headers,
  });
}

/** The event_ids stored in `analytics` for one test's `batch` marker, sorted. */
async function storedIds(svc: RunningService, batch: string): Promise<string[]> {
  const rows = await query(svc, `SELECT "event_id" FROM "analytics" WHERE "batch" = '${batch}'`);
  return rows.map((row) => row.event_id as string).sort();
}

/** A 200 batch answer; returns its body. */
function expectBatch(reply: Reply): BatchBody {
  expect({ status: reply.status, keys: Object.keys(reply.body as object).sort() }).toEqual({
    status: 200,
    keys: ['event_ids', 'rejected'],
  });
  return reply.body as BatchBody;
}

function sorted(ids: Array<string | null>): string[] {
  return ids.filter((id): id is string => id !== null).sort();
}

/** `SHOW FIELD KEYS` as { key: type }. */
async function fieldTypes(svc: RunningService): Promise<Record<string, unknown>> {
  const rows = await query(svc, 'SHOW FIELD KEYS FROM "analytics"');
  return Object.fromEntries(rows.map((row) => [String(row.fieldKey), row.fieldType]));
}

/**
 * InfluxDB's own counters for the service's database (`SHOW STATS`, summed over its shards):
 * write requests that reached a shard, and points it refused (field type conflicts).
 */
async function shardStats(svc: RunningService): Promise<{ writes: number; dropped: number }> {
  const json = await influxQueryRaw(svc.influxUrl, svc.database, "SHOW STATS FOR 'shard'");
  const totals = { writes: 0, dropped: 0 };
  for (const series of json.results?.[0]?.series ?? []) {
    if (series.tags?.database !== svc.database) continue;
    for (const values of series.values ?? []) {
      const value = (column: string) => Number(values[series.columns.indexOf(column)] ?? 0);
      totals.writes += value('writeReq');
      totals.dropped += value('writePointsDropped');
    }
  }
  return totals;
}

/** A reason that names the key and the types of a field type conflict. */
function conflictReason(field: string, stored: string, incoming: string): RegExp {
  return new RegExp(`^${field}: .*"${field}".*stored as ${stored}.*this value is ${incoming}`);
}

describe('POST /log/events', () => {
  const svc = serviceFor();

  it.each(['/log/events', '/log/events/'])(
    'answers %s with 200, ids aligned with the input, and stores every event',
    async (path) => {
      const batch = unique('ok');
      const events = [
        { event: 'login', uid: 'u1', batch, n: 1 },
        { event: 'purchase', uid: 'u2', batch, n: 2, event_id: `client-${batch}.a:b` },
        { event: 'logout', uid: '', batch, n: 3, meta: { ip: '10.0.0.1' } },
      ];

      const reply = await post(`${svc().url}${path}`, events);

      const body = expectBatch(reply);
      expect(body).toEqual({
        event_ids: [
          expect.stringMatching(SERVER_ID) as unknown,
          `client-${batch}.a:b`,
          expect.stringMatching(SERVER_ID) as unknown,
        ],
        rejected: [],
      });
      const rows = await query(
        svc(),
        `SELECT "event_id", "event", "uid", "n", "meta_ip" FROM "analytics" WHERE "batch" = '${batch}'`,
      );
      const byId = new Map(rows.map((row) => [row.event_id, row]));
      expect(byId.size).toBe(3);
      events.forEach((event, i) => {
        expect(byId.get(body.event_ids[i])).toMatchObject({
          event: event.event,
          uid: event.uid,
          n: event.n,
          meta_ip: i === 2 ? '10.0.0.1' : null,
        });
      });
    },
  );

  it('stores the valid events of a mixed batch and rejects the others by index, key and rule', async () => {
    const batch = unique('mixed');
    const events = [
      { event: 'ok', uid: 'u0', batch },
      { uid: 'u1', batch },
      { event: 'ok', uid: 'u2', batch },
      { event: 'ok', uid: 'u3', batch, 'bad\\': 1 },
      { event: 'ok', uid: 'u4', batch, list: [1, 2] },
      { event: 'ok', batch },
      { event: 'ok', uid: 'u6', batch, time: 'yesterday' },
      { event: 'ok', uid: 'u7', batch },
    ];

    const body = expectBatch(await postEvents(svc(), events));

    expect(body.event_ids.map((id) => id !== null)).toEqual([
      true,
      false,
      true,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(body.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/^event: .*non-empty string/) as unknown },
      { index: 3, reason: expect.stringMatching(/^bad\\: .*backslash/) as unknown },
      { index: 4, reason: expect.stringMatching(/^list: .*arrays/) as unknown },
      { index: 5, reason: expect.stringMatching(/^uid: .*required/) as unknown },
      { index: 6, reason: expect.stringMatching(/^time: .*RFC 3339/) as unknown },
    ]);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
  });

  it('answers 400 with the same body shape when no event is valid, and stores nothing', async () => {
    const batch = unique('none');

    const reply = await postEvents(svc(), [
      { uid: 'u0', batch },
      { event: '', uid: 'u1', batch },
      { event: 'x', uid: true, batch },
    ]);

    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.any(String) as unknown,
      event_ids: [null, null, null],
      rejected: [
        { index: 0, reason: expect.stringMatching(/^event: /) as unknown },
        { index: 1, reason: expect.stringMatching(/^event: /) as unknown },
        { index: 2, reason: expect.stringMatching(/^uid: .*string/) as unknown },
      ],
    });
    await expect(storedIds(svc(), batch)).resolves.toEqual([]);
  });

  it('answers 400 to an empty array', async () => {
    const reply = await postEvents(svc(), []);

    expect(reply).toMatchObject({
      status: 400,
      body: { statusCode: 400, message: expect.stringMatching(/no events/) as unknown },
    });
  });

  it.each([
    ['an object', { event: 'single', uid: 'u1' }],
    ['a string', 'text'],
    ['a number', 42],
  ])('answers 400 to a body that is %s, not an array', async (_what, body) => {
    const reply = await post(`${svc().url}/log/events`, JSON.stringify(body));

    expect(reply).toMatchObject({
      status: 400,
      body: { statusCode: 400, message: expect.stringMatching(/array/) as unknown },
    });
  });

  it('rejects elements that are not objects by their index, and stores the rest', async () => {
    const batch = unique('shapes');

    const body = expectBatch(
      await postEvents(svc(), [
        { event: 'ok', uid: 'u0', batch },
        42,
        'event',
        null,
        [{ event: 'nested', uid: 'u' }],
        { event: 'ok', uid: 'u5', batch },
      ]),
    );

    expect(body.event_ids.map((id) => id !== null)).toEqual([
      true,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4]);
    for (const { reason } of body.rejected) expect(reason).toMatch(/must be a JSON object/);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
  });

  it('rejects only the event whose field conflicts with the type already stored', async () => {
    const batch = unique('conflict');
    const field = unique('f');
    const first = await post(`${svc().url}/log/event`, { event: 'seed', uid: 'u', [field]: 'a' });
    expect(first.status).toBe(200);

    const body = expectBatch(
      await postEvents(svc(), [
        { event: 'ok', uid: 'u0', batch, [field]: 'b' },
        { event: 'ok', uid: 'u1', batch, [field]: 3 },
        { event: 'ok', uid: 'u2', batch },
      ]),
    );

    expect(body.event_ids.map((id) => id !== null)).toEqual([true, false, true]);
    expect(body.rejected).toEqual([
      {
        index: 1,
        reason: expect.stringMatching(conflictReason(field, 'string', 'float')) as unknown,
      },
    ]);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
    await expect(fieldTypes(svc())).resolves.toMatchObject({ [field]: 'string' });
  });

  it('rejects only the event that conflicts with a field another writer made after the types were cached', async () => {
    const batch = unique('other');
    const field = unique('g');
    // The service reads and caches the measurement's types...
    const warm = await postEvents(svc(), [{ event: 'warm', uid: 'u', batch: unique('warm') }]);
    expect(warm.status).toBe(200);
    // ...then another writer creates the field as a string, behind the service's back.
    await writeLines(svc().influxUrl, svc().database, [
      `analytics,event=other ${field}="by-someone-else" ${Date.now()}000000`,
    ]);

    const body = expectBatch(
      await postEvents(svc(), [
        { event: 'ok', uid: 'u0', batch },
        { event: 'ok', uid: 'u1', batch, [field]: 1.5 },
        { event: 'ok', uid: 'u2', batch },
        { event: 'ok', uid: 'u3', batch, [field]: 'fine' },
      ]),
    );

    expect(body.event_ids.map((id) => id !== null)).toEqual([true, false, true, true]);
    expect(body.rejected).toEqual([
      {
        index: 1,
        reason: expect.stringMatching(conflictReason(field, 'string', 'float')) as unknown,
      },
    ]);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
  });

  it('stores a number into a field another writer made an integer after the types were cached', async () => {
    const batch = unique('stale');
    const field = unique('i');
    const warm = await postEvents(svc(), [{ event: 'warm', uid: 'u', batch: unique('warm') }]);
    expect(warm.status).toBe(200);
    await writeLines(svc().influxUrl, svc().database, [
      `analytics,event=other ${field}=1i ${Date.now()}000000`,
    ]);

    const body = expectBatch(
      await postEvents(svc(), [
        { event: 'ok', uid: 'u0', batch, [field]: 7 },
        { event: 'ok', uid: 'u1', batch },
      ]),
    );

    expect(body).toEqual({
      event_ids: [expect.stringMatching(SERVER_ID), expect.stringMatching(SERVER_ID)],
      rejected: [],
    });
    const rows = await query(
      svc(),
      `SELECT "${field}" FROM "analytics" WHERE "batch" = '${batch}' AND "${field}" = 7`,
    );
    expect(rows).toHaveLength(1);
    await expect(fieldTypes(svc())).resolves.toMatchObject({ [field]: 'integer' });
  });

  it('stores exactly one of two events that bring the same new field with different types', async () => {
    const batch = unique('newfield');
    const field = unique('k');

    const body = expectBatch(
      await postEvents(svc(), [
        { event: 'ok', uid: 'u0', batch },
        { event: 'ok', uid: 'u1', batch, [field]: 'text' },
        { event: 'ok', uid: 'u2', batch, [field]: 2 },
        { event: 'ok', uid: 'u3', batch },
      ]),
    );

    expect(body.event_ids[0]).toMatch(SERVER_ID);
    expect(body.event_ids[3]).toMatch(SERVER_ID);
    const storedIndex = body.event_ids[1] !== null ? 1 : 2;
    const rejectedIndex = 3 - storedIndex;
    expect(body.event_ids[storedIndex]).toMatch(SERVER_ID);
    expect(body.event_ids[rejectedIndex]).toBeNull();
    const [stored, incoming] = storedIndex === 1 ? ['string', 'float'] : ['float', 'string'];
    expect(body.rejected).toEqual([
      {
        index: rejectedIndex,
        reason: expect.stringMatching(conflictReason(field, stored, incoming)) as unknown,
      },
    ]);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
    await expect(fieldTypes(svc())).resolves.toMatchObject({ [field]: stored });
  });

  // Regression: an `event` within MAX_STRING_BYTES can still pass InfluxDB's series key limit;
  // the service refuses it itself, naming the key.
  it('names the key when InfluxDB refuses an event whose series key is too long', async () => {
    const batch = unique('longkey');

    const body = expectBatch(
      await postEvents(svc(), [
        { event: 'ok', uid: 'u0', batch },
        { event: 'a'.repeat(65_520), uid: 'u1', batch },
        { event: 'ok', uid: 'u2', batch },
      ]),
    );

    expect(body.event_ids.map((id) => id !== null)).toEqual([true, false, true]);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
    expect(body.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/^event: /) as unknown },
    ]);
  });

  it('accepts a gzip-compressed batch', async () => {
    const batch = unique('gzip');
    const events = [
      { event: 'zipped', uid: 'u0', batch, note: 'é✓' },
      { event: 'zipped', uid: 'u1', batch },
    ];

    const reply = await postRaw(svc(), gzipSync(JSON.stringify(events)), {
      'Content-Encoding': 'gzip',
    });

    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body) as BatchBody;
    expect(body).toEqual({
      event_ids: [expect.stringMatching(SERVER_ID), expect.stringMatching(SERVER_ID)],
      rejected: [],
    });
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
    const rows = await query(svc(), `SELECT "note" FROM "analytics" WHERE "batch" = '${batch}'`);
    expect(rows.map((row) => row.note)).toContain('é✓');
  });

  it('answers 413 to a gzip body that inflates past MAX_BODY_BYTES, and stores nothing', async () => {
    const batch = unique('bomb');
    // 2 MiB of JSON whitespace (MAX_BODY_BYTES is 1 MiB) compresses to a few KiB.
    const json = `[{"event":"bomb","uid":"u","batch":"${batch}"}${' '.repeat(2 * 1024 * 1024)}]`;
    const gzipped = gzipSync(json);
    expect(gzipped.length).toBeLessThan(16 * 1024);

    const reply = await postRaw(svc(), gzipped, { 'Content-Encoding': 'gzip' });

    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({
      statusCode: 413,
      message: expect.stringMatching(/MAX_BODY_BYTES/) as unknown,
    });
    await expect(storedIds(svc(), batch)).resolves.toEqual([]);
  });

  it('answers 401 without a token, and stores nothing', async () => {
    const batch = unique('anon');

    const reply = await postEvents(svc(), [{ event: 'anon', uid: 'u', batch }], {});

    expect({
      status: reply.status,
      wwwAuthenticate: reply.headers.get('www-authenticate'),
      body: reply.body,
    }).toMatchObject({ status: 401, wwwAuthenticate: 'Token', body: { statusCode: 401 } });
    await expect(storedIds(svc(), batch)).resolves.toEqual([]);
  });
});

describe('POST /log/events with MAX_BATCH_EVENTS=5', () => {
  const svc = serviceFor({ MAX_BATCH_EVENTS: '5' });
  const events = (batch: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({ event: 'limit', uid: `u${i}`, batch }));

  it('answers 413 naming MAX_BATCH_EVENTS to 6 events, and stores none of them', async () => {
    const batch = unique('six');

    const reply = await postEvents(svc(), events(batch, 6));

    expect(reply).toMatchObject({
      status: 413,
      body: { statusCode: 413, message: expect.stringMatching(/MAX_BATCH_EVENTS/) as unknown },
    });
    await expect(storedIds(svc(), batch)).resolves.toEqual([]);
  });

  it('stores a batch of exactly 5 events', async () => {
    const batch = unique('five');

    const body = expectBatch(await postEvents(svc(), events(batch, 5)));

    expect(body.rejected).toEqual([]);
    await expect(storedIds(svc(), batch)).resolves.toEqual(sorted(body.event_ids));
    expect(sorted(body.event_ids)).toHaveLength(5);
  });
});

/**
 * 200 single events (50 at a time) and 20 batches of 50, all at once; one batch holds an event
 * whose field conflicts with the stored type. `conflict` says how that type came to be: through
 * the service (it refuses the event itself), or written by another writer after the service
 * cached the types (InfluxDB refuses a group-committed write, which is split down to the event).
 */
async function loadWithOneConflict(svc: RunningService, conflict: 'cached' | 'other writer') {
  const run = unique('load');
  const field = unique('c');
  const warm = await post(`${svc.url}/log/event`, { event: 'seed', uid: 'u', warm: 'yes' });
  expect(warm.status).toBe(200);
  if (conflict === 'cached') {
    const seed = await post(`${svc.url}/log/event`, { event: 'seed', uid: 'u', [field]: 'text' });
    expect(seed.status).toBe(200);
  } else {
    // Now, not in the past: InfluxDB 1.x holds field types per shard (a week of time).
    await writeLines(
      svc.influxUrl,
      svc.database,
      `analytics,event=other ${field}="x" ${Date.now()}000000`,
    );
  }
  const conflictId = `conflict-${run}`;
  const statsBefore = await shardStats(svc);
  const BATCHES = 20;
  const PER_BATCH = 50;
  const CONFLICT_BATCH = 7;
  const CONFLICT_INDEX = 13;
  const batchEvent = (b: number, i: number) =>
    b === CONFLICT_BATCH && i === CONFLICT_INDEX
      ? { event: 'load', uid: `b${b}`, run, [field]: 1, event_id: conflictId }
      : { event: 'load', uid: `b${b}`, run, i };

  const [singles, batches] = await Promise.all([
    inPool(200, 50, (i) => post(`${svc.url}/log/event`, { event: 'load', uid: `s${i}`, run })),
    Promise.all(
      Array.from({ length: BATCHES }, (_, b) =>
        postEvents(
          svc,
          Array.from({ length: PER_BATCH }, (_, i) => batchEvent(b, i)),
        ),
      ),
    ),
  ]);

  expect(singles.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  expect(batches.map((r) => r.status)).toEqual(batches.map(() => 200));
  batches.forEach((reply, b) => {
    const { rejected } = reply.body as BatchBody;
    expect({ batch: b, rejected }).toEqual({
      batch: b,
      rejected:
        b === CONFLICT_BATCH
          ? [
              {
                index: CONFLICT_INDEX,
                reason: expect.stringMatching(conflictReason(field, 'string', 'float')) as unknown,
              },
            ]
          : [],
    });
  });
  const acknowledged = [
    ...singles.map((r) => r.body as string),
    ...batches.flatMap((r) => (r.body as BatchBody).event_ids),
  ].filter((id): id is string => id !== null);
  expect(acknowledged).toHaveLength(200 + BATCHES * PER_BATCH - 1);
  expect(new Set(acknowledged).size).toBe(acknowledged.length);

  const rows = await query(svc, `SELECT "event_id" FROM "analytics" WHERE "run" = '${run}'`);
  const stored = rows.map((row) => row.event_id as string);
  expect(stored).toHaveLength(acknowledged.length);
  expect(stored.sort()).toEqual(acknowledged.sort());
  await expect(
    query(svc, `SELECT "event_id" FROM "analytics" WHERE "event_id" = '${conflictId}'`),
  ).resolves.toEqual([]);

  // Seen from InfluxDB: events shared writes, and the conflict reached InfluxDB only when the
  // service could not know of it.
  const statsAfter = await shardStats(svc);
  const writes = statsAfter.writes - statsBefore.writes;
  const dropped = statsAfter.dropped - statsBefore.dropped;
  expect(writes).toBeLessThan(acknowledged.length / 2);
  if (conflict === 'cached') expect(dropped).toBe(0);
  else expect(dropped).toBeGreaterThanOrEqual(1);
}

describe.each([
  ['default group commit settings', {}],
  [
    'WRITE_BATCH_LINES=16, WRITE_CONCURRENCY=1',
    { WRITE_BATCH_LINES: '16', WRITE_CONCURRENCY: '1' },
  ],
])('group commit under concurrency (%s)', (_name, env: Record<string, string>) => {
  const svc = serviceFor(env);

  it('stores every acknowledged event and no refused one, when the service knows the conflict', async () => {
    await loadWithOneConflict(svc(), 'cached');
  });

  it('stores every acknowledged event and no refused one, when InfluxDB refuses a shared write', async () => {
    await loadWithOneConflict(svc(), 'other writer');
  });
});

describe('POST /log/events while InfluxDB is down', () => {
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

  it('answers 202 with the same body as a 200, and every event of the batch is stored once InfluxDB is back', async () => {
    const warm = unique('warm');
    const before = expectBatch(await postEvents(svc, [{ event: 'warm', uid: 'u', batch: warm }]));
    const batch = unique('down');

    await influxd.down();
    let reply: Reply;
    try {
      reply = await postEvents(svc, [
        { event: 'down', uid: 'u0', batch },
        { event: 'down', uid: 'u1', batch, n: 1 },
        { uid: 'no event', batch },
        { event: 'down', uid: 'u2', batch },
      ]);
      // While InfluxDB is down the events are readable from the spool.
      const [first] = (reply.body as BatchBody).event_ids;
      const read = await get(`${svc.url}/log/event/${first!}`);
      expect({ status: read.status, header: read.headers.get('x-event-status') }).toEqual({
        status: 200,
        header: 'queued',
      });
    } finally {
      await influxd.up();
    }

    expect({
      status: reply.status,
      retryAfter: reply.headers.get('retry-after'),
      contentType: reply.headers.get('content-type'),
      body: reply.body,
    }).toEqual({
      status: 202,
      retryAfter: null,
      contentType: expect.stringMatching(/^application\/json/) as unknown,
      body: {
        event_ids: [
          expect.stringMatching(SERVER_ID) as unknown,
          expect.stringMatching(SERVER_ID) as unknown,
          null,
          expect.stringMatching(SERVER_ID) as unknown,
        ],
        rejected: [
          { index: 2, reason: expect.stringMatching(/^event: .*non-empty string/) as unknown },
        ],
      },
    });
    const acknowledged = sorted((reply.body as BatchBody).event_ids);
    expect(new Set(acknowledged).size).toBe(3);
    await expect(waitForStored(svc.influxUrl, svc.database, acknowledged)).resolves.toEqual(
      acknowledged,
    );
    // Exactly the accepted ones, once each; the refused one is not stored.
    await expect(storedIds(svc, batch)).resolves.toEqual(acknowledged);
    await expect(
      query(svc, `SELECT "uid", "n" FROM "analytics" WHERE "batch" = '${batch}'`),
    ).resolves.toEqual([
      { time: expect.any(String) as unknown, uid: 'u0', n: null },
      { time: expect.any(String) as unknown, uid: 'u1', n: 1 },
      { time: expect.any(String) as unknown, uid: 'u2', n: null },
    ]);
    await expect(storedIds(svc, warm)).resolves.toEqual(sorted(before.event_ids));
  });
});
