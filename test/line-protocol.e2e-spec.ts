/**
 * Issue 19, "2xx means stored as sent": every key and value is checked against what InfluxDB's
 * line protocol carries exactly before anything keeps the event, so that the same request gets
 * the same answer whether InfluxDB is up or down, and what is acknowledged reads back byte for
 * byte as it was sent, written at once or replayed from the spool. Against the real InfluxDB;
 * "down" is a service whose InfluxDB is behind a gate that refuses every connection until the
 * spec opens it.
 *
 * What was read back is parsed with the service's body parser (src/http/exact-json.ts, its own
 * specs beside it), the one JSON reader at hand that keeps integers beyond ±2^53 exactly.
 */
import fc from 'fast-check';
import { parseExactJson } from '../src/http/exact-json';
import {
  createDatabase,
  dropDatabase,
  httpRequest,
  influxQueryText,
  writeLines,
} from './support/influxd';
import { AUTH, startService, type RunningService } from './support/service';
import { eventually, quoted, startGate, waitForStored, type Gate } from './support/spool';

/** The drainer as fast as it goes: the specs wait for it, not for its rate limit. */
const FAST_DRAIN = { SPOOL_DRAIN_LINES_PER_SECOND: '10000000' };

const FIELD_BACKSLASH =
  'a backslash before a comma, equals sign or space cannot be stored by InfluxDB (two backslashes can) in a field key';
const NAME_BACKSLASH_SPACE =
  'a backslash before a space cannot be stored by InfluxDB (two backslashes can) in a name or tag value';
const INEXACT = 'is an integer that a float field cannot hold exactly (beyond ±2^53)';
const INT64 = 'integers must be from -9223372036854775808 to 9223372036854775807 (int64)';

function influxUrl(): string {
  const url = process.env.INFLUX_URL;
  if (!url) throw new Error('INFLUX_URL is not set: run the e2e project through jest');
  return url;
}

interface Answer {
  status: number;
  body: unknown;
}

/** POSTs the body text as it is; the answer's body parsed exactly. */
async function send(svc: RunningService, body: string | Buffer): Promise<Answer> {
  const reply = await httpRequest('POST', `${svc.url}/log/event`, body, {
    'Content-Type': 'application/json',
    ...AUTH,
  });
  return { status: reply.status, body: parseExactJson(Buffer.from(reply.body)) };
}

/** GET /log/event/{id}, its body parsed exactly (integers beyond ±2^53 as bigints). */
async function read(svc: RunningService, id: string): Promise<Answer> {
  const reply = await httpRequest(
    'GET',
    `${svc.url}/log/event/${encodeURIComponent(id)}`,
    undefined,
    AUTH,
  );
  return { status: reply.status, body: parseExactJson(Buffer.from(reply.body)) };
}

/** The event's row as InfluxDB itself answers `SELECT *`, null columns left out. */
async function storedRow(svc: RunningService, id: string): Promise<Record<string, unknown>> {
  const text = await influxQueryText(
    influxUrl(),
    svc.database,
    `SELECT * FROM "analytics" WHERE "event_id" = ${quoted(id)}`,
  );
  const answer = parseExactJson(Buffer.from(text)) as {
    results: Array<{ series?: Array<{ columns: string[]; values: unknown[][] }> }>;
  };
  const series = answer.results[0]?.series ?? [];
  expect(series.map((s) => s.values.length)).toEqual([1]);
  const row: Record<string, unknown> = {};
  series[0]!.columns.forEach((column, i) => {
    const value = series[0]!.values[0]![i];
    if (value !== null) row[column] = value;
  });
  return row;
}

function refusal(key: string, rule: string, extra: Record<string, unknown> = {}) {
  return {
    status: 400,
    body: {
      statusCode: 400,
      error: 'Bad Request',
      message: `${key}: ${rule}`,
      ...extra,
      key,
      rule,
    },
  };
}

