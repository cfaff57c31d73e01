import {
  escapeFieldKey,
  escapeMeasurement,
  escapeTag,
  fieldKeyRule,
  floatRule,
  floatText,
  integerRule,
  integerText,
  keyLengthRule,
  measurementRule,
  quoteString,
  seriesKeyBytes,
  stringValueRule,
  tagKeyRule,
  tagValueRule,
} from './line-protocol-rules';

// Texts are written as JS literals: '\\' is ONE backslash. The expected sentences are written
// out by hand: they are what a 400 quotes.

const TRAILING = 'must not end with a backslash: InfluxDB cannot store one there';
const LONE =
  'holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form: InfluxDB cannot store it';
const LINE_BREAK = 'a line break cannot be stored by InfluxDB in a name or tag value';
const NUL = 'a NUL character cannot be read back from InfluxDB in a name or tag value';
const BACKSLASH_SPACE =
  'a backslash before a space cannot be stored by InfluxDB (two backslashes can) in a name or tag value';
const BACKSLASH_FIELD =
  'a backslash before a comma, equals sign or space cannot be stored by InfluxDB (two backslashes can) in a field key';
const TIME =
  'time cannot be a tag or field key: InfluxDB drops it (the point’s time is its own column)';

/** What every kind of name accepts. */
const STORABLE_NAMES = [
  'plain',
  'a b',
  'a,b',
  'a=b',
  'a"b',
  "a'b",
  ' leading space',
  'C:\\dir\\file',
  'a\\\\ b',
  'a\\\\\\\\ b',
  'tab\tinside',
  'cr\rinside',
  'del\u007f and \u0001',
  'é ünïcode 漢字',
  'astral 😀 pair',
  '\uFFFD replacement',
  '\u2028\u2029\uFEFF',
  'Time',
  'x'.repeat(10_000),
];

describe.each([
  ['measurementRule', measurementRule],
  ['tagKeyRule', tagKeyRule],
  ['tagValueRule', tagValueRule],
  ['fieldKeyRule', fieldKeyRule],
])('%s', (_name, rule) => {
  it.each(STORABLE_NAMES)('accepts %j', (text) => {
    expect(rule(text)).toBeUndefined();
  });

  it.each([
    ['a backslash at the end', 'abc\\', TRAILING],
    ['three backslashes at the end', 'abc\\\\\\', TRAILING],
    ['two backslashes at the end', 'abc\\\\', TRAILING],
    ['a lone high surrogate', 'a\uD801b', LONE],
    ['a lone low surrogate', '\uDC01', LONE],
    ['a low surrogate before a high one', '\uDC01\uD801', LONE],
    ['a line break', 'a\nb', LINE_BREAK],
    ['a NUL', 'a\u0000b', NUL],
  ])('refuses %s', (_case, text, expected) => {
    expect(rule(text)).toBe(expected);
  });
});

