import { parseQueryAnswer } from './query-results';

function parsed(text: string): unknown {
  return parseQueryAnswer(Buffer.from(text));
}

describe(parseQueryAnswer.name, () => {
  it('reads an answer without long integers as JSON.parse does', () => {
    const text = '{"results":[{"series":[{"columns":["time","n"],"values":[["t",1.5]]}]}]}';
    expect(parsed(text)).toEqual(JSON.parse(text));
  });

  it('is undefined for an empty answer', () => {
    expect(parseQueryAnswer(Buffer.alloc(0))).toBeUndefined();
  });

  it.each([
    ['9007199254740993', 9007199254740993n],
    ['-9007199254740993', -9007199254740993n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
  ])('keeps the integer %s exactly, as a bigint', (digits, value) => {
    expect(parsed(`{"values":[["t",${digits},1]]}`)).toEqual({ values: [['t', value, 1]] });
  });

  it('keeps integers within ±2^53 numbers, 2^53 included', () => {
    expect(parsed('[9007199254740992,-9007199254740992,1234567890123456]')).toEqual([
      2 ** 53,
      -(2 ** 53),
      1234567890123456,
    ]);
  });

  it('leaves numbers beyond int64 (floats InfluxDB wrote without an exponent) as numbers', () => {
    expect(parsed('[100000000000000000000,9223372036854775808]')).toEqual([1e20, 2 ** 63]);
  });

  it('leaves digits inside strings alone, escaped quotes and backslashes included', () => {
    const text = String.raw`["9007199254740993","a\"9007199254740993","\\",9007199254740993]`;
    expect(parsed(text)).toEqual([
      '9007199254740993',
      'a"9007199254740993',
      '\\',
      9007199254740993n,
    ]);
  });

  it('leaves numbers with a fraction or an exponent to JSON.parse', () => {
    const text = '[9007199254740993.5,9007199254740993e0]';
    const [fraction, exponent] = parsed(text) as unknown[];
    expect([typeof fraction, typeof exponent]).toEqual(['number', 'number']);
    expect([fraction, exponent]).toEqual(JSON.parse(text));
  });

  it.each(['\u{10FC00}', '\u{10FFFF}x', '\u{10FC00}1234567890123456'])(
    'keeps stored text that begins with U+DBFF (here %j) as text, beside a long integer',
    (text) => {
      const answer = JSON.stringify({ values: [[text, 1]] }).replace('1]]', '9007199254740993]]');
      expect(parsed(answer)).toEqual({ values: [[text, 9007199254740993n]] });
    },
  );
});
