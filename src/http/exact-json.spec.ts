import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { JsonRefusal, parseExactJson, type JsonValue } from './exact-json';

const parse = (text: string | Buffer) =>
  parseExactJson(typeof text === 'string' ? Buffer.from(text) : text);

/** The bytes of `parts`: strings as UTF-8, numbers as raw bytes. */
function bytes(...parts: Array<string | number[]>): Buffer {
  return Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))),
  );
}

function refusal(path: Array<string | number>, rule: string): JsonRefusal {
  return new JsonRefusal(path, rule);
}

/**
 * `[text, 1e-999]`: the exponent sends any body down the careful path (JSON.parse reads it as
 * 0), so both paths meet the same texts in the properties below.
 */
const careful = (text: string) => `[${text},1e-999]`;

describe(parseExactJson.name, () => {
  describe('integers', () => {
    it.each<[string, JsonValue]>([
      ['9007199254740993', 9007199254740993n],
      ['-9007199254740993', -9007199254740993n],
      ['9223372036854775807', 9223372036854775807n],
      ['-9223372036854775808', -9223372036854775808n],
      ['12345678901234567', 12345678901234567n],
    ])('keeps %s exactly, as a bigint', (text, expected) => {
      expect(parse(text)).toBe(expected);
    });

    it.each<[string, number]>([
      ['9007199254740992', 2 ** 53],
      ['-9007199254740992', -(2 ** 53)],
      ['123456789012345', 123456789012345],
      ['-0', -0],
    ])('keeps %s a number (within ±2^53)', (text, expected) => {
      expect(Object.is(parse(text), expected)).toBe(true);
    });

    it.each<[string, JsonValue]>([
      ['  12345678901234567', 12345678901234567n],
      ['[ \n12345678901234567 ]', [12345678901234567n]],
      ['{"a" :\t-12345678901234567}', { a: -12345678901234567n }],
      [
        '{"9d4e-100000000000":"0190f3a2-7c41-7b2e-9d4e-100000000000"}',
        { '9d4e-100000000000': '0190f3a2-7c41-7b2e-9d4e-100000000000' },
      ],
      ['{"s":"12345678901234567","t":"1e400"}', { s: '12345678901234567', t: '1e400' }],
    ])('finds numbers wherever JSON puts them, and leaves strings alone: %s', (text, expected) => {
      expect(parse(text)).toEqual(expected);
    });

    it('keeps non-integer literals numbers, however many digits', () => {
      expect(parse('[1.0, 1e2, 12345678901234567.5, 9007199254740993e0, 1e-400]')).toEqual([
        1, 100, 12345678901234568, 9007199254740992, 0,
      ]);
    });

    it.each(['9223372036854775808', '-9223372036854775809', '1' + '0'.repeat(30)])(
      'refuses %s, outside int64, naming the key',
      (text) => {
        expect(parse(`{"a":{"big":${text}}}`)).toEqual(
          refusal(
            ['a', 'big'],
            'integers must be from -9223372036854775808 to 9223372036854775807 (int64)',
          ),
        );
      },
    );

    it.each(['1e400', '-1e400', '1' + '0'.repeat(400) + '.5'])(
      'refuses %s, beyond a double',
      (text) => {
        expect(parse(`[0, ${text}]`)).toEqual(
          refusal([1], 'must be a finite number (it is beyond the range of a double)'),
        );
      },
    );
  });

  describe('surrogates', () => {
    const VALUE =
      'the value holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form';
    const KEY = 'the key holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form';

    it.each([
      ['{"a":"\\ud801"}', ['a']],
      ['{"a":"x\\udc01y"}', ['a']],
      ['{"a":"\\ud801\\ud801\\udc01"}', ['a']],
      ['{"a":"\\udc01\\ud801"}', ['a']],
      ['{"a":"\\ud83d"}', ['a']],
      ['{"a":[{"b":"\\ud801"}]}', ['a', 0, 'b']],
      ['["ok", "\\uDBFF"]', [1]],
    ])('refuses the value in %s, naming %j', (text, path) => {
      expect(parse(text)).toEqual(refusal(path, VALUE));
    });

    it('refuses a lone surrogate in a key, naming it (U+FFFD in its place)', () => {
      expect(parse('{"ok":1,"a\\ud801":2}')).toEqual(refusal(['a\uFFFD'], KEY));
      expect(parse('{"n":{"\\udc01":true}}')).toEqual(refusal(['n', '\uFFFD'], KEY));
    });

    it('tells two keys apart that U+FFFD would have made one', () => {
      expect(parse('{"\\ud801":1}')).toBeInstanceOf(JsonRefusal);
      expect(parse('{"\\udc01":2}')).toBeInstanceOf(JsonRefusal);
    });

    it('reads an escaped pair as its character (as Python’s json.dumps writes 😀)', () => {
      expect(parse('{"e":"\\ud83d\\ude00 \\uD83D\\uDE00","\\ud83d\\ude00":1}')).toEqual({
        e: '😀 😀',
        '😀': 1,
      });
    });
  });

  describe('UTF-8', () => {
    const VALUE = 'the value is not valid UTF-8';
    const KEY = 'the key is not valid UTF-8';

    it.each<[string, number[]]>([
      ['an overlong slash', [0xc0, 0xaf]],
      ['a cut sequence', [0xe6, 0xbc]],
      ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x81]],
      ['a byte that is never UTF-8', [0xff]],
      ['a continuation byte alone', [0x80]],
      ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ])('refuses %s in a value, naming the key', (_case, bad) => {
      expect(parse(bytes('{"ok":"é","a":{"b":"x', bad, 'y"}}'))).toEqual(
        refusal(['a', 'b'], VALUE),
      );
    });

    it('refuses invalid UTF-8 in a key, naming the key as far as it reads', () => {
      expect(parse(bytes('{"ok":1,"k', [0xff], '":1}'))).toEqual(refusal(['k\uFFFD'], KEY));
    });

    it('refuses a sequence cut by an escape', () => {
      expect(parse(bytes('["', [0xe6], '\\n"]'))).toEqual(refusal([0], VALUE));
    });

    it('refuses invalid bytes outside strings as not JSON', () => {
      expect(parse(bytes('[1,', [0xff], ']'))).toEqual(refusal([], 'the body is not valid JSON'));
    });

    it('reads multi-byte characters, escaped or not', () => {
      expect(parse('{"é":"漢字 😀 \\u00e9 \\u2028"}')).toEqual({ é: '漢字 😀 é \u2028' });
    });

    it('skips a byte order mark, as the body reader’s decoder did', () => {
      expect(parse(bytes([0xef, 0xbb, 0xbf], '{"a":1}'))).toEqual({ a: 1 });
      expect(parse(bytes([0xef, 0xbb, 0xbf], '{"a":12345678901234567}'))).toEqual({
        a: 12345678901234567n,
      });
    });
  });

  describe('keys as JSON.parse sets them, on both paths', () => {
    it.each([
      '{"a":1,"b":2,"a":3}',
      '{"__proto__":{"polluted":true},"x":1}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"__proto__":1,"__proto__":2}',
      '{"2":"b","1":"a","x":"c"}',
    ])('%s', (text) => {
      const expected = JSON.parse(text) as object;
      const fast = parse(text);
      const slow = (parse(careful(text)) as JsonValue[])[0];
      for (const value of [fast, slow]) {
        // toEqual, not toStrictEqual: an own `constructor` key defeats Jest's type check.
        expect(value).toEqual(expected);
        expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
        expect(Object.getOwnPropertyNames(value)).toEqual(Object.getOwnPropertyNames(expected));
      }
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });
  });

  describe('not JSON', () => {
    it.each(['', '   \n\t ', '\r\n'])('refuses the empty body %j', (text) => {
      expect(parse(text)).toEqual(
        refusal([], 'the body must be a JSON object or array; it is empty'),
      );
    });

    it.each([
      '{',
      '{"a":1,}',
      '[1,]',
      '[01]',
      '[1.]',
      '[.5]',
      '[1e]',
      '[+1]',
      '["a\nb"]',
      '["\\x"]',
      '["\\u12"]',
      '{"a" 1}',
      '{a:1}',
      "['a']",
      '[1] [2]',
      'nul',
      'True',
      '[NaN]',
      '[Infinity]',
      '"abc',
      '{"a":12345678901234567,}',
      '\u00a0[]',
    ])('refuses %j', (text) => {
      expect(() => JSON.parse(text) as unknown).toThrow();
      expect(parse(text)).toEqual(refusal([], 'the body is not valid JSON'));
    });
  });

  it('parses deep nesting on the careful path without recursion', () => {
    const depth = 200_000;
    const text = `${'['.repeat(depth)}12345678901234567${']'.repeat(depth)}`;
    let value = parse(text);
    for (let i = 0; i < depth; i++) {
      expect(Array.isArray(value)).toBe(true);
      value = (value as JsonValue[])[0]!;
    }
    expect(value).toBe(12345678901234567n);
  });

  describe('properties', () => {
    /** Any UTF-16 text, lone surrogates included. */
    const units = fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
    });
    const wellFormed = fc.string({ unit: 'binary' });
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

    it('answers what JSON.parse answers for JSON without big integers or lone surrogates, on both paths', () => {
      fc.assert(
        fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
          const text = JSON.stringify(value);
          // A double of 16 or more digits (1e16 is written 10000000000000000) is a big integer here.
          fc.pre(!/(?:^|[:,[])-?[0-9]{16}/.test(text));
          expect(parse(text)).toStrictEqual(JSON.parse(text));
          expect(parse(careful(text))).toStrictEqual(JSON.parse(careful(text)));
        }),
        { numRuns: 500 },
      );
    });

    it('answers what JSON.parse answers when only strings look like numbers or escapes', () => {
      const tricky = fc.string({
        unit: fc.constantFrom(
          '1',
          '9',
          'e',
          'E',
          '-',
          '+',
          '.',
          ':',
          ',',
          '[',
          '\\',
          'u',
          'd',
          '8',
          ' ',
        ),
        maxLength: 30,
      });
      fc.assert(
        fc.property(fc.dictionary(tricky, fc.oneof(tricky, fc.array(tricky))), (value) => {
          const text = JSON.stringify(value);
          expect(parse(text)).toStrictEqual(JSON.parse(text));
        }),
        { numRuns: 500 },
      );
    });

    it('refuses exactly the bodies whose keys or strings hold a lone surrogate', () => {
      const body = fc.dictionary(units, fc.oneof(units, fc.array(units, { maxLength: 3 })), {
        maxKeys: 4,
      });
      fc.assert(
        fc.property(body, (value) => {
          const text = JSON.stringify(value);
          const strings = [...Object.keys(value), ...Object.values(value).flat()];
          const result = parse(text);
          if (strings.some((s) => lone.test(s))) expect(result).toBeInstanceOf(JsonRefusal);
          else expect(result).toStrictEqual(JSON.parse(text));
        }),
        { numRuns: 500 },
      );
    });

    it('keeps every int64 exactly, numbers within ±2^53 and bigints beyond', () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          wellFormed,
          (int, key) => {
            const result = parse(`{${JSON.stringify(key)}:[${int}]}`) as Record<
              string,
              JsonValue[]
            >;
            const [value] = result[key]!;
            const small = int >= -(2n ** 53n) && int <= 2n ** 53n;
            expect(typeof value).toBe(small ? 'number' : 'bigint');
            expect(BigInt(value as number | bigint)).toBe(int);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('refuses every integer outside int64, naming its place', () => {
      const outside = fc.oneof(
        fc.bigInt({ min: 2n ** 63n, max: 2n ** 200n }),
        fc.bigInt({ min: -(2n ** 200n), max: -(2n ** 63n) - 1n }),
      );
      fc.assert(
        fc.property(outside, fc.nat({ max: 3 }), (int, index) => {
          const items = ['0', '0', '0', '0'];
          items[index] = String(int);
          expect(parse(`{"k":[${items.join(',')}]}`)).toEqual(
            refusal(
              ['k', index],
              'integers must be from -9223372036854775808 to 9223372036854775807 (int64)',
            ),
          );
        }),
        { numRuns: 200 },
      );
    });

    it('agrees with JSON.parse on what is JSON at all, for texts made of JSON’s pieces', () => {
      const piece = fc.constantFrom(
        '{',
        '}',
        '[',
        ']',
        ',',
        ':',
        ' ',
        '\n',
        '"a"',
        '"\\n"',
        '"\\u0041"',
        '"',
        '\\',
        '1',
        '0',
        '-',
        '.',
        'e',
        'E',
        '+',
        'true',
        'false',
        'null',
        'nul',
        'x',
        '\t',
      );
      fc.assert(
        fc.property(
          fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
          (text) => {
            const wrapped = careful(text);
            fc.pre(!/[0-9]{16}/.test(wrapped));
            let expected: unknown;
            try {
              expected = JSON.parse(wrapped);
            } catch {
              expect(parse(wrapped)).toBeInstanceOf(JsonRefusal);
              expect(parse(text)).toBeInstanceOf(JsonRefusal);
              return;
            }
            expect(parse(wrapped)).toStrictEqual(expected);
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('refuses a string of any bytes exactly when they are not UTF-8, naming its key', () => {
      // Bytes that cannot end or escape a JSON string: no quote, backslash or control character.
      const inString = fc.integer({ min: 0x20, max: 0xff }).filter((b) => b !== 0x22 && b !== 0x5c);
      fc.assert(
        fc.property(fc.array(inString, { maxLength: 12 }), fc.boolean(), (raw, asKey) => {
          const inner = Buffer.from(raw);
          const body = asKey
            ? bytes('{"a":1,"', [...inner], '":2}')
            : bytes('{"a":[1,{"k":"', [...inner], '"}]}');
          const decoded = inner.toString('utf8');
          if (isUtf8(inner)) {
            expect(parse(body)).toEqual(
              asKey ? { a: 1, [decoded]: 2 } : { a: [1, { k: decoded }] },
            );
          } else if (asKey) {
            expect(parse(body)).toEqual(refusal([decoded], 'the key is not valid UTF-8'));
          } else {
            expect(parse(body)).toEqual(refusal(['a', 1, 'k'], 'the value is not valid UTF-8'));
          }
        }),
        { numRuns: 2000 },
      );
    });

    it('never throws, and accepts only UTF-8 that JSON.parse reads, whatever the bytes', () => {
      const byte = fc.oneof(
        fc.constantFrom(...Buffer.from('{}[]",:0123456789-.eE \\u"tfn')),
        fc.integer({ min: 0, max: 255 }),
      );
      fc.assert(
        fc.property(fc.array(byte, { maxLength: 40 }), (raw) => {
          const body = Buffer.from(raw);
          const result = parse(body);
          if (result instanceof JsonRefusal) return;
          expect(isUtf8(body)).toBe(true);
          expect(() => JSON.parse(body.toString('utf8')) as unknown).not.toThrow();
        }),
        { numRuns: 3000 },
      );
    });
  });
});