describe('a backslash before a space, comma or equals sign', () => {
  it.each([
    ['\\ ', 'o\\ b'],
    ['\\ after an even run', 'o\\\\\\ b'],
    ['\\ at the start', '\\ b'],
  ])('refuses %s in every name (%j)', (_case, text) => {
    expect([measurementRule(text), tagKeyRule(text), tagValueRule(text)]).toEqual([
      BACKSLASH_SPACE,
      BACKSLASH_SPACE,
      BACKSLASH_SPACE,
    ]);
    expect(fieldKeyRule(text)).toBe(BACKSLASH_FIELD);
  });

  it.each(['o\\,b', 'o\\=b', '\\,', 'a\\\\\\=b'])(
    'refuses %j in a field key only: measurements and tags keep it',
    (text) => {
      expect(fieldKeyRule(text)).toBe(BACKSLASH_FIELD);
      expect([measurementRule(text), tagKeyRule(text), tagValueRule(text)]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    },
  );

  it.each(['o\\\\,b', 'o\\\\=b', 'o\\\\ b', 'a\\"b', 'a\\\\"b', 'a\\b'])(
    'accepts %j everywhere (an even run, or no separator after it)',
    (text) => {
      expect([
        measurementRule(text),
        tagKeyRule(text),
        tagValueRule(text),
        fieldKeyRule(text),
      ]).toEqual([undefined, undefined, undefined, undefined]);
    },
  );
});

describe('rules of one kind', () => {
  it('refuses empty names, and says which empty thing a tag value is', () => {
    const empty = 'must not be empty: InfluxDB cannot store an empty name';
    expect([measurementRule(''), tagKeyRule(''), fieldKeyRule('')]).toEqual([empty, empty, empty]);
    expect(tagValueRule('')).toBe('must not be empty: InfluxDB cannot store an empty tag value');
  });

  it('refuses a measurement that starts with # (a comment line) or a tab (skipped)', () => {
    expect(measurementRule('#m')).toBe(
      'must not start with #: InfluxDB reads the line as a comment and drops it',
    );
    expect(measurementRule('\tm')).toBe('must not start with a tab: InfluxDB skips it');
    expect(measurementRule('m#')).toBeUndefined();
  });

  it('refuses a field key that starts with a tab; tags may', () => {
    expect(fieldKeyRule('\tk')).toBe('must not start with a tab: InfluxDB skips it');
    expect([tagKeyRule('\tk'), tagValueRule('\tk'), fieldKeyRule('#k')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('refuses the key time as a tag or field key, not as a value or measurement', () => {
    expect([tagKeyRule('time'), fieldKeyRule('time')]).toEqual([TIME, TIME]);
    expect([tagValueRule('time'), measurementRule('time'), fieldKeyRule('times')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe(stringValueRule.name, () => {
  it.each([
    '',
    'a\nb',
    '\u0000',
    '"\\',
    'trailing\\',
    'o\\,b',
    '😀',
    '\uFFFD',
    'x'.repeat(100_000),
  ])('accepts %j', (text) => {
    expect(stringValueRule(text)).toBeUndefined();
  });

  it.each(['\uD801', 'a\uDC01', '😀\uD83D'])('refuses %j', (text) => {
    expect(stringValueRule(text)).toBe(LONE);
  });
});

describe(integerRule.name, () => {
  const RULE =
    'integers must be from -9223372036854775808 to 9223372036854775807 (InfluxDB’s int64)';

  it.each<number | bigint>([
    0,
    -1,
    2 ** 53 + 2,
    -(2 ** 63),
    2 ** 63 - 1024,
    9223372036854775807n,
    -9223372036854775808n,
    9007199254740993n,
  ])('accepts %p', (value) => {
    expect(integerRule(value)).toBeUndefined();
  });

  it.each<number | bigint>([
    2 ** 63,
    -(2 ** 64),
    1.5,
    Number.NaN,
    Infinity,
    9223372036854775808n,
    -9223372036854775809n,
  ])('refuses %p', (value) => {
    expect(integerRule(value)).toBe(RULE);
  });
});

describe(floatRule.name, () => {
  it.each<number | bigint>([0, -0, 1.5, 5e-324, Number.MAX_VALUE, 2n ** 60n, -(2n ** 53n)])(
    'accepts %p',
    (value) => {
      expect(floatRule(value)).toBeUndefined();
    },
  );

  it('refuses NaN and infinities', () => {
    const rule = 'must be a finite number: InfluxDB cannot store NaN or Infinity';
    expect([floatRule(Number.NaN), floatRule(Infinity), floatRule(-Infinity)]).toEqual([
      rule,
      rule,
      rule,
    ]);
  });

  it('refuses a bigint a double cannot hold', () => {
    expect(floatRule(9007199254740993n)).toBe(
      'is an integer that a float field cannot hold exactly (beyond ±2^53)',
    );
  });
});

describe('number texts', () => {
  it.each<[number | bigint, string]>([
    [1.5, '1.5'],
    [-0, '-0'],
    [0, '0'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    // The shortest text that parses back to the same double.
    [2n ** 60n, '1152921504606847000'],
  ])('writes the float %p as %s', (value, text) => {
    expect(floatText(value)).toBe(text);
  });

  it.each<[number | bigint, string]>([
    [42, '42i'],
    [-(2 ** 63), '-9223372036854775808i'],
    [9007199254740993n, '9007199254740993i'],
  ])('writes the integer %p as %s', (value, text) => {
    expect(integerText(value)).toBe(text);
  });
});

describe('escapes', () => {
  it.each([
    ['a b,c=d"e\\f', 'a\\ b\\,c=d"e\\f'],
    ['o\\,b', 'o\\\\,b'],
  ])('measurement %j is written %j', (text, expected) => {
    expect(escapeMeasurement(text)).toBe(expected);
  });

  it.each([
    ['a b,c=d"e\\f', 'a\\ b\\,c\\=d"e\\f'],
    ['o\\,b', 'o\\\\,b'],
    ['tab\tcr\r', 'tab\tcr\r'],
  ])('tag %j is written %j', (text, expected) => {
    expect(escapeTag(text)).toBe(expected);
  });

  it.each([
    ['a b,c=d"e\\f', 'a\\ b\\,c\\=d\\"e\\f'],
    ['a\\"b', 'a\\\\"b'],
    ['o\\\\,b', 'o\\\\\\,b'],
  ])('field key %j is written %j', (text, expected) => {
    expect(escapeFieldKey(text)).toBe(expected);
  });

  it.each([
    ['', '""'],
    ['say "hi"', '"say \\"hi\\""'],
    ['C:\\dir\\', '"C:\\\\dir\\\\"'],
    ['line\nbreak, comma=equals', '"line\nbreak, comma=equals"'],
  ])('string value %j is written %j', (text, expected) => {
    expect(quoteString(text)).toBe(expected);
  });
});

describe('key length', () => {
  it('measures the series key escaped, in UTF-8 bytes', () => {
    // "m\ x" (4) + ",k\=1=é" (1 + 4 + 1 + 2) + ",t=v" (4)
    expect(
      seriesKeyBytes('m x', [
        ['k=1', 'é'],
        ['t', 'v'],
      ]),
    ).toBe(16);
  });

  it('allows 65,535 bytes of series key, 4 and the longest escaped field key', () => {
    // m,k=vvv…: 1 + 2 + 1 + 65,526 = 65,530 bytes
    const tags: Array<[string, string]> = [['k', 'v'.repeat(65_526)]];
    expect(seriesKeyBytes('m', tags)).toBe(65_530);
    expect(keyLengthRule('m', tags, ['f', 'g'])).toBeUndefined();
    expect(keyLengthRule('m', tags, ['f', 'gg'])).toBe(
      'makes the key InfluxDB indexes (measurement, tags and a field key) 65536 bytes long; its limit is 65535',
    );
    // An escaped space is two bytes of the field key.
    expect(keyLengthRule('m', tags, [' '])).toBe(
      'makes the key InfluxDB indexes (measurement, tags and a field key) 65536 bytes long; its limit is 65535',
    );
  });
});
