import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxFailure, InfluxFieldType, Queried } from '../influx/influx.answers';
import { CredentialsWatch } from '../influx/credentials-watch';
import { parseInfluxConfig } from '../influx/influx.config';
import type { InfluxService } from '../influx/influx.service';
import type { WritePart } from '../influx/line-protocol';
import { fakeRead, fakeRender } from '../../test/support/fake-lines';
import { MetricsService } from '../metrics/metrics.service';
import { parseSpoolConfig } from '../spool/spool.config';
import type { FieldValue, Point, TypedField } from './point';
import { PointWriter } from './point-writer';
import { SchemaService } from './schema.service';

/** A line as the stand-in sees it: the point's time and its typed fields. */
interface SeenLine {
  time: bigint;
  fields: readonly TypedField[];
}

/**
 * InfluxDB as PointWriter sees it, by rules the test sets (what is stored is tested against the
 * real InfluxDB in test/): a write holding a line `refuses` is refused as a whole (as a partial
 * write is answered 400); `down` fails every write; `fields` answers SHOW FIELD KEYS.
 */
class StandIn {
  fields: Record<string, InfluxFieldType> = {};
  down = false;
  refuses: (line: SeenLine) => boolean = () => false;
  readonly writes: SeenLine[][] = [];
  readonly deleted: bigint[][] = [];
  readonly credentials = new CredentialsWatch({ api: 'v1' }, { error: () => {}, log: () => {} });
  readonly maxConcurrentWrites = 1;

  readonly render = fakeRender;

  write(parts: readonly WritePart[]): Promise<InfluxFailure | undefined> {
    const lines = fakeRead(parts);
    this.writes.push(lines);
    if (this.down) return Promise.resolve({ kind: 'unavailable', detail: 'InfluxDB answered 503' });
    if (!lines.some((line) => this.refuses(line))) return Promise.resolve(undefined);
    return Promise.resolve({ kind: 'refused', status: 400, detail: 'partial write' });
  }

  fieldTypes(): Promise<Queried<Map<string, InfluxFieldType>>> {
    return Promise.resolve({ kind: 'ok', value: new Map(Object.entries(this.fields)) });
  }

  deletePoints(points: readonly Point[]): Promise<undefined> {
    this.deleted.push(points.map((point) => point.time));
    return Promise.resolve(undefined);
  }
}

function point(time: number, fields: Record<string, FieldValue>): Point {
  return { measurement: 'm', tags: [], fields: Object.entries(fields), time: BigInt(time) };
}

const field = (key: string, type: TypedField['type'], value: FieldValue): TypedField => ({
  key,
  type,
  value,
});

