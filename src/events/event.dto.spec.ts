import { validateSync } from 'class-validator';
import { EventDto, eventShapeRefusal, parseEvent } from './event.dto';
import { EVENT_ID, eventToPoint, newEventId } from './event-point';
import type { Limits } from './events.config';
import { Refusal } from '../http/refusal';

const LIMITS: Limits = {
  maxKeys: 256,
  maxKeyLength: 128,
  maxStringBytes: 65_536,
  maxBatchEvents: 1000,
};
const SERVER_ID = /^entry_[0-9a-f]{32}$/;

function refusalOf(run: () => unknown): Refusal {
  try {
    run();
  } catch (error) {
    if (error instanceof Refusal) return error;
    throw error;
  }
  throw new Error('expected a Refusal');
}

/** Asserts that parsing `body` is refused with a 400 naming `key` and `rule`. */
function expectRefused(body: Record<string, unknown>, key: string, rule: string, limits = LIMITS) {
  const refusal = refusalOf(() => parseEvent(body, limits));
  expect(refusal.getStatus()).toBe(400);
  expect(refusal.getResponse()).toStrictEqual({
    statusCode: 400,
    error: 'Bad Request',
    message: key === '' ? rule : `${key}: ${rule}`,
    key,
    rule,
  });
  return refusal;
}

/** The event as a client's JSON body arrives: through JSON.parse. */
function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

describe(newEventId.name, () => {
  const TIME = 1_795_824_438_293_000_123n;

  it('makes entry_ and 32 lowercase hex digits, different every time', () => {
    const ids = Array.from({ length: 1000 }, () => newEventId(TIME));
    for (const id of ids) expect(id).toMatch(SERVER_ID);
    expect(new Set(ids).size).toBe(1000);
  });

  it('starts with the nanosecond stamp as 16 big-endian hex digits', () => {
    expect(newEventId(0x0123456789abcdefn).slice(6, 22)).toBe('0123456789abcdef');
    expect(newEventId(255n).slice(6, 22)).toBe('00000000000000ff');
  });

  it('makes ids that EVENT_ID accepts', () => {
    expect(EVENT_ID.test(newEventId(TIME))).toBe(true);
  });
});

describe(eventShapeRefusal.name, () => {
  /** What class-validator says of the body through EventDto's decorators: key and message. */
  function byDecorators(body: Record<string, unknown>): [string, string] | undefined {
    const dto = Object.assign(new EventDto(), { event: body.event, uid: body.uid });
    const [error] = validateSync(dto, { stopAtFirstError: true });
    return error && [error.property, Object.values(error.constraints ?? {})[0] ?? ''];
  }

  it.each([
    {},
    { uid: 'u' },
    { event: '', uid: 'u' },
    { event: 1, uid: 'u' },
    { event: null, uid: 'u' },
    { event: ['a'], uid: 'u' },
    { event: { a: 1 }, uid: 'u' },
    { event: true },
    { event: 'e' },
    { event: 'e', uid: null },
    { event: 'e', uid: '' },
    { event: 'e', uid: 42 },
    { event: 'e', uid: -1.5 },
    { event: 'e', uid: Infinity },
    { event: 'e', uid: NaN },
    { event: 'e', uid: true },
    { event: 'e', uid: {} },
    { event: 'e', uid: [] },
    { event: 'e', uid: 'u', other: 1 },
  ])('says of %j what the class decorators say', (body) => {
    const refusal = eventShapeRefusal(body);
    const said = refusal && (refusal.getResponse() as { key: string; rule: string });
    expect(said && [said.key, said.rule]).toStrictEqual(byDecorators(body));
  });
});

describe('EVENT_ID', () => {
  it.each(['a', 'entry_0123', 'A-b.c:d_e', 'x'.repeat(128)])('accepts %j', (id) => {
    expect(EVENT_ID.test(id)).toBe(true);
  });

  it.each(['', 'x'.repeat(129), 'a b', 'a/b', "a'b", 'a"b', 'a\\b', 'é', 'a\n'])(
    'refuses %j',
    (id) => {
      expect(EVENT_ID.test(id)).toBe(false);
    },
  );
});