/** JSON text of an event whose values may be bigints (written as their digits). */
function eventText(event: ReadonlyArray<readonly [string, unknown]>): string {
  const parts = event.map(
    ([key, value]) =>
      `${JSON.stringify(key)}:${typeof value === 'bigint' ? String(value) : JSON.stringify(value)}`,
  );
  return `{${parts.join(',')}}`;
}

/** A service against InfluxDB directly, and one behind a gate that refuses until opened. */
function upAndDown() {
  const held: { up?: RunningService; down?: RunningService; gate?: Gate } = {};
  beforeAll(async () => {
    held.up = await startService();
    held.gate = await startGate(influxUrl(), 'refuse');
    held.down = await startService({ INFLUX_URL: held.gate.url, ...FAST_DRAIN });
  });
  afterAll(async () => {
    await held.gate?.set('refuse');
    for (const svc of [held.up, held.down]) {
      if (!svc) continue;
      await svc.close();
      await dropDatabase(influxUrl(), svc.database);
    }
    await held.gate?.stop();
  });
  return held as Required<typeof held>;
}

describe('the same request, the same answer, InfluxDB up or down', () => {
  const the = upAndDown();

  // Cases of issue 19 and their neighbours; JSON text as a client sends it.
  const refused: Array<[string, string | Buffer, ReturnType<typeof refusal>]> = [
    [
      'a backslash before a comma in a field key',
      '{"event":"e","uid":"u","o\\\\,b":1}',
      refusal('o\\,b', FIELD_BACKSLASH),
    ],
    [
      'a backslash before an equals sign in a field key',
      '{"event":"e","uid":"u","o\\\\=b":1}',
      refusal('o\\=b', FIELD_BACKSLASH),
    ],
    [
      'a backslash before a space in a field key',
      '{"event":"e","uid":"u","o\\\\ b":1}',
      refusal('o\\ b', FIELD_BACKSLASH),
    ],
    [
      'a backslash before a space in the event (a tag value)',
      '{"event":"o\\\\ b","uid":"u"}',
      refusal('event', NAME_BACKSLASH_SPACE),
    ],
    [
      'a trailing backslash in a key',
      '{"event":"e","uid":"u","ab\\\\":1}',
      refusal('ab\\', 'must not end with a backslash'),
    ],
    [
      'a line break in a key',
      '{"event":"e","uid":"u","a\\nb":1}',
      refusal('a\nb', 'must not contain control characters'),
    ],
    [
      'a lone surrogate in a key',
      '{"event":"e","uid":"u","\\ud801":1}',
      refusal(
        '\ufffd',
        'the key holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form',
      ),
    ],
    [
      'a lone surrogate in a value',
      '{"event":"e","uid":"u","s":"\\udc01"}',
      refusal(
        's',
        'the value holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form',
      ),
    ],
    [
      'invalid UTF-8 in a value',
      Buffer.concat([
        Buffer.from('{"event":"e","uid":"u","v":"a'),
        Buffer.from([0xff]),
        Buffer.from('b"}'),
      ]),
      refusal('v', 'the value is not valid UTF-8'),
    ],
    [
      'an integer a new (float) field would round',
      '{"event":"e","uid":"u","n":9007199254740993}',
      refusal('n', INEXACT, { stored: 'float', incoming: 'integer' }),
    ],
    [
      'an integer beyond int64',
      '{"event":"e","uid":"u","n":-9223372036854775809}',
      refusal('n', INT64),
    ],
  ];

  it.each(refused)(
    'refuses %s with one 400 naming the key and the rule',
    async (_c, body, want) => {
      const up = await send(the.up, body);
      const down = await send(the.down, body);

      expect(up).toEqual(want);
      expect(down).toEqual(up);
    },
  );

  it.each([
    [
      'a tag key with a backslash before a space',
      '[{"measurement":"m","tags":{"o\\\\ b":"v"},"fields":{"x":1}}]',
      'tags.o\\ b',
      NAME_BACKSLASH_SPACE,
    ],
    [
      'a field key with a backslash before a comma',
      '[{"measurement":"m","fields":{"x":1,"o\\\\,b":1}}]',
      'fields.o\\,b',
      FIELD_BACKSLASH,
    ],
  ])('refuses a point with %s, naming its index and key', async (_c, body, key, rule) => {
    const want = {
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: `[0].${key}: ${rule}`,
        index: 0,
        key,
        rule,
      },
    };
    const up = await send(the.up, body);
    const down = await send(the.down, body);

    expect(up).toEqual(want);
    expect(down).toEqual(up);
  });

  // Each is stored as sent: 200 at once, 202 into the spool, then the same read-back.
  const accepted: Array<[string, Array<[string, unknown]>]> = [
    ['a backslash before a quote in a key (once stored as a"b)', [['a\\"b', 1]]],
    ['two backslashes before a comma in a key', [['o\\\\,b', 'x']]],
    ['spaces, commas and equals signs in a key', [['a b,c=d', true]]],
    ['quotes, backslashes, a line break and NUL in a value', [['s', 'a"b\\c\nd\u0000e\\']]],
    ['astral characters in a key and a value', [['😀', 'ü😀\u2028']]],
    ['an integer beyond 2^53 that a double holds exactly', [['n', 9007199254740994n]]],
  ];

  it.each(accepted.map(([name, fields], i) => [name, fields, `lp-accepted-${i}`] as const))(
    'stores an event with %s, and reads it back as sent either way',
    async (_c, fields, id) => {
      const event: Array<[string, unknown]> = [
        ['event', 'lp.accepted'],
        ['uid', 'u'],
        ['event_id', id],
        ...fields,
      ];
      const body = eventText(event);

      await expect(send(the.up, body)).resolves.toEqual({ status: 200, body: id });
      await expect(send(the.down, body)).resolves.toEqual({ status: 202, body: id });
      const want = { time: expect.any(String) as unknown, ...Object.fromEntries(event) };
      // Still in the spool, it reads back as it will once stored.
      await expect(read(the.down, id)).resolves.toEqual({
        status: 200,
        body: { status: 'queued', ...want },
      });
      await the.gate.set('open');
      try {
        await waitForStored(influxUrl(), the.down.database, [id]);
        for (const svc of [the.up, the.down]) {
          await expect(storedRow(svc, id)).resolves.toEqual(want);
          await expect(read(svc, id)).resolves.toEqual({
            status: 200,
            body: { status: 'stored', ...want },
          });
        }
      } finally {
        await the.gate.set('refuse');
      }
    },
  );
});

