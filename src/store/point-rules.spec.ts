import type { FieldValue, Point } from './point';
import { pointFault } from './point-rules';

const FIELD_BACKSLASH =
  'a backslash before a comma, equals sign or space cannot be stored by InfluxDB (two backslashes can) in a field key';
const NAME_BACKSLASH_SPACE =
  'a backslash before a space cannot be stored by InfluxDB (two backslashes can) in a name or tag value';
const TRAILING = 'must not end with a backslash: InfluxDB cannot store one there';
const LINE_BREAK = 'a line break cannot be stored by InfluxDB in a name or tag value';
const NUL = 'a NUL character cannot be read back from InfluxDB in a name or tag value';
const SURROGATE =
  'holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form: InfluxDB cannot store it';

function point(
  fields: Array<[string, FieldValue]>,
  tags: Array<[string, string]> = [['event', 'e']],
  measurement = 'analytics',
): Point {
  return { measurement, tags, fields, time: 1n };
}

describe(pointFault.name, () => {
  it('passes a point of ordinary keys and values', () => {
    expect(
      pointFault(
        point([
          ['uid', 'u'],
          ['n', 1],
          ['ok', true],
          ['big', 2n ** 60n],
        ]),
      ),
    ).toBe(undefined);
  });

  // The keys of issue 19: answered 202 while InfluxDB was down, then dead-lettered.
  it.each(['o\\,b', 'o\\=b', 'o\\ b', 'a\\\\\\,b'])(
    'refuses the field key %s: an odd run of backslashes before a separator',
    (key) => {
      expect(pointFault(point([[key, 1]]))).toEqual({
        part: 'field',
        key,
        rule: FIELD_BACKSLASH,
      });
    },
  );

  it.each(['a\\"b', 'o\\\\,b', 'o\\\\=b', 'o\\\\ b', 'a\\b', 'x=y', 'a b', 'a,b', 'ü 😀', '"'])(
    'passes the field key %s, which line protocol carries exactly',
    (key) => {
      expect(pointFault(point([[key, 1]]))).toBe(undefined);
    },
  );

  it.each([
    ['a trailing backslash', 'ab\\', TRAILING],
    ['a line break', 'a\nb', LINE_BREAK],
    ['a NUL', 'a\0b', NUL],
    ['a lone surrogate', 'a\ud801b', SURROGATE],
  ])('refuses a field key with %s', (_case, key, rule) => {
    expect(pointFault(point([[key, 1]]))).toEqual({ part: 'field', key, rule });
  });

  it.each([
    ['key', 'o\\ b', 'v'],
    ['value', 'k', 'o\\ b'],
    ['value', 'k', 'end\\'],
  ])('refuses a tag whose %s cannot be stored, naming the tag key', (_part, key, value) => {
    const fault = pointFault(point([['n', 1]], [[key, value]]));
    expect(fault).toEqual({
      part: 'tag',
      key,
      rule: value.endsWith('\\') ? TRAILING : NAME_BACKSLASH_SPACE,
    });
  });

  it('passes tag keys and values with a backslash before a comma or an equals sign', () => {
    expect(pointFault(point([['n', 1]], [['o\\,b', 'v\\=w']]))).toBe(undefined);
  });

  it('refuses a string value with a lone surrogate, naming its key, and passes any other text', () => {
    expect(pointFault(point([['s', 'x\udc01']]))).toEqual({
      part: 'field',
      key: 's',
      rule: SURROGATE,
    });
    expect(pointFault(point([['s', 'a\\"b\n\0\\']]))).toBe(undefined);
  });

  it('refuses a measurement InfluxDB would read as a comment', () => {
    expect(pointFault(point([['n', 1]], [], '#m'))).toEqual({
      part: 'measurement',
      key: '#m',
      rule: 'must not start with #: InfluxDB reads the line as a comment and drops it',
    });
  });

  it('refuses tags that alone make the indexed key longer than 65,535 bytes, naming the largest', () => {
    const tags: Array<[string, string]> = [
      ['event', 'e'],
      ['big', 'v'.repeat(40_000)],
      ['bigger', 'w'.repeat(30_000)],
    ];
    expect(pointFault(point([['n', 1]], tags))).toEqual({
      part: 'tag',
      key: 'big',
      rule: expect.stringContaining('its limit is 65535') as unknown,
    });
  });

  it('refuses a field key that makes the indexed key longer than 65,535 bytes, naming it', () => {
    const tags: Array<[string, string]> = [['t', 'v'.repeat(60_000)]];
    const key = 'k'.repeat(6_000);
    expect(
      pointFault(
        point(
          [
            ['short', 1],
            [key, 1],
          ],
          tags,
        ),
      ),
    ).toEqual({
      part: 'field',
      key,
      rule: expect.stringContaining('its limit is 65535') as unknown,
    });
    expect(pointFault(point([['short', 1]], tags))).toBe(undefined);
  });
});
