import type { FieldType, FieldValue, Point } from './point';
import { typeFields } from './field-typing';

function point(measurement: string, fields: Array<[string, FieldValue]>): Point {
  return { measurement, tags: [], fields, time: 1n };
}

/** typeFields' answer, told apart: `{fields}` for the typed fields, `{conflict}` for a conflict. */
function sorted(result: ReturnType<typeof typeFields>) {
  return Array.isArray(result) ? { fields: result } : { conflict: result };
}

function typed(
  fields: Array<[string, FieldValue]>,
  stored: Record<string, FieldType> = {},
  added: Map<string, FieldType> = new Map(),
) {
  return sorted(typeFields(point('analytics', fields), new Map(Object.entries(stored)), added));
}

describe(typeFields.name, () => {
  describe('fields InfluxDB does not hold yet', () => {
    it('types numbers as floats, integral or not', () => {
      expect(
        typed([
          ['count', 3],
          ['ratio', 0.5],
          ['negative', -12],
        ]),
      ).toEqual({
        fields: [
          { key: 'count', type: 'float', value: 3 },
          { key: 'ratio', type: 'float', value: 0.5 },
          { key: 'negative', type: 'float', value: -12 },
        ],
      });
    });

    it('keeps strings as strings and booleans as booleans', () => {
      expect(
        typed([
          ['name', 'x'],
          ['empty', ''],
          ['numeric_text', '42'],
          ['on', true],
          ['off', false],
        ]),
      ).toEqual({
        fields: [
          { key: 'name', type: 'string', value: 'x' },
          { key: 'empty', type: 'string', value: '' },
          { key: 'numeric_text', type: 'string', value: '42' },
          { key: 'on', type: 'boolean', value: true },
          { key: 'off', type: 'boolean', value: false },
        ],
      });
    });

    it('records each new field in `added`', () => {
      const added = new Map<string, FieldType>();
      typed(
        [
          ['n', 1],
          ['s', 'x'],
          ['b', true],
        ],
        {},
        added,
      );
      expect(added).toEqual(
        new Map<string, FieldType>([
          ['n', 'float'],
          ['s', 'string'],
          ['b', 'boolean'],
        ]),
      );
    });

    it('does not record fields InfluxDB already holds', () => {
      const added = new Map<string, FieldType>();
      typed([['n', 1]], { n: 'integer' }, added);
      expect(added.size).toBe(0);
    });
  });

  describe('fields stored as float', () => {
    it('writes integral and fractional numbers as floats', () => {
      expect(
        typed(
          [
            ['a', 7],
            ['b', 7.25],
          ],
          { a: 'float', b: 'float' },
        ),
      ).toEqual({
        fields: [
          { key: 'a', type: 'float', value: 7 },
          { key: 'b', type: 'float', value: 7.25 },
        ],
      });
    });

    it.each<[string, FieldValue, string]>([
      ['a string', 'seven', 'string'],
      ['a boolean', true, 'boolean'],
    ])('refuses %s, naming both types', (_case, value, incoming) => {
      expect(typed([['a', value]], { a: 'float' })).toEqual({
        conflict: {
          kind: 'type_conflict',
          measurement: 'analytics',
          field: 'a',
          incoming,
          stored: 'float',
        },
      });
    });
  });

  describe('fields stored as integer', () => {
    // 2^63 - 1024 is the largest double below 2^63, the int64 bound; -2^63 is int64's minimum.
    it.each([0, 7, -7, 2 ** 53, 2 ** 63 - 1024, -(2 ** 63 - 1024), -(2 ** 63)])(
      'writes the integral %d as an integer',
      (value) => {
        expect(typed([['n', value]], { n: 'integer' })).toEqual({
          fields: [{ key: 'n', type: 'integer', value }],
        });
      },
    );

    // 2^63 itself is integral but one past the int64 maximum: InfluxDB would refuse `9223372036854775808i`.
    it.each([7.5, -0.001, 2 ** 63, -(2 ** 63) - 2048, 1e19, -1e19])(
      'refuses %d as a float going into an integer field',
      (value) => {
        expect(typed([['n', value]], { n: 'integer' })).toEqual({
          conflict: {
            kind: 'type_conflict',
            measurement: 'analytics',
            field: 'n',
            incoming: 'float',
            stored: 'integer',
          },
        });
      },
    );

    it('refuses a string', () => {
      expect(typed([['n', '7']], { n: 'integer' })).toEqual({
        conflict: {
          kind: 'type_conflict',
          measurement: 'analytics',
          field: 'n',
          incoming: 'string',
          stored: 'integer',
        },
      });
    });
  });

  describe('integers beyond ±2^53 (bigints, as the body reader keeps them)', () => {
    const INEXACT = 'is an integer that a float field cannot hold exactly (beyond ±2^53)';

    it.each([2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 1n])(
      'writes %s into an integer field as exactly that integer',
      (value) => {
        expect(typed([['n', value]], { n: 'integer' })).toEqual({
          fields: [{ key: 'n', type: 'integer', value }],
        });
      },
    );

    it.each([
      ['a new field', {}],
      ['a float field', { n: 'float' as const }],
    ])('refuses 9007199254740993 into %s, which would round it, with the rule', (_case, stored) => {
      expect(typed([['n', 9007199254740993n]], stored)).toEqual({
        conflict: {
          kind: 'type_conflict',
          measurement: 'analytics',
          field: 'n',
          incoming: 'integer',
          stored: 'float',
          rule: INEXACT,
        },
      });
    });

    it('writes 9007199254740994 (2^53 + 2, a double) into a new field as a float', () => {
      expect(typed([['n', 9007199254740994n]])).toEqual({
        fields: [{ key: 'n', type: 'float', value: 9007199254740994n }],
      });
    });

    it('refuses an integer beyond int64 into an integer field as the type conflict it is', () => {
      expect(typed([['n', 2n ** 63n]], { n: 'integer' })).toEqual({
        conflict: {
          kind: 'type_conflict',
          measurement: 'analytics',
          field: 'n',
          incoming: 'float',
          stored: 'integer',
        },
      });
    });

    it('refuses one into a string field as a number, naming both types', () => {
      expect(typed([['n', 2n ** 60n]], { n: 'string' })).toEqual({
        conflict: {
          kind: 'type_conflict',
          measurement: 'analytics',
          field: 'n',
          incoming: 'float',
          stored: 'string',
        },
      });
    });
  });

  describe('fields stored as string or boolean', () => {
    it('accepts values of the stored type', () => {
      expect(
        typed(
          [
            ['s', 'x'],
            ['b', false],
          ],
          { s: 'string', b: 'boolean' },
        ),
      ).toEqual({
        fields: [
          { key: 's', type: 'string', value: 'x' },
          { key: 'b', type: 'boolean', value: false },
        ],
      });
    });

    it.each<[FieldType, FieldValue, string]>([
      ['string', 5, 'float'],
      ['string', true, 'boolean'],
      ['boolean', 'true', 'string'],
      ['boolean', 1, 'float'],
    ])('refuses into a %s field the value %j (incoming %s)', (stored, value, incoming) => {
      expect(typed([['f', value]], { f: stored })).toEqual({
        conflict: { kind: 'type_conflict', measurement: 'analytics', field: 'f', incoming, stored },
      });
    });
  });

  it('stops at the first conflicting field', () => {
    expect(
      typed(
        [
          ['ok', 1],
          ['bad', 'x'],
          ['worse', true],
        ],
        { bad: 'float', worse: 'string' },
      ),
    ).toEqual({
      conflict: {
        kind: 'type_conflict',
        measurement: 'analytics',
        field: 'bad',
        incoming: 'string',
        stored: 'float',
      },
    });
  });

  it('names the measurement it was given', () => {
    expect(
      sorted(typeFields(point('cpu', [['v', 'x']]), new Map([['v', 'float']]), new Map())),
    ).toEqual({
      conflict: {
        kind: 'type_conflict',
        measurement: 'cpu',
        field: 'v',
        incoming: 'string',
        stored: 'float',
      },
    });
  });

  describe('several points in one call, sharing `added`', () => {
    it('catches a conflict between two new points', () => {
      const added = new Map<string, FieldType>();
      expect(typed([['v', 1]], {}, added)).toEqual({
        fields: [{ key: 'v', type: 'float', value: 1 }],
      });
      expect(typed([['v', 'one']], {}, added)).toEqual({
        conflict: {
          kind: 'type_conflict',
          measurement: 'analytics',
          field: 'v',
          incoming: 'string',
          stored: 'float',
        },
      });
    });

    it('agrees with an earlier point of the same type', () => {
      const added = new Map<string, FieldType>();
      typed([['flag', true]], {}, added);
      expect(typed([['flag', false]], {}, added)).toEqual({
        fields: [{ key: 'flag', type: 'boolean', value: false }],
      });
    });

    it('prefers what InfluxDB holds over what an earlier point added', () => {
      const added = new Map<string, FieldType>([['n', 'float']]);
      expect(typed([['n', 4]], { n: 'integer' }, added)).toEqual({
        fields: [{ key: 'n', type: 'integer', value: 4 }],
      });
    });
  });
});

describe(`${typeFields.name} for an event beside the original's data`, () => {
  it('types the fields after the layout rules of data the original wrote', () => {
    const event = (fields: Array<[string, FieldValue]>): Point => ({
      measurement: 'analytics',
      tags: [['event', 'login']],
      fields,
      time: 1n,
      eventId: 'entry_1',
    });
    const stored = new Map<string, FieldType>([
      ['event', 'string'],
      ['uid', 'integer'],
    ]);
    expect(sorted(typeFields(event([['uid', 7]]), stored, new Map()))).toEqual({
      fields: [
        { key: 'uid', type: 'integer', value: 7 },
        { key: 'event', type: 'string', value: 'login' },
      ],
    });
    expect(sorted(typeFields(event([['uid', 7.5]]), stored, new Map()))).toEqual({
      conflict: {
        kind: 'type_conflict',
        measurement: 'analytics',
        field: 'uid',
        incoming: 'float',
        stored: 'integer',
      },
    });
  });
});