describe('an integer field beyond ±2^53, through the spool', () => {
  const the = upAndDown();

  it('keeps every digit of an integer spooled while InfluxDB was down, through the replay', async () => {
    for (const svc of [the.up, the.down]) {
      // The down service could not create its database.
      await createDatabase(influxUrl(), svc.database);
      await writeLines(influxUrl(), svc.database, 'analytics,event=seed big=1i 1000000000');
    }
    // The down service learns that `big` is an integer while it can reach InfluxDB.
    await the.gate.set('open');
    try {
      await expect(send(the.down, '{"event":"warm","uid":"u","big":2}')).resolves.toMatchObject({
        status: 200,
      });
    } finally {
      await the.gate.set('refuse');
    }
    const event: Array<[string, unknown]> = [
      ['event', 'lp.big'],
      ['uid', 'u'],
      ['event_id', 'lp-big'],
      ['big', -9223372036854775807n],
      ['odd', 9007199254740993n],
    ];
    // `odd` is a new field: a float, which cannot hold 9007199254740993.
    await expect(send(the.up, eventText(event))).resolves.toEqual(
      refusal('odd', INEXACT, { stored: 'float', incoming: 'integer' }),
    );
    const body = eventText(event.slice(0, 4));

    await expect(send(the.up, body)).resolves.toEqual({ status: 200, body: 'lp-big' });
    await expect(send(the.down, body)).resolves.toEqual({ status: 202, body: 'lp-big' });
    await the.gate.set('open');
    try {
      await waitForStored(influxUrl(), the.down.database, ['lp-big']);
      const want = {
        time: expect.any(String) as unknown,
        ...Object.fromEntries(event.slice(0, 4)),
      };
      for (const svc of [the.up, the.down]) {
        await expect(storedRow(svc, 'lp-big')).resolves.toEqual(want);
        await expect(read(svc, 'lp-big')).resolves.toEqual({
          status: 200,
          body: { status: 'stored', ...want },
        });
      }
    } finally {
      await the.gate.set('refuse');
    }
  });
});

