import { eventJson } from './event-json';

describe(eventJson.name, () => {
  it('writes integers beyond ±2^53 as their digits, not as strings', () => {
    expect(eventJson({ a: 9007199254740993n, b: -9223372036854775808n })).toBe(
      '{"a":9007199254740993,"b":-9223372036854775808}',
    );
  });

  it('writes every other scalar as JSON.stringify does', () => {
    const event = { s: 'a"\\\u2028😀', n: 1.5, t: true, z: null, '': 0 };
    expect(eventJson(event)).toBe(JSON.stringify(event));
  });

  it('writes an empty object and a key named __proto__ as keys like any other', () => {
    const event = Object.create(null) as Record<string, unknown>;
    expect(eventJson(event)).toBe('{}');
    event.__proto__ = 'x';
    expect(eventJson(event)).toBe('{"__proto__":"x"}');
  });
});
