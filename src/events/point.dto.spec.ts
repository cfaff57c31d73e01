import type { Limits } from './events.config';
import { MEASUREMENT } from './event-point';
import { parsePoint } from './point.dto';
import { Refusal } from '../http/refusal';

const LIMITS: Limits = {
  maxKeys: 256,
  maxKeyLength: 128,
  maxStringBytes: 65_536,
  maxBatchEvents: 1000,
};
const MEASUREMENT_RULE = 'must match ^[A-Za-z0-9_.-]{1,128}$';
const SCALAR_RULE = 'must be a string, a finite number, a boolean or null';
/** Every refusal below is for the element at this index, so that the index is checked too. */
const INDEX = 4;
const TIME = 1_700_000_000_000_000_123n;

function refusalOf(run: () => unknown): Refusal {
  try {
    run();
  } catch (error) {
    if (error instanceof Refusal) return error;
    throw error;
  }
  throw new Error('expected a Refusal');
}

/** Asserts that the element is refused with a 400 naming its index, `key` and `rule`. */
function expectRefused(element: unknown, key: string, rule: string, limits = LIMITS): void {
  const refusal = refusalOf(() => parsePoint(element, INDEX, limits, TIME));
  expect(refusal.getStatus()).toBe(400);
  expect(refusal.getResponse()).toStrictEqual({
    statusCode: 400,
    error: 'Bad Request',
    message: key === '' ? `[${INDEX}]: ${rule}` : `[${INDEX}].${key}: ${rule}`,
    index: INDEX,
    key,
    rule,
  });
}

function json(text: string): unknown {
  return JSON.parse(text) as unknown;
}