// The alphabet of the generated keys and values: every character line protocol escapes or
// treats apart, quotes, non-ASCII and astral characters, and, less often, the backslash and
// characters it cannot carry in a name (so that most events are stored, and the property says
// something of them).
const SAFE = ['a', 'Z', '_', '"', "'", ',', '=', ' ', '#', 'é', '😀', '\u2028', '{'];
const CHAR = fc.oneof(
  { arbitrary: fc.constantFrom(...SAFE), weight: 30 },
  // Digits (runs of them are what InfluxDB's answers are searched for), and any code point,
  // astral ones included (U+10FC00 and up begin with the surrogate that marks big integers).
  { arbitrary: fc.constantFrom('0', '1', '9'), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.constantFrom('\u{10FC00}', '\u{10FFFF}'), weight: 1 },
  { arbitrary: fc.constant('\\'), weight: 5 },
  { arbitrary: fc.constantFrom('\n', '\t'), weight: 1 },
);
const TEXT_CHAR = fc.oneof(
  { arbitrary: CHAR, weight: 8 },
  { arbitrary: fc.constantFrom('\0', '\r', '\u0001', '\\'), weight: 2 },
);

const text = (char: fc.Arbitrary<string>, minLength: number) =>
  fc.array(char, { minLength, maxLength: 6 }).map((c) => c.join(''));

/** A double no bigger than ±2^50: written as JSON.stringify writes it, read back the same. */
const DOUBLE = fc
  .double({ min: -(2 ** 50), max: 2 ** 50, noNaN: true })
  .map((d) => (d === 0 ? 0 : d));
/** Integers beyond ±2^53 that a double holds exactly: they may go into a new (float) field. */
const EXACT_DOUBLE_INTEGER = fc
  .bigInt({ min: 2n ** 54n, max: 2n ** 62n })
  .map((n) => BigInt(Number(n)))
  .chain((n) => fc.constantFrom(n, -n));

const VALUE = fc.oneof(
  text(TEXT_CHAR, 0),
  fc.integer(),
  DOUBLE,
  fc.boolean(),
  EXACT_DOUBLE_INTEGER,
);

/**
 * One event: the required keys, then up to four generated keys (prefixed, so that none is a
 * reserved key) with generated values, and `big` for an int64 beyond ±2^53 when the
 * measurement already holds `big` as an integer.
 */
function events(idPrefix: string, withBig: boolean) {
  const fields = fc.uniqueArray(
    fc.tuple(
      text(CHAR, 0).map((k) => `k${k}`),
      VALUE,
    ),
    {
      maxLength: 4,
      selector: ([key]) => key,
    },
  );
  const big = withBig
    ? fc.option(
        fc.oneof(
          fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 63n - 1n }),
          fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }),
        ),
        { nil: undefined },
      )
    : fc.constant(undefined);
  return fc
    .tuple(text(CHAR, 1), text(TEXT_CHAR, 0), fields, big, fc.nat())
    .map(([name, uid, generated, bigValue, n]): Array<[string, unknown]> => [
      ['event', name],
      ['uid', uid],
      ['event_id', `${idPrefix}-${n}`],
      ...generated,
      ...(bigValue === undefined ? [] : [['big', bigValue] as [string, unknown]]),
    ]);
}

