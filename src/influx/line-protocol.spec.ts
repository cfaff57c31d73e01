import { escape } from '@influxdata/influxdb-client';
import { escapeMeasurement, escapeTag, quoted, toLine, type LineField } from './line-protocol';

/** A point and its typed fields, as the store hands them to toLine. */
interface TypedPoint {
  measurement: string;
  tags: Array<[string, string]>;
  fields: LineField[];
  time: bigint;
}

function lineOf(point: TypedPoint): string {
  return toLine(point, point.fields);
}

// Every expected line below is written by hand from the InfluxDB line protocol reference:
//   measurement: escape comma and space
//   tag keys, tag values: escape comma, equals sign and space
//   field keys: escape comma, equals sign, space and double quote
//   string field values: double-quoted, escape double quote and backslash
//   integers end in `i`, floats are bare numbers, booleans are true/false
//   the timestamp is an integer count of nanoseconds

const TIME = 1_700_000_000_123_456_789n;

function point(overrides: Partial<TypedPoint>): TypedPoint {
  return {
    measurement: 'analytics',
    tags: [],
    fields: [{ key: 'value', type: 'float', value: 1.5 }],
    time: TIME,
    ...overrides,
  };
}

function field(type: LineField['type'], value: LineField['value'], key = 'f'): LineField {
  return { key, type, value };
}