describe(parsePoint.name, () => {
  it('turns tags into strings the way the original did and keeps field types', () => {
    expect(
      parsePoint(
        json(
          '{"measurement":"cpu.load-1_x","tags":{"host":"a","build":1814,"beta":true,"off":false,"ratio":0.5},' +
            '"fields":{"v":1.5,"n":3,"s":"x","b":false}}',
        ),
        0,
        LIMITS,
        TIME,
      ),
    ).toEqual({
      measurement: 'cpu.load-1_x',
      time: TIME,
      tags: [
        ['host', 'a'],
        ['build', '1814'],
        ['beta', 'True'],
        ['off', 'False'],
        ['ratio', '0.5'],
      ],
      fields: [
        ['v', 1.5],
        ['n', 3],
        ['s', 'x'],
        ['b', false],
      ],
    });
  });

  it.each<[string, unknown]>([
    ['absent', undefined],
    ['null', null],
    ['empty', {}],
  ])('accepts tags that are %s', (_case, tags) => {
    const element =
      tags === undefined
        ? { measurement: 'm', fields: { v: 1 } }
        : { measurement: 'm', tags, fields: { v: 1 } };
    expect(parsePoint(element, 0, LIMITS, TIME)).toEqual({
      measurement: 'm',
      time: TIME,
      tags: [],
      fields: [['v', 1]],
    });
  });

  it('drops null tags, empty tag values and null fields', () => {
    expect(
      parsePoint(
        { measurement: 'm', tags: { gone: null, empty: '', host: 'h' }, fields: { z: null, v: 0 } },
        0,
        LIMITS,
        TIME,
      ),
    ).toEqual({ measurement: 'm', tags: [['host', 'h']], fields: [['v', 0]], time: TIME });
  });

  it('accepts keys with spaces, commas and equals signs, which line protocol escapes', () => {
    expect(
      parsePoint(
        { measurement: 'm', tags: { 'a b': 'x,y' }, fields: { 'c=d': 'e f' } },
        0,
        LIMITS,
        TIME,
      ),
    ).toEqual({ measurement: 'm', tags: [['a b', 'x,y']], fields: [['c=d', 'e f']], time: TIME });
  });

  describe('the element', () => {
    it.each<[string, unknown]>([
      ['null', null],
      ['a number', 5],
      ['a string', 'cpu value=1'],
      ['an array', [{ measurement: 'm', fields: { v: 1 } }]],
    ])('refuses %s', (_case, element) => {
      expectRefused(element, '', 'must be an object {measurement, tags, fields}');
    });

    it.each(['time', 'timestamp', 'field', '__proto__'])(
      'ignores the other key %j, as the original did',
      (key) => {
        const element = json(`{"measurement":"m","tags":{"h":"a"},"fields":{"v":1},"${key}":9}`);
        expect(parsePoint(element, 0, LIMITS, TIME)).toEqual({
          measurement: 'm',
          time: TIME,
          tags: [['h', 'a']],
          fields: [['v', 1]],
        });
      },
    );
  });

  describe('measurement', () => {
    it.each(['a', 'cpu', 'A.b-c_d.9', 'x'.repeat(128)])('accepts %j', (measurement) => {
      expect(MEASUREMENT.test(measurement)).toBe(true);
      expect(parsePoint({ measurement, fields: { v: 1 } }, 0, LIMITS, TIME).measurement).toBe(
        measurement,
      );
    });

    it.each<[string, unknown]>([
      ['missing', undefined],
      ['null', null],
      ['a number', 5],
      ['empty', ''],
      ['too long', 'x'.repeat(129)],
      ['with a space', 'cpu load'],
      ['with a comma', 'cpu,host=a'],
      ['with a slash', 'a/b'],
      ['with a quote', 'a"b'],
      ['non-ASCII', 'température'],
    ])('refuses a measurement that is %s', (_case, measurement) => {
      const element =
        measurement === undefined ? { fields: { v: 1 } } : { measurement, fields: { v: 1 } };
      expectRefused(element, 'measurement', MEASUREMENT_RULE);
    });
  });

  describe('tags', () => {
    it.each<[string, unknown]>([
      ['an array', ['a']],
      ['a string', 'host=a'],
      ['a number', 1],
      ['true', true],
    ])('refuses tags that are %s', (_case, tags) => {
      expectRefused(
        { measurement: 'm', tags, fields: { v: 1 } },
        'tags',
        'must be an object or null',
      );
    });

    it.each<[string, string]>([
      ['an object value', '{"a":{"b":1}}'],
      ['an array value', '{"a":[1]}'],
      ['an infinite value', '{"a":1e400}'],
    ])('refuses tags with %s', (_case, tags) => {
      expectRefused(
        json(`{"measurement":"m","tags":${tags},"fields":{"v":1}}`),
        'tags.a',
        SCALAR_RULE,
      );
    });

    it.each([
      ['a\nb', 'must not contain control characters'],
      ['\u0000', 'must not contain control characters'],
      ['a\\', 'must not end with a backslash'],
    ])('refuses the tag value %j', (value, rule) => {
      expectRefused(
        { measurement: 'm', tags: { host: value }, fields: { v: 1 } },
        'tags.host',
        rule,
      );
    });
  });

  describe('fields', () => {
    it.each<[string, unknown]>([
      ['missing', undefined],
      ['null', null],
      ['an array', [1]],
      ['a number', 1],
      ['a string', 'v=1'],
    ])('refuses fields that are %s', (_case, fields) => {
      const element = fields === undefined ? { measurement: 'm' } : { measurement: 'm', fields };
      expectRefused(element, 'fields', 'must be an object with at least one non-null value');
    });

    it.each<[string, unknown]>([
      ['empty', {}],
      ['all null', { a: null, b: null }],
    ])('refuses fields that are %s', (_case, fields) => {
      expectRefused(
        { measurement: 'm', fields },
        'fields',
        'must have at least one non-null value',
      );
    });

    it.each<[string, string]>([
      ['an object value', '{"a":{"b":1}}'],
      ['an array value', '{"a":[1]}'],
      ['an infinite value', '{"a":1e400}'],
      ['a negative infinite value', '{"a":-1e400}'],
    ])('refuses fields with %s', (_case, fields) => {
      expectRefused(json(`{"measurement":"m","fields":${fields}}`), 'fields.a', SCALAR_RULE);
    });

    it('names the offending field among good ones', () => {
      expectRefused(
        json('{"measurement":"m","fields":{"ok":1,"s":"x","bad":{"b":1}}}'),
        'fields.bad',
        SCALAR_RULE,
      );
    });

    it('keeps a key that is both a tag and a field, as the original wrote them', () => {
      const element = { measurement: 'm', tags: { host: 'a' }, fields: { v: 1, host: 'b' } };
      expect(parsePoint(element, 0, LIMITS, TIME)).toEqual({
        measurement: 'm',
        time: TIME,
        tags: [['host', 'a']],
        fields: [
          ['v', 1],
          ['host', 'b'],
        ],
      });
    });
  });

  describe('keys', () => {
    it.each([
      ['tags', 'tags.'],
      ['fields', 'fields.'],
    ])('refuses an empty key in %s', (where, key) => {
      const element =
        where === 'tags'
          ? { measurement: 'm', tags: { '': 'x' }, fields: { v: 1 } }
          : { measurement: 'm', fields: { '': 1 } };
      expectRefused(element, key, 'keys must not be empty');
    });

    it.each([
      ['tags', { measurement: 'm', tags: { time: 'x' }, fields: { v: 1 } }, 'tags.time'],
      ['fields', { measurement: 'm', fields: { time: 1 } }, 'fields.time'],
    ])('refuses time in %s', (_where, element, key) => {
      expectRefused(element, key, 'is reserved: InfluxDB refuses a key named time');
    });

    it.each([
      ['a\nb', 'must not contain control characters'],
      ['a\u007f', 'must not contain control characters'],
      ['a\\', 'must not end with a backslash'],
    ])('refuses the tag key and the field key %j', (key, rule) => {
      expectRefused(
        { measurement: 'm', tags: { [key]: 'x' }, fields: { v: 1 } },
        `tags.${key}`,
        rule,
      );
      expectRefused({ measurement: 'm', fields: { [key]: 1 } }, `fields.${key}`, rule);
    });
  });

  describe('what line protocol cannot carry exactly (issue 19)', () => {
    const FIELD_BACKSLASH =
      'a backslash before a comma, equals sign or space cannot be stored by InfluxDB (two backslashes can) in a field key';
    const BACKSLASH_SPACE =
      'a backslash before a space cannot be stored by InfluxDB (two backslashes can) in a name or tag value';

    it.each(['o\\,b', 'o\\=b', 'o\\ b'])('refuses the field key %s, naming it', (key) => {
      expectRefused(
        { measurement: 'm', fields: { v: 1, [key]: 1 } },
        `fields.${key}`,
        FIELD_BACKSLASH,
      );
    });

    it('refuses a tag key or a tag value with a backslash before a space, naming the tag', () => {
      expectRefused(
        { measurement: 'm', tags: { 'o\\ b': 'v' }, fields: { v: 1 } },
        'tags.o\\ b',
        BACKSLASH_SPACE,
      );
      expectRefused(
        { measurement: 'm', tags: { t: 'o\\ b' }, fields: { v: 1 } },
        'tags.t',
        BACKSLASH_SPACE,
      );
    });

    it('keeps a backslash before a quote in a field key, and integers beyond ±2^53 exactly', () => {
      const point = parsePoint(
        { measurement: 'm', tags: { 'o\\,b': 'v' }, fields: { 'a\\"b': 9007199254740993n } },
        0,
        LIMITS,
        TIME,
      );
      expect(point).toEqual({
        measurement: 'm',
        tags: [['o\\,b', 'v']],
        fields: [['a\\"b', 9007199254740993n]],
        time: TIME,
      });
    });
  });

  describe('limits', () => {
    it('refuses a key longer than MAX_KEY_LENGTH', () => {
      const limits = { ...LIMITS, maxKeyLength: 8 };
      const rule = 'keys may be at most 8 characters (MAX_KEY_LENGTH)';
      expect(
        parsePoint({ measurement: 'm', fields: { abcdefgh: 1 } }, 0, limits, TIME).fields,
      ).toEqual([['abcdefgh', 1]]);
      expectRefused(
        { measurement: 'm', fields: { abcdefghi: 1 } },
        'fields.abcdefghi',
        rule,
        limits,
      );
      expectRefused(
        { measurement: 'm', tags: { abcdefghi: 'x' }, fields: { v: 1 } },
        'tags.abcdefghi',
        rule,
        limits,
      );
    });

    it('refuses a string field longer than MAX_STRING_BYTES, counted in UTF-8 bytes', () => {
      const limits = { ...LIMITS, maxStringBytes: 16 };
      const rule = 'strings may be at most 16 bytes (MAX_STRING_BYTES)';
      expect(
        parsePoint({ measurement: 'm', fields: { s: 'x'.repeat(16) } }, 0, limits, TIME).fields,
      ).toEqual([['s', 'x'.repeat(16)]]);
      expectRefused({ measurement: 'm', fields: { s: 'x'.repeat(17) } }, 'fields.s', rule, limits);
      expectRefused({ measurement: 'm', fields: { s: '€'.repeat(6) } }, 'fields.s', rule, limits);
    });

    it('counts tags and fields together against MAX_EVENT_KEYS', () => {
      const limits = { ...LIMITS, maxKeys: 3 };
      expect(
        parsePoint({ measurement: 'm', tags: { a: 'x' }, fields: { b: 1, c: 2 } }, 0, limits, TIME),
      ).toEqual({
        measurement: 'm',
        time: TIME,
        tags: [['a', 'x']],
        fields: [
          ['b', 1],
          ['c', 2],
        ],
      });
      expectRefused(
        { measurement: 'm', tags: { a: 'x', d: 'y' }, fields: { b: 1, c: 2 } },
        '',
        'a point may have at most 3 keys (MAX_EVENT_KEYS)',
        limits,
      );
    });
  });

  describe('found in review', () => {
    it('accepts fields named like Object.prototype members when tags exist', () => {
      const point = parsePoint(
        { measurement: 'm', tags: { host: 'a' }, fields: { constructor: 1, toString: 'x' } },
        0,
        LIMITS,
        TIME,
      );
      expect(point.fields).toStrictEqual([
        ['constructor', 1],
        ['toString', 'x'],
      ]);
    });

    it('accepts a field whose same-named tag is null (the null tag is dropped)', () => {
      const point = parsePoint(
        { measurement: 'm', tags: { host: null }, fields: { host: 1 } },
        0,
        LIMITS,
        TIME,
      );
      expect(point.tags).toStrictEqual([]);
      expect(point.fields).toStrictEqual([['host', 1]]);
    });

    it('applies MAX_STRING_BYTES to tag values too', () => {
      expectRefused(
        { measurement: 'm', tags: { t: 'x'.repeat(17) }, fields: { v: 1 } },
        'tags.t',
        'strings may be at most 16 bytes (MAX_STRING_BYTES)',
        { ...LIMITS, maxStringBytes: 16 },
      );
    });
  });
});