describe(parseEvent.name, () => {
  it('accepts the minimal event, leaving the id to the point', () => {
    expect(parseEvent({ event: 'click', uid: 'u-1' }, LIMITS)).toEqual({
      event: 'click',
      values: [
        ['event', 'click'],
        ['uid', 'u-1'],
      ],
    });
  });

  it('accepts an empty uid', () => {
    expect(parseEvent({ event: 'boot', uid: '' }, LIMITS).values).toContainEqual(['uid', '']);
  });

  it('keeps strings, numbers and booleans as given', () => {
    const parsed = parseEvent(
      json('{"event":"e","uid":"u","s":"text","i":7,"f":-1.25,"t":true,"n":false,"z":0}'),
      LIMITS,
    );
    expect(parsed.values).toEqual([
      ['event', 'e'],
      ['uid', 'u'],
      ['s', 'text'],
      ['i', 7],
      ['f', -1.25],
      ['t', true],
      ['n', false],
      ['z', 0],
    ]);
  });

  describe('event and uid', () => {
    it.each<[string, Record<string, unknown>]>([
      ['a missing event', { uid: 'u' }],
      ['a null event', { event: null, uid: 'u' }],
      ['an empty event', { event: '', uid: 'u' }],
      ['a numeric event', { event: 5, uid: 'u' }],
      ['an object event', { event: { name: 'x' }, uid: 'u' }],
      ['neither key', {}],
    ])('refuses %s', (_case, body) => {
      expectRefused(body, 'event', 'must be a non-empty string');
    });

    it('takes a null uid and drops it like any null, as the original stored such events', () => {
      const parsed = parseEvent({ event: 'e', uid: null }, LIMITS);
      // The server's event_id is added when the point is made (eventToPoint).
      expect(parsed.values.map(([key]) => key)).toEqual(['event']);
    });

    it.each<[string, Record<string, unknown>]>([
      ['a missing uid', { event: 'e' }],
      ['an undefined uid', { event: 'e', uid: undefined }],
    ])('refuses %s as required', (_case, body) => {
      expectRefused(body, 'uid', 'is required (a string, may be empty, or a number)');
    });

    it.each<[string, unknown]>([
      ['a boolean', false],
      ['an object', { id: 1 }],
      ['an array', [1]],
    ])('refuses a uid that is %s', (_case, uid) => {
      expectRefused(
        { event: 'e', uid },
        'uid',
        'must be a string (may be empty) or a finite number',
      );
    });

    it('keeps a numeric uid a number (its storage type is decided with the stored types)', () => {
      const parsed = parseEvent({ event: 'e', uid: 42 }, LIMITS);
      expect(parsed.values).toContainEqual(['uid', 42]);
    });

    it.each([
      ['a\nb', 'must not contain control characters'],
      ['tab\there', 'must not contain control characters'],
      ['ends\\', 'must not end with a backslash'],
    ])('refuses the event name %j, which cannot be a tag', (event, rule) => {
      expectRefused({ event, uid: 'u' }, 'event', rule);
    });
  });

  describe('keys', () => {
    it.each(['tags_app-name', 'a b', 'a.b', 'a,b=c', 'ключ', 'x\\y', '"q"'])(
      'keeps the key %j as given',
      (key) => {
        const parsed = parseEvent({ event: 'e', uid: 'u', [key]: 1 }, LIMITS);
        expect(parsed.values).toContainEqual([key, 1]);
      },
    );

    it.each([
      ['', 'keys must not be empty'],
      ['a\nb', 'must not contain control characters'],
      ['ends\\', 'must not end with a backslash'],
    ])('refuses the key %j', (key, rule) => {
      expectRefused({ event: 'e', uid: 'u', [key]: 1 }, key, rule);
    });

    it('names the flattened path of a bad nested key', () => {
      expectRefused(
        { event: 'e', uid: 'u', meta: { 'x\ty': 1 } },
        'meta_x\ty',
        'must not contain control characters',
      );
    });

    it('takes a nested name ending in a backslash, which is not the end of the stored key', () => {
      const parsed = parseEvent({ event: 'e', uid: 'u', 'a\\': { b: 1 } }, LIMITS);
      expect(parsed.values).toContainEqual(['a\\_b', 1]);
    });

    it('flattens nested objects with _', () => {
      const parsed = parseEvent(
        json('{"event":"e","uid":"u","a":{"b":1,"c":{"d":"x","e":true}},"f":2}'),
        LIMITS,
      );
      expect(parsed.values).toEqual([
        ['event', 'e'],
        ['uid', 'u'],
        ['a_b', 1],
        ['a_c_d', 'x'],
        ['a_c_e', true],
        ['f', 2],
      ]);
    });

    it('stores nothing for an empty nested object', () => {
      const parsed = parseEvent({ event: 'e', uid: 'u', meta: {} }, LIMITS);
      expect(parsed.values.map(([key]) => key)).toEqual(['event', 'uid']);
    });

    it.each([
      ['flat key first', '{"event":"e","uid":"u","a_b":1,"a":{"b":2}}'],
      ['nested key first', '{"event":"e","uid":"u","a":{"b":2},"a_b":1}'],
    ])('refuses a collision after flattening (%s)', (_case, body) => {
      expectRefused(json(body), 'a_b', 'appears twice once nested objects are flattened');
    });

    it.each([
      ['a number of milliseconds', 1_700_000_000_000, 1_700_000_000_000_000_000n],
      ['an RFC 3339 string', '2016-01-01T00:00:00.000000001Z', 1_451_606_400_000_000_001n],
    ])('reads time as %s apart from the stored keys, in nanoseconds', (_case, time, ns) => {
      const parsed = parseEvent({ event: 'e', uid: 'u', time }, LIMITS);
      expect(parsed.time).toBe(ns);
      expect(parsed.values.map(([key]) => key)).toEqual(['event', 'uid']);
    });

    it('drops a null time like any null: the server stamps the event', () => {
      const parsed = parseEvent({ event: 'e', uid: 'u', time: null }, LIMITS);
      expect(parsed.time).toBeUndefined();
      expect(parsed.values.map(([key]) => key)).toEqual(['event', 'uid']);
    });

    it('refuses a time without a zone, naming time and the formats', () => {
      expectRefused(
        { event: 'e', uid: 'u', time: '2016-01-01T00:00:00' },
        'time',
        'must be an RFC 3339 date-time with a zone (e.g. 2026-12-03T07:25:00.123Z, at most 9 fraction digits) or a whole number of milliseconds since 1970-01-01T00:00:00Z',
      );
    });

    it('accepts a nested time, which flattens to another key', () => {
      expect(
        parseEvent({ event: 'e', uid: 'u', client: { time: 5 } }, LIMITS).values,
      ).toContainEqual(['client_time', 5]);
    });
  });

  describe('event_id', () => {
    it.each(['my-id', 'A.b:c_d-1', 'entry_ABCDEF', 'x'.repeat(128)])(
      'keeps the client id %j',
      (id) => {
        const parsed = parseEvent({ event: 'e', uid: 'u', event_id: id }, LIMITS);
        expect(parsed.eventId).toBe(id);
        expect(parsed.values).toEqual([
          ['event', 'e'],
          ['uid', 'u'],
          ['event_id', id],
        ]);
      },
    );

    it.each<[string, unknown]>([
      ['too long', 'x'.repeat(129)],
      ['empty', ''],
      ['with a space', 'my id'],
      ['with a quote', "it's"],
      ['with a slash', 'a/b'],
      ['a number', 12345],
      ['a boolean', true],
      ['null', null],
    ])('replaces a client id that is %s with a server id', (_case, id) => {
      const parsed = parseEvent({ event: 'e', uid: 'u', event_id: id, after: 1 }, LIMITS);
      expect(parsed.eventId).toBeUndefined();
      const point = eventToPoint(parsed, 'analytics', new Set(), 5n);
      expect(point.eventId).toMatch(SERVER_ID);
      // the server id takes the place of the client's (at the end when null dropped it)
      expect(point.fields).toEqual(
        id === null
          ? [
              ['uid', 'u'],
              ['after', 1],
              ['event_id', point.eventId],
            ]
          : [
              ['uid', 'u'],
              ['event_id', point.eventId],
              ['after', 1],
            ],
      );
    });
  });

  it('drops nulls, nested ones included', () => {
    const parsed = parseEvent(
      json('{"event":"e","uid":"u","a":null,"b":{"c":null,"d":1},"e":{"f":null}}'),
      LIMITS,
    );
    expect(parsed.values).toEqual([
      ['event', 'e'],
      ['uid', 'u'],
      ['b_d', 1],
    ]);
  });

  it.each([
    ['1e400', 'big'],
    ['-1e400', 'big'],
  ])('refuses %s, which JSON.parse turns into an infinity', (number, key) => {
    expectRefused(
      json(`{"event":"e","uid":"u","${key}":${number}}`),
      key,
      'must be a finite number',
    );
  });

  it('refuses an infinity inside a nested object', () => {
    expectRefused(
      json('{"event":"e","uid":"u","a":{"b":1e400}}'),
      'a_b',
      'must be a finite number',
    );
  });

  describe('limits', () => {
    it('counts the keys the client sent, not the event_id the server adds', () => {
      const limits = { ...LIMITS, maxKeys: 5 };
      // five client keys (the server's event_id comes with the point): within the limit
      expect(parseEvent({ event: 'e', uid: 'u', a: 1, b: 2, c: 3 }, limits).values).toHaveLength(5);
      expect(parseEvent({ event: 'e', uid: 'u' }, { ...LIMITS, maxKeys: 2 }).values).toHaveLength(
        2,
      );
      expectRefused(
        { event: 'e', uid: 'u', a: 1, b: 2, c: 3, d: 4 },
        '',
        'an event may have at most 5 keys (MAX_EVENT_KEYS)',
        limits,
      );
      expectRefused(
        { event: 'e', uid: 'u', a: 1, b: 2, c: 3, event_id: 'mine' },
        '',
        'an event may have at most 5 keys (MAX_EVENT_KEYS)',
        limits,
      );
    });

    it('counts flattened keys against MAX_EVENT_KEYS', () => {
      expectRefused(
        { event: 'e', uid: 'u', a: { b: 1, c: 2, d: 3, e: 4 } },
        '',
        'an event may have at most 5 keys (MAX_EVENT_KEYS)',
        { ...LIMITS, maxKeys: 5 },
      );
    });

    it('refuses an oversized nested object before reading the keys after it', () => {
      const nested = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
      expectRefused(
        { event: 'e', uid: 'u', a: nested, after: 'x'.repeat(100) },
        '',
        'an event may have at most 5 keys (MAX_EVENT_KEYS)',
        { ...LIMITS, maxKeys: 5, maxStringBytes: 16 },
      );
    });

    it('refuses a key longer than MAX_KEY_LENGTH, the flattened path counting', () => {
      const limits = { ...LIMITS, maxKeyLength: 8 };
      expect(parseEvent({ event: 'e', uid: 'u', abcdefgh: 1 }, limits).values).toContainEqual([
        'abcdefgh',
        1,
      ]);
      expectRefused(
        { event: 'e', uid: 'u', abcdefghi: 1 },
        'abcdefghi',
        'keys may be at most 8 characters (MAX_KEY_LENGTH)',
        limits,
      );
      expectRefused(
        { event: 'e', uid: 'u', abcd: { efgh: 1 } },
        'abcd_efgh',
        'keys may be at most 8 characters (MAX_KEY_LENGTH)',
        limits,
      );
    });

    it('refuses a string longer than MAX_STRING_BYTES, counted in UTF-8 bytes', () => {
      const limits = { ...LIMITS, maxStringBytes: 16 };
      expect(parseEvent({ event: 'e', uid: 'u', s: 'x'.repeat(16) }, limits).values).toContainEqual(
        ['s', 'x'.repeat(16)],
      );
      const rule = 'strings may be at most 16 bytes (MAX_STRING_BYTES)';
      expectRefused({ event: 'e', uid: 'u', s: 'x'.repeat(17) }, 's', rule, limits);
      // Nine characters, eighteen bytes.
      expectRefused({ event: 'e', uid: 'u', s: 'é'.repeat(9) }, 's', rule, limits);
      expectRefused({ event: 'e', uid: 'u', a: { s: 'x'.repeat(17) } }, 'a_s', rule, limits);
    });

    it('applies MAX_STRING_BYTES to the event name too', () => {
      expectRefused(
        { event: 'x'.repeat(17), uid: 'u' },
        'event',
        'strings may be at most 16 bytes (MAX_STRING_BYTES)',
        { ...LIMITS, maxStringBytes: 16 },
      );
    });
  });

  it('never echoes the refused value', () => {
    const secret = 'sk_live_do-not-echo';
    const refusal = expectRefused(
      { event: 'e', uid: 'u', password: [secret] },
      'password',
      'arrays are not stored; send a string or flat keys',
    );
    expect(JSON.stringify(refusal.getResponse())).not.toContain(secret);
  });
});