describe(toLine.name, () => {
  it('writes measurement, tags, fields and the nanosecond timestamp', () => {
    expect(
      lineOf({
        measurement: 'analytics',
        tags: [['event', 'click']],
        fields: [
          { key: 'uid', type: 'string', value: 'u-1' },
          { key: 'event_id', type: 'string', value: 'entry_0a' },
          { key: 'count', type: 'float', value: 3 },
        ],
        time: TIME,
      }),
    ).toBe('analytics,event=click uid="u-1",event_id="entry_0a",count=3 1700000000123456789');
  });

  it('writes a point without tags', () => {
    expect(lineOf(point({}))).toBe('analytics value=1.5 1700000000123456789');
  });

  it('keeps timestamps beyond 2^53 exact', () => {
    expect(lineOf(point({ time: 9_007_199_254_740_993_001n }))).toBe(
      'analytics value=1.5 9007199254740993001',
    );
  });

  describe('measurement', () => {
    it.each([
      ['my table', 'my\\ table'],
      ['a,b', 'a\\,b'],
      ['a=b', 'a=b'],
      ['a"b', 'a"b'],
      ['app.events-v2_1', 'app.events-v2_1'],
    ])('writes %j as %j', (measurement, expected) => {
      expect(lineOf(point({ measurement }))).toBe(`${expected} value=1.5 1700000000123456789`);
    });
  });

  describe('tags', () => {
    it('sorts tags by key, byte order (upper case before lower case)', () => {
      expect(
        lineOf(
          point({
            tags: [
              ['region', 'eu'],
              ['event', 'click'],
              ['Host', 'h1'],
              ['app', 'web'],
            ],
          }),
        ),
      ).toBe('analytics,Host=h1,app=web,event=click,region=eu value=1.5 1700000000123456789');
    });

    it('does not reorder the caller’s array', () => {
      const tags: Array<[string, string]> = [
        ['b', '2'],
        ['a', '1'],
      ];
      lineOf(point({ tags }));
      expect(tags).toEqual([
        ['b', '2'],
        ['a', '1'],
      ]);
    });

    it.each([
      ['a b', 'x', 'a\\ b=x'],
      ['a,b', 'x', 'a\\,b=x'],
      ['a=b', 'x', 'a\\=b=x'],
      ['k', 'x y', 'k=x\\ y'],
      ['k', 'x,y', 'k=x\\,y'],
      ['k', 'x=y', 'k=x\\=y'],
      ['k', 'say "hi"', 'k=say\\ "hi"'],
      ['k', 'C:\\dir\\file', 'k=C:\\dir\\file'],
      ['k', 'True', 'k=True'],
    ])('writes the tag %j=%j as %j', (key, value, expected) => {
      expect(lineOf(point({ tags: [[key, value]] }))).toBe(
        `analytics,${expected} value=1.5 1700000000123456789`,
      );
    });
  });

  describe('field keys', () => {
    it.each([
      ['my field', 'my\\ field'],
      ['a,b', 'a\\,b'],
      ['a=b', 'a\\=b'],
      // InfluxDB drops a backslash before a quote in a field key: `a\"b` must be written `a\\"b`.
      ['a"b', 'a\\"b'],
      ['a\\"b', 'a\\\\"b'],
    ])('writes %j as %j', (key, expected) => {
      expect(lineOf(point({ fields: [field('boolean', true, key)] }))).toBe(
        `analytics ${expected}=true 1700000000123456789`,
      );
    });
  });

  describe('field values', () => {
    it.each<[string, LineField, string]>([
      ['a plain string', field('string', 'hello'), 'f="hello"'],
      ['an empty string', field('string', ''), 'f=""'],
      ['a string with double quotes', field('string', 'say "hi"'), 'f="say \\"hi\\""'],
      ['a string with a backslash', field('string', 'C:\\dir\\'), 'f="C:\\\\dir\\\\"'],
      ['a string with comma, space and equals', field('string', 'a, b=c'), 'f="a, b=c"'],
      ['a string that looks like a number', field('string', '42'), 'f="42"'],
      ['a string that looks like a boolean', field('string', 'true'), 'f="true"'],
      ['an integer', field('integer', 42), 'f=42i'],
      ['a negative integer', field('integer', -7), 'f=-7i'],
      ['integer zero', field('integer', 0), 'f=0i'],
      ['the int64 minimum', field('integer', -(2 ** 63)), 'f=-9223372036854775808i'],
      ['the largest double below 2^63', field('integer', 2 ** 63 - 1024), 'f=9223372036854774784i'],
      ['a large integer', field('integer', 9_007_199_254_740_992), 'f=9007199254740992i'],
      ['a whole float', field('float', 3), 'f=3'],
      ['a fractional float', field('float', 0.25), 'f=0.25'],
      ['a negative float', field('float', -2.5), 'f=-2.5'],
      ['a tiny float', field('float', 1.5e-7), 'f=1.5e-7'],
      ['a huge float', field('float', 1e21), 'f=1e+21'],
      ['true', field('boolean', true), 'f=true'],
      ['false', field('boolean', false), 'f=false'],
    ])('writes %s', (_case, value, expected) => {
      expect(lineOf(point({ fields: [value] }))).toBe(`analytics ${expected} 1700000000123456789`);
    });

    it('keeps the fields in the order given, separated by commas', () => {
      expect(
        lineOf(
          point({
            fields: [
              field('string', 'x', 'z'),
              field('integer', 1, 'a'),
              field('boolean', false, 'm'),
            ],
          }),
        ),
      ).toBe('analytics z="x",a=1i,m=false 1700000000123456789');
    });
  });
});

describe('escapes', () => {
  const TEXTS = [
    '',
    'plain',
    'a b',
    'a,b',
    'a=b',
    'a"b',
    'a\\b',
    'trailing\\',
    ' ,=" \\ , = ',
    'é ünïcode, 漢字=',
    'x'.repeat(300) + ',',
  ];

  it.each(TEXTS)('escape %j as the client library does', (text) => {
    expect([escapeMeasurement(text), escapeTag(text), quoted(text)]).toStrictEqual([
      escape.measurement(text),
      escape.tag(text),
      escape.quoted(text),
    ]);
  });

  it('writes control characters as they are: the library’s `\\n` is stored as two characters', () => {
    expect([escapeMeasurement('\n\r\t'), escapeTag('\n\r\t'), quoted('\n\r\t')]).toStrictEqual([
      '\n\r\t',
      '\n\r\t',
      '"\n\r\t"',
    ]);
  });
});