describe(PointWriter.name, () => {
  let dir: string;
  let influx: StandIn;
  let schema: SchemaService;
  let metrics: MetricsService;
  let writer: PointWriter;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'writer-'));
    influx = new StandIn();
    schema = new SchemaService(
      influx as unknown as InfluxService,
      parseSpoolConfig({ SPOOL_DIR: dir }),
    );
    await schema.onModuleInit();
    metrics = new MetricsService();
    writer = new PointWriter(
      influx as unknown as InfluxService,
      schema,
      metrics,
      parseInfluxConfig({}),
    );
  });

  afterEach(async () => {
    await writer.onApplicationShutdown();
    await schema.save();
    rmSync(dir, { recursive: true, force: true });
  });

  const metric = async (name: string) =>
    (await metrics.render()).body.split('\n').filter((line) => line.startsWith(name));

  it('writes all points in one write, remembers their types, and tells its listeners', async () => {
    let told = 0;
    writer.onStored(() => told++);

    const outcome = await writer.writeAll(
      [point(1, { a: 1 }), point(2, { b: 'x' })],
      [[field('a', 'float', 1)], [field('b', 'string', 'x')]],
    );

    expect(outcome).toEqual({ kind: 'stored' });
    expect(influx.writes).toHaveLength(1);
    expect(told).toBe(1);
    await expect(schema.type([point(3, { a: 'no', b: 'x' })], 'known')).resolves.toEqual([
      { kind: 'type_conflict', measurement: 'm', field: 'a', stored: 'float', incoming: 'string' },
    ]);
  });

  it('answers a refusal that fresh types explain as the conflict at its index, after deleting what InfluxDB kept', async () => {
    influx.fields = { f: 'string' };
    influx.refuses = (line) => line.fields.some((f) => f.key === 'f' && f.type !== 'string');
    const points = [point(1, { g: 1 }), point(2, { f: 5 })];

    const outcome = await writer.writeAll(points, [
      [field('g', 'float', 1)],
      [field('f', 'float', 5)],
    ]);

    expect(outcome).toEqual({
      kind: 'type_conflict',
      conflict: {
        kind: 'type_conflict',
        measurement: 'm',
        field: 'f',
        stored: 'string',
        incoming: 'float',
      },
      index: 1,
    });
    expect(influx.writes).toHaveLength(1);
    expect(influx.deleted).toEqual([[1n, 2n]]);
  });

  it('writes once more, typed anew, what InfluxDB refused for a field another writer made an integer', async () => {
    influx.fields = { n: 'integer' };
    influx.refuses = (line) => line.fields.some((f) => f.key === 'n' && f.type !== 'integer');

    const outcome = await writer.writeAll([point(1, { n: 7 })], [[field('n', 'float', 7)]]);

    expect(outcome).toEqual({ kind: 'stored' });
    expect(influx.writes.map((lines) => lines[0]!.fields)).toEqual([
      [field('n', 'float', 7)],
      [field('n', 'integer', 7)],
    ]);
    // One point: InfluxDB kept nothing of it, there is nothing to delete.
    expect(influx.deleted).toEqual([]);
  });

  it('answers a second refusal as refused, deleting what InfluxDB kept each time', async () => {
    influx.refuses = (line) => line.time === 2n;

    const outcome = await writer.writeAll(
      [point(1, { a: 1 }), point(2, { a: 2 })],
      [[field('a', 'float', 1)], [field('a', 'float', 2)]],
    );

    expect(outcome).toEqual({ kind: 'refused', status: 400, detail: 'partial write' });
    expect(influx.writes).toHaveLength(2);
    expect(influx.deleted).toEqual([
      [1n, 2n],
      [1n, 2n],
    ]);
    expect(await metric('stats_influx_write_failures_total')).toEqual([
      'stats_influx_write_failures_total{kind="refused"} 2',
    ]);
  });

  it('leaves a refusal as it is once its caller gave up on it (the points were spooled)', async () => {
    influx.refuses = () => true;

    const outcome = await writer.writeAll(
      [point(1, { a: 1 }), point(2, { a: 2 })],
      [[field('a', 'float', 1)], [field('a', 'float', 2)]],
      { expired: true },
    );

    expect(outcome).toMatchObject({ kind: 'refused' });
    expect(influx.writes).toHaveLength(1);
    expect(influx.deleted).toEqual([]);
  });

  it('answers an outage for all the points, without a second try', async () => {
    influx.down = true;

    const all = await writer.writeAll([point(1, { a: 1 })], [[field('a', 'float', 1)]]);
    const each = await writer.writeEach(
      [point(2, { a: 1 }), point(3, { a: 2 })],
      [[field('a', 'float', 1)], [field('a', 'float', 2)]],
    );

    const outage = { kind: 'unavailable', detail: 'InfluxDB answered 503' };
    expect(all).toEqual(outage);
    expect(each).toEqual([outage, outage]);
    expect(influx.writes).toHaveLength(2);
  });

  it('writes points that stand alone in one write, and narrows a refusal down to each point at fault', async () => {
    influx.fields = { f: 'string' };
    // Point 3 conflicts with InfluxDB's types; point 4 is refused for a reason no type shows.
    influx.refuses = (line) =>
      line.time === 4n || line.fields.some((f) => f.key === 'f' && f.type !== 'string');
    const points = [
      point(1, { a: 1 }),
      point(2, { f: 'ok' }),
      point(3, { f: 1 }),
      point(4, { a: 4 }),
    ];
    const fields = [
      [field('a', 'float', 1)],
      [field('f', 'string', 'ok')],
      [field('f', 'float', 1)],
      [field('a', 'float', 4)],
    ];

    const outcomes = await writer.writeEach(points, fields);

    expect(outcomes).toEqual([
      { kind: 'stored' },
      { kind: 'stored' },
      {
        kind: 'type_conflict',
        conflict: {
          kind: 'type_conflict',
          measurement: 'm',
          field: 'f',
          stored: 'string',
          incoming: 'float',
        },
        index: 2,
      },
      { kind: 'refused', status: 400, detail: 'partial write' },
    ]);
    expect(influx.writes[0]!.map((line) => line.time)).toEqual([1n, 2n, 3n, 4n]);
    // Point 4 was written once more, alone, typed anew; point 3 was not.
    expect(influx.writes.at(-1)!.map((line) => line.time)).toEqual([4n]);
    expect(influx.deleted).toEqual([]);
  });

  it('remembers the types of the points that stand alone and were stored, not of one refused', async () => {
    // Point 2 is refused for a reason no type shows, each time it is written.
    influx.refuses = (line) => line.time === 2n;
    const remembered = jest.spyOn(schema, 'remember');

    const outcomes = await writer.writeEach(
      [point(1, { n: 1 }), point(2, { s: 'x' }), point(3, { n: 3 })],
      [[field('n', 'float', 1)], [field('s', 'string', 'x')], [field('n', 'float', 3)]],
    );

    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['stored', 'refused', 'stored']);
    // Once for the shape points 1 and 3 share; nothing for point 2, neither written time.
    expect(remembered.mock.calls).toEqual([['m', [{ key: 'n', type: 'float' }]]]);
  });

  it('counts every refusal of the credentials, and failed writes by kind', async () => {
    influx.credentials.saw({ kind: 'credentials', status: 401 });
    influx.credentials.saw({ kind: 'credentials', status: 401 });

    expect(await metric('stats_influx_credentials_refused_total')).toEqual([
      'stats_influx_credentials_refused_total 2',
    ]);
  });
});
