import type { FieldType, Point, TypedField } from './point';
import { WrittenTypes, type KeyType } from './written-types';

function point(measurement: string, time: bigint): Point {
  return { measurement, tags: [], fields: [], time };
}

function typed(...fields: Array<[string, FieldType]>): TypedField[] {
  return fields.map(([key, type]) => ({ key, type, value: type === 'string' ? 'x' : 1 }));
}

/** What `forEachStored` tells, in order: measurement and its keys with their types. */
function told(types: WrittenTypes, stored: (i: number) => boolean = () => true) {
  const calls: Array<[string, KeyType[]]> = [];
  types.forEachStored(stored, (measurement, fields) => calls.push([measurement, [...fields]]));
  return calls;
}

describe(WrittenTypes.name, () => {
  it('tells the types of points of one shape once, without their values', () => {
    const points = [point('m', 1n), point('m', 2n), point('m', 3n)];
    const fields = points.map(() => typed(['uid', 'string'], ['amount', 'float']));

    expect(told(new WrittenTypes(points, fields))).toEqual([
      [
        'm',
        [
          { key: 'uid', type: 'string' },
          { key: 'amount', type: 'float' },
        ],
      ],
    ]);
  });

  it('tells each shape once, in the order of its first point: measurement, keys and types', () => {
    const points = [point('m', 1n), point('n', 2n), point('m', 3n), point('m', 4n), point('m', 5n)];
    const fields = [
      typed(['v', 'float']),
      typed(['v', 'float']),
      typed(['v', 'integer']),
      typed(['v', 'float'], ['w', 'boolean']),
      typed(['v', 'float']),
    ];

    expect(told(new WrittenTypes(points, fields))).toEqual([
      ['m', [{ key: 'v', type: 'float' }]],
      ['n', [{ key: 'v', type: 'float' }]],
      ['m', [{ key: 'v', type: 'integer' }]],
      [
        'm',
        [
          { key: 'v', type: 'float' },
          { key: 'w', type: 'boolean' },
        ],
      ],
    ]);
  });

  it('tells only the shapes of points InfluxDB took', () => {
    const points = [point('m', 1n), point('m', 2n), point('m', 3n)];
    const fields = [typed(['v', 'float']), typed(['v', 'string']), typed(['v', 'float'])];
    const types = new WrittenTypes(points, fields);

    expect(told(types, (i) => i !== 1)).toEqual([['m', [{ key: 'v', type: 'float' }]]]);
    // The first point refused, the third of the same shape taken: the shape is told.
    expect(told(types, (i) => i === 2)).toEqual([['m', [{ key: 'v', type: 'float' }]]]);
    expect(told(types, () => false)).toEqual([]);
  });

  it('tells the types of every point taken when there are more shapes than it compares', () => {
    const points = Array.from({ length: 40 }, (_, i) => point(`m${i}`, BigInt(i)));
    const fields = points.map(() => typed(['v', 'float']));

    const measurements = told(new WrittenTypes(points, fields), (i) => i % 2 === 0).map(
      ([measurement]) => measurement,
    );

    expect(measurements).toEqual(points.filter((_, i) => i % 2 === 0).map((p) => p.measurement));
  });
});
