import {
  InfluxRefusedError,
  InfluxUnavailableError,
  parseFieldTypeConflict,
} from './influx.errors';

describe(parseFieldTypeConflict.name, () => {
  it('reads the InfluxDB 1.x message', () => {
    expect(
      parseFieldTypeConflict(
        'partial write: field type conflict: input field "x" on measurement "analytics" is type string, already exists as type float dropped=1',
      ),
    ).toEqual({ field: 'x', measurement: 'analytics', incoming: 'string', stored: 'float' });
  });

  it('reads the InfluxDB 2.x message (the "message" of its 422 JSON body)', () => {
    expect(
      parseFieldTypeConflict(
        'failure writing points to database: partial write: field type conflict: input field "count" on measurement "clicks.web-v2" is type integer, already exists as type float dropped=3',
      ),
    ).toEqual({
      field: 'count',
      measurement: 'clicks.web-v2',
      incoming: 'integer',
      stored: 'float',
    });
  });

  it('reads names with spaces, commas and equals signs', () => {
    expect(
      parseFieldTypeConflict(
        'partial write: field type conflict: input field "load avg,1=x" on measurement "my table" is type boolean, already exists as type integer dropped=1',
      ),
    ).toEqual({
      field: 'load avg,1=x',
      measurement: 'my table',
      incoming: 'boolean',
      stored: 'integer',
    });
  });

  it('reads the first of several conflicts', () => {
    expect(
      parseFieldTypeConflict(
        'partial write: field type conflict: input field "a" on measurement "m" is type float, already exists as type string dropped=1; field type conflict: input field "b" on measurement "m" is type string, already exists as type boolean dropped=1',
      ),
    ).toEqual({ field: 'a', measurement: 'm', incoming: 'float', stored: 'string' });
  });

  it.each([
    ['an empty message', ''],
    ['an unknown database', 'database not found: "stats"'],
    ['a parse error', "unable to parse 'analytics value= 1': missing field value"],
    ['points beyond retention', 'partial write: points beyond retention policy dropped=1'],
    ['a bare mention of the error', 'field type conflict'],
    ['an authorisation failure', 'authorization failed'],
  ])('gives undefined for %s', (_case, message) => {
    expect(parseFieldTypeConflict(message)).toBeUndefined();
  });
});

describe(InfluxRefusedError.name, () => {
  it('carries the status and the conflict', () => {
    const conflict = { field: 'x', measurement: 'm', incoming: 'string', stored: 'float' };
    const error = new InfluxRefusedError('refused', 400, conflict);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InfluxRefusedError');
    expect(error.message).toBe('refused');
    expect(error.status).toBe(400);
    expect(error.conflict).toBe(conflict);
  });
});

describe(InfluxUnavailableError.name, () => {
  it('is an Error with its own name', () => {
    const error = new InfluxUnavailableError('down');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InfluxUnavailableError');
  });
});
