import { eventToPoint, oversizedTag, ParsedEvent, tagRule, tagText } from './event-point';
import { Refusal } from '../http/refusal';

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

describe(tagText.name, () => {
  it.each<[string | number | boolean, string]>([
    [true, 'True'],
    [false, 'False'],
    [1814, '1814'],
    [-3, '-3'],
    [1.5, '1.5'],
    ['web', 'web'],
    ['true', 'true'],
    ['', ''],
  ])('writes %j as %j, as Python’s str() did', (value, expected) => {
    expect(tagText(value)).toBe(expected);
  });
});

describe(tagRule.name, () => {
  it.each(['web', 'a b,c=d', 'C:\\dir\\file', 'ünïcode ✓', ''])('accepts %j', (value) => {
    expect(tagRule(value)).toBeUndefined();
  });

  it.each(['a\nb', 'a\rb', 'a\tb', '\u0000', 'x\u001f', 'x\u007f'])(
    'refuses the control character in %j',
    (value) => {
      expect(tagRule(value)).toBe('must not contain control characters');
    },
  );

  it.each(['a\\', '\\'])('refuses %j, which ends with a backslash', (value) => {
    expect(tagRule(value)).toBe('must not end with a backslash');
  });
});

describe(eventToPoint.name, () => {
  const parsed = (values: ParsedEvent['values']): ParsedEvent => ({
    eventId: 'id-1',
    event: 'click',
    values: [['event', 'click'], ['uid', 'u-1'], ...values, ['event_id', 'id-1']],
  });

  it('tags the event name only, and makes everything else a field', () => {
    expect(
      eventToPoint(
        parsed([
          ['page', '/home'],
          ['count', 2],
          ['ok', true],
        ]),
        'analytics',
        new Set(),
        TIME,
      ),
    ).toEqual({
      measurement: 'analytics',
      time: TIME,
      eventId: 'id-1',
      tags: [['event', 'click']],
      fields: [
        ['uid', 'u-1'],
        ['page', '/home'],
        ['count', 2],
        ['ok', true],
        ['event_id', 'id-1'],
      ],
    });
  });

  it('makes the EVENT_TAGS keys tags, stringified the way the original did', () => {
    expect(
      eventToPoint(
        parsed([
          ['host', 'web-1'],
          ['build', 1814],
          ['beta', true],
          ['page', '/home'],
        ]),
        'events',
        new Set(['host', 'build', 'beta', 'absent']),
        TIME,
      ),
    ).toEqual({
      measurement: 'events',
      time: TIME,
      eventId: 'id-1',
      tags: [
        ['event', 'click'],
        ['host', 'web-1'],
        ['build', '1814'],
        ['beta', 'True'],
      ],
      fields: [
        ['uid', 'u-1'],
        ['page', '/home'],
        ['event_id', 'id-1'],
      ],
    });
  });

  it('leaves out a tag whose value is empty, which InfluxDB cannot store', () => {
    expect(eventToPoint(parsed([['host', '']]), 'analytics', new Set(['host']), TIME)).toEqual({
      measurement: 'analytics',
      time: TIME,
      eventId: 'id-1',
      tags: [['event', 'click']],
      fields: [
        ['uid', 'u-1'],
        ['event_id', 'id-1'],
      ],
    });
  });

  it.each([
    ['a\nb', 'must not contain control characters'],
    ['a\\', 'must not end with a backslash'],
  ])('refuses the tag value %j, pointing at EVENT_TAGS', (value, rule) => {
    const refusal = refusalOf(() =>
      eventToPoint(parsed([['host', value]]), 'analytics', new Set(['host']), TIME),
    );
    expect(refusal.getStatus()).toBe(400);
    expect(refusal.getResponse()).toStrictEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `host: ${rule} (a tag, see EVENT_TAGS)`,
      key: 'host',
      rule: `${rule} (a tag, see EVENT_TAGS)`,
    });
  });

  it('refuses a field key line protocol cannot carry exactly, naming it', () => {
    const refusal = refusalOf(() =>
      eventToPoint(parsed([['o\\,b', 1]]), 'analytics', new Set(), TIME),
    );
    expect(refusal.getResponse()).toMatchObject({
      key: 'o\\,b',
      rule: 'a backslash before a comma, equals sign or space cannot be stored by InfluxDB (two backslashes can) in a field key',
    });
  });

  it('refuses an EVENT_TAGS value with a backslash before a space, naming the key as a tag', () => {
    const refusal = refusalOf(() =>
      eventToPoint(parsed([['host', 'a\\ b']]), 'analytics', new Set(['host']), TIME),
    );
    expect(refusal.getResponse()).toMatchObject({
      key: 'host',
      rule: 'a backslash before a space cannot be stored by InfluxDB (two backslashes can) in a name or tag value (a tag, see EVENT_TAGS)',
    });
  });

  it('accepts the same value when the key is a field', () => {
    expect(
      eventToPoint(parsed([['host', 'a\\']]), 'analytics', new Set(), TIME).fields,
    ).toContainEqual(['host', 'a\\']);
  });
});

describe(oversizedTag.name, () => {
  it('accepts a series key of exactly 65535 bytes and blames the longest tag past it', () => {
    // "m" + ",event=" + value: 1 + 1 + 5 + 1 + value bytes
    const fits = 'a'.repeat(65_535 - 8);
    expect(oversizedTag('m', [['event', fits]])).toBeUndefined();
    expect(oversizedTag('m', [['event', `${fits}a`]])).toBe('event');
    expect(
      oversizedTag('m', [
        ['a', 'x'],
        ['event', `${fits}a`],
      ]),
    ).toBe('event');
  });

  it('counts characters line protocol escapes twice', () => {
    const value = ' '.repeat(32_764); // written as 65528 bytes: "m,event=" makes 65536
    expect(oversizedTag('m', [['event', value]])).toBe('event');
    expect(oversizedTag('m', [['event', value.slice(1)]])).toBeUndefined();
  });
});