/**
 * What must hold of the answer to `event`: stored (2xx) and read back from InfluxDB and from
 * the service exactly as sent, or refused with a 400 that names one of its keys and stored
 * nothing. Resolves to whether it was stored.
 */
async function storedAsSentOrRefused(
  svc: RunningService,
  event: ReadonlyArray<readonly [string, unknown]>,
  answer: Answer,
): Promise<boolean> {
  const id = event[2]![1] as string;
  if (answer.status === 400) {
    const keys = event.map(([key]) => key);
    expect(keys).toContain((answer.body as { key: string }).key);
    await expect(read(svc, id)).resolves.toMatchObject({ status: 404 });
    return false;
  }
  expect(answer).toEqual({ status: expect.any(Number) as unknown, body: id });
  const sent = Object.fromEntries(event);
  const want = { time: expect.any(String) as unknown, ...sent };
  await expect(read(svc, id)).resolves.toEqual({
    status: 200,
    body: { status: 'stored', ...want },
  });
  // InfluxDB writes a float field's value shortest (2^62 as 4611686018427388000): the same
  // double, which is what the field holds.
  const row = await storedRow(svc, id);
  expect(asDoubles(row, sent)).toEqual(asDoubles(want, sent));
  return true;
}

/** `row` with the values of float fields sent as bigints compared as the doubles they are. */
function asDoubles(row: Record<string, unknown>, sent: Record<string, unknown>) {
  const compared: Record<string, unknown> = { ...row };
  for (const [key, value] of Object.entries(sent)) {
    if (typeof value === 'bigint' && key !== 'big') compared[key] = Number(row[key]);
  }
  return compared;
}

describe('generated keys and values, against the real InfluxDB', () => {
  const the = upAndDown();

  // Bounded: about 150 events each way run in well under a minute on two shared cores.
  const RUNS = 150;

  it('stores every event as sent, or refuses it naming a key: written at once', async () => {
    // `big` is an integer field already, as data another writer made.
    await writeLines(influxUrl(), the.up.database, 'analytics,event=seed big=1i 1000000000');
    let stored = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(events('direct', true), async (event) => {
        // Ids stay unique across shrinking too.
        event[2] = ['event_id', `direct-${n++}`];
        const answer = await send(the.up, eventText(event));
        if (answer.status !== 400) expect(answer.status).toBe(200);
        if (await storedAsSentOrRefused(the.up, event, answer)) stored++;
      }),
      { numRuns: RUNS },
    );
    // The property says nothing if everything was refused.
    expect(stored).toBeGreaterThan(RUNS / 3);
  });

  it('stores every event as sent, or refuses it naming a key: spooled, then replayed', async () => {
    // The service has never reached InfluxDB: every type is decided without it.
    const generated = fc.sample(events('spooled', false), { numRuns: RUNS });
    const answers: Answer[] = [];
    for (const [i, event] of generated.entries()) {
      event[2] = ['event_id', `spooled-${i}`];
      const answer = await send(the.down, eventText(event));
      if (answer.status !== 400) expect(answer.status).toBe(202);
      answers.push(answer);
    }
    const ids = generated
      .filter((_e, i) => answers[i]!.status === 202)
      .map((e) => e[2]![1] as string);
    expect(ids.length).toBeGreaterThan(RUNS / 3);

    await the.gate.set('open');
    await waitForStored(influxUrl(), the.down.database, ids);
    await eventually('the spool drained', async () => {
      const ready = await httpRequest('GET', `${the.down.url}/ready`);
      const spool = (JSON.parse(ready.body) as { details: { spool: { records: number } } }).details
        .spool;
      return spool.records === 0 ? true : undefined;
    });
    for (const [i, event] of generated.entries()) {
      await storedAsSentOrRefused(the.down, event, answers[i]!);
    }
  });
});
