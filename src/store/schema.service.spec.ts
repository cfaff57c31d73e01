import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxFieldType, Queried } from '../influx/influx.answers';
import type { InfluxService } from '../influx/influx.service';
import { parseSpoolConfig } from '../spool/spool.config';
import type { FieldValue, Point } from './point';
import { SCHEMA_FILE, SchemaService } from './schema.service';

/**
 * InfluxDB as SchemaService sees it: `SHOW FIELD KEYS` answers what `fields` holds when it is
 * asked (the test may change it), or fails while `fields` is undefined (down). Counts the reads.
 */
class FakeInflux {
  reads = 0;
  constructor(public fields?: Record<string, InfluxFieldType>) {}

  fieldTypes(): Promise<Queried<Map<string, InfluxFieldType>>> {
    this.reads++;
    if (this.fields === undefined) {
      return Promise.resolve({ kind: 'unavailable', detail: 'InfluxDB unreachable' });
    }
    return Promise.resolve({ kind: 'ok', value: new Map(Object.entries(this.fields)) });
  }
}

function point(fields: Record<string, FieldValue>, measurement = 'm'): Point {
  return { measurement, tags: [], fields: Object.entries(fields), time: 1n };
}

describe(SchemaService.name, () => {
  let dir: string;
  const service = async (influx: FakeInflux) => {
    const schema = new SchemaService(
      influx as unknown as InfluxService,
      parseSpoolConfig({ SPOOL_DIR: dir }),
    );
    await schema.onModuleInit();
    return schema;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'schema-'));
  });

  afterEach(() => {
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('types numbers as floats, strings and booleans as they are, against what InfluxDB holds', async () => {
    const schema = await service(new FakeInflux({ n: 'integer' }));

    await expect(schema.type([point({ n: 2, f: 1, s: 'x', b: true })], 'influx')).resolves.toEqual([
      [
        { key: 'n', type: 'integer', value: 2 },
        { key: 'f', type: 'float', value: 1 },
        { key: 's', type: 'string', value: 'x' },
        { key: 'b', type: 'boolean', value: true },
      ],
    ]);
  });

  it('knows spooled and stored types after a restart, from the schema file', async () => {
    const first = await service(new FakeInflux());
    first.rememberSpooled('m', [{ key: 'f', type: 'boolean', value: true }]);
    first.remember('m', [{ key: 'n', type: 'float' }]);
    await first.save();

    const down = new FakeInflux();
    const restarted = await service(down);
    const typed = await restarted.type([point({ f: 'x' }), point({ n: 3 })], 'influx');

    expect(typed).toEqual([
      {
        kind: 'type_conflict',
        measurement: 'm',
        field: 'f',
        stored: 'boolean',
        incoming: 'string',
      },
      [{ key: 'n', type: 'float', value: 3 }],
    ]);
    expect(JSON.parse(readFileSync(join(dir, SCHEMA_FILE), 'utf8'))).toEqual({
      version: 1,
      measurements: { m: { stored: { n: 'float' }, spooled: { f: 'boolean' } } },
    });
  });

  it("lets InfluxDB's types win over spooled ones once it answers", async () => {
    const influx = new FakeInflux({ f: 'float' });
    const schema = await service(influx);
    schema.rememberSpooled('m', [
      { key: 'f', type: 'string', value: 'x' },
      { key: 'g', type: 'boolean', value: true },
    ]);

    const typed = await schema.type([point({ f: 1 }), point({ g: 'y' })], 'fresh');

    expect(typed).toEqual([
      [{ key: 'f', type: 'float', value: 1 }],
      {
        kind: 'type_conflict',
        measurement: 'm',
        field: 'g',
        stored: 'boolean',
        incoming: 'string',
      },
    ]);
    expect(influx.reads).toBe(1);
  });

  it('types against what is known without asking InfluxDB, for the spool', async () => {
    const influx = new FakeInflux({ f: 'float' });
    const schema = await service(influx);
    schema.rememberSpooled('m', [{ key: 's', type: 'string', value: 'x' }]);

    const typed = await schema.type([point({ s: 1, f: 'text' })], 'known');

    expect(typed).toEqual([
      { kind: 'type_conflict', measurement: 'm', field: 's', stored: 'string', incoming: 'float' },
    ]);
    expect(influx.reads).toBe(0);
  });

  it('checks a conflict with cached types once more against InfluxDB before it stands', async () => {
    const influx = new FakeInflux({ k: 'string' });
    const schema = await service(influx);
    await schema.type([point({ other: 1 })], 'influx');
    // Another writer changes the measurement (a new shard, say) after the types were cached.
    influx.fields = { k: 'integer' };
    // More than a second later: a conflict is checked again at most once a second.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    jest.setSystemTime(Date.now() + 1500);

    const typed = await schema.type([point({ k: 7 })], 'influx');

    expect(typed).toEqual([[{ key: 'k', type: 'integer', value: 7 }]]);
    expect(influx.reads).toBe(2);
  });

  it('does not ask InfluxDB again for a conflict within a second of the last read', async () => {
    const influx = new FakeInflux({ k: 'string' });
    const schema = await service(influx);

    const typed = await schema.type([point({ k: 7 })], 'influx');

    expect(typed).toEqual([
      { kind: 'type_conflict', measurement: 'm', field: 'k', stored: 'string', incoming: 'float' },
    ]);
    expect(influx.reads).toBe(1);
  });

  it('has the points of one call agree with each other, unless each stands alone', async () => {
    const schema = await service(new FakeInflux({}));
    const points = [point({ k: 'text' }), point({ k: 2 })];

    const together = await schema.type(points, 'influx');
    const alone = await schema.type(points, 'influx', true);

    expect(together).toEqual([
      [{ key: 'k', type: 'string', value: 'text' }],
      { kind: 'type_conflict', measurement: 'm', field: 'k', stored: 'string', incoming: 'float' },
    ]);
    expect(alone).toEqual([
      [{ key: 'k', type: 'string', value: 'text' }],
      [{ key: 'k', type: 'float', value: 2 }],
    ]);
  });

  it('forgets spooled types once the spool is empty, and keeps stored ones', async () => {
    const schema = await service(new FakeInflux());
    schema.rememberSpooled('m', [{ key: 'f', type: 'string', value: 'x' }]);
    schema.remember('m', [{ key: 'n', type: 'integer' }]);

    schema.forgetSpooled();

    await expect(schema.type([point({ f: 1, n: 2 })], 'known')).resolves.toEqual([
      [
        { key: 'f', type: 'float', value: 1 },
        { key: 'n', type: 'integer', value: 2 },
      ],
    ]);
  });

  it('answers the failure for a measurement it knows nothing of while InfluxDB is down', async () => {
    const schema = await service(new FakeInflux());

    await expect(schema.type([point({ f: 1 })], 'influx')).resolves.toEqual({
      kind: 'unavailable',
      detail: 'InfluxDB unreachable',
    });
    await expect(schema.type([point({ f: 1 })], 'fresh')).resolves.toMatchObject({
      kind: 'unavailable',
    });
  });

  it('ignores a damaged schema file and starts from nothing', async () => {
    writeFileSync(
      join(dir, SCHEMA_FILE),
      '{"version":1,"measurements":{"m":{"stored":{"f":"string"},',
    );

    const schema = await service(new FakeInflux());

    await expect(schema.type([point({ f: 1 })], 'known')).resolves.toEqual([
      [{ key: 'f', type: 'float', value: 1 }],
    ]);
  });
});
