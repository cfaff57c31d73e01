import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxFailure, InfluxFieldType, Queried } from '../influx/influx.answers';
import type { InfluxService } from '../influx/influx.service';
import { parseSpoolConfig } from '../spool/spool.config';
import { SpoolService, type AppendFailure } from '../spool/spool.service';
import type { EventReader } from './event-reader';
import type { FieldValue, Point } from './point';
import type { PointWriter, WriteOutcome } from './point-writer';
import { SchemaService } from './schema.service';
import { StoreService } from './store.service';

/** SHOW FIELD KEYS as the test sets it; undefined: InfluxDB is down. */
class Types {
  constructor(public fields?: Record<string, InfluxFieldType>) {}
  fieldTypes(): Promise<Queried<Map<string, InfluxFieldType>>> {
    return Promise.resolve(
      this.fields === undefined
        ? { kind: 'unavailable', detail: 'InfluxDB unreachable' }
        : { kind: 'ok', value: new Map(Object.entries(this.fields)) },
    );
  }
}

/** A writer that answers what the test scripts (PointWriter has its own spec). */
class ScriptedWriter {
  all: () => Promise<WriteOutcome> = () => Promise.resolve({ kind: 'stored' });
  each: (points: readonly Point[]) => Promise<WriteOutcome[]> = (points) =>
    Promise.resolve(points.map(() => ({ kind: 'stored' }) as const));
  readonly written: Point[][] = [];

  writeAll(points: readonly Point[]): Promise<WriteOutcome> {
    this.written.push([...points]);
    return this.all();
  }

  writeEach(points: readonly Point[]): Promise<WriteOutcome[]> {
    this.written.push([...points]);
    return this.each(points);
  }
}

let seq = 0;
function event(fields: Record<string, FieldValue>): Point {
  seq += 1;
  return {
    measurement: 'analytics',
    tags: [['event', 'e']],
    fields: Object.entries(fields),
    time: BigInt(seq),
    eventId: `id-${seq}`,
  };
}

const OUTAGE: InfluxFailure = { kind: 'unavailable', detail: 'InfluxDB answered 503' };

describe(StoreService.name, () => {
  let dir: string;
  let types: Types;
  let writer: ScriptedWriter;
  let spool: SpoolService;
  let store: StoreService;

  async function build(spoolFake?: Partial<SpoolService>): Promise<void> {
    // Override: the shortest WRITE_DEADLINE_MS allowed, for the test of a write that hangs.
    const config = parseSpoolConfig({ SPOOL_DIR: dir, WRITE_DEADLINE_MS: '10' });
    const schema = new SchemaService(types as unknown as InfluxService, config);
    await schema.onModuleInit();
    spool = new SpoolService(config);
    await spool.onModuleInit();
    store = new StoreService(
      schema,
      writer as unknown as PointWriter,
      (spoolFake ?? spool) as SpoolService,
      {} as EventReader,
      config,
    );
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'store-'));
    types = new Types({ n: 'float' });
    writer = new ScriptedWriter();
    await build();
  });

  afterEach(async () => {
    await spool.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers stored when InfluxDB acknowledged the points, and spools nothing', async () => {
    await expect(store.store([event({ n: 1 })], false)).resolves.toEqual({ kind: 'stored' });
    expect(spool.pendingRecords).toBe(0);
  });

  it('refuses a conflict with the known types itself, naming the index of an array only', async () => {
    const points = [event({ n: 1 }), event({ n: 'text' })];

    const array = await store.store(points, true);
    const single = await store.store([event({ n: true })], false);

    const conflict = {
      kind: 'type_conflict',
      measurement: 'analytics',
      field: 'n',
      stored: 'float',
    };
    expect(array).toEqual({
      kind: 'type_conflict',
      conflict: { ...conflict, incoming: 'string' },
      index: 1,
    });
    expect(single).toEqual({
      kind: 'type_conflict',
      conflict: { ...conflict, incoming: 'boolean' },
    });
    expect(writer.written).toEqual([]);
    expect(spool.pendingRecords).toBe(0);
  });

  it('passes on a refusal by InfluxDB, and a conflict PointWriter found, without spooling', async () => {
    writer.all = () =>
      Promise.resolve({ kind: 'refused', status: 400, detail: 'may quote values' });
    const refused = await store.store([event({ n: 1 })], false);
    const conflict = {
      kind: 'type_conflict',
      measurement: 'analytics',
      field: 'x',
      stored: 'integer',
      incoming: 'float',
    } as const;
    writer.all = () => Promise.resolve({ kind: 'type_conflict', conflict, index: 0 });
    const found = await store.store([event({ x: 1.5 })], true);

    expect(refused).toEqual({ kind: 'refused', status: 400 });
    expect(found).toEqual({ kind: 'type_conflict', conflict, index: 0 });
    expect(spool.pendingRecords).toBe(0);
  });

  it.each<[string, () => Promise<WriteOutcome>]>([
    ['InfluxDB is unavailable', () => Promise.resolve(OUTAGE)],
    [
      'InfluxDB refuses the credentials',
      () => Promise.resolve({ kind: 'credentials', status: 401 }),
    ],
    ['InfluxDB does not answer within WRITE_DEADLINE_MS', () => new Promise<never>(() => {})],
  ])('spools the points when %s, and counts their types as known', async (_case, answer) => {
    writer.all = answer;
    const point = event({ s: 'text' });

    await expect(store.store([point], false)).resolves.toEqual({ kind: 'spooled' });

    expect(spool.pendingRecords).toBe(1);
    await expect(spool.find(point.eventId!)).resolves.toEqual(point);
    // InfluxDB has not seen `s` yet; the spooled string still refuses a number for it.
    writer.all = () => Promise.resolve({ kind: 'stored' });
    await expect(store.store([event({ s: 2 })], false)).resolves.toMatchObject({
      kind: 'type_conflict',
      conflict: { field: 's', stored: 'string', incoming: 'float' },
    });
  });

  it('spools what it cannot type while InfluxDB cannot be asked, and writes nothing', async () => {
    types.fields = undefined;
    const point: Point = { ...event({ a: 1 }), measurement: 'unknown' };

    await expect(store.store([point], false)).resolves.toEqual({ kind: 'spooled' });
    expect(writer.written).toEqual([]);
  });

  it.each<[AppendFailure, object]>([
    ['full', { kind: 'spool_full', retryAfterSeconds: 42 }],
    ['unwritable', { kind: 'spool_unavailable', retryAfterSeconds: 5 }],
  ])('answers a spool that is %s as what it is: nothing kept', async (failure, outcome) => {
    await spool.onApplicationShutdown();
    await build({
      append: () => Promise.resolve(failure),
      retryAfterSeconds: () => 42,
    });
    writer.all = () => Promise.resolve(OUTAGE);

    await expect(store.store([event({ n: 1 })], false)).resolves.toEqual(outcome);
  });

  describe('storeEach', () => {
    it('answers each point on its own: stored, refused, conflicting, spooled', async () => {
      const points = [event({ n: 1 }), event({ n: 'x' }), event({ n: 2 }), event({ n: 3 })];
      writer.each = () =>
        Promise.resolve([{ kind: 'stored' }, { kind: 'refused', status: 400, detail: '' }, OUTAGE]);

      const outcomes = await store.storeEach(points);

      expect(outcomes).toEqual([
        { kind: 'stored' },
        {
          kind: 'type_conflict',
          conflict: {
            kind: 'type_conflict',
            measurement: 'analytics',
            field: 'n',
            stored: 'float',
            incoming: 'string',
          },
        },
        { kind: 'refused', status: 400 },
        { kind: 'spooled' },
      ]);
      expect(writer.written).toEqual([[points[0], points[2], points[3]]]);
      expect(spool.pendingRecords).toBe(1);
      await expect(spool.find(points[3]!.eventId!)).resolves.toEqual(points[3]);
    });

    it('types each point alone for InfluxDB to decide, but spooled points must agree', async () => {
      types.fields = {};
      writer.each = (points) => Promise.resolve(points.map(() => OUTAGE));
      const points = [event({ k: 'text' }), event({ k: 2 })];

      const outcomes = await store.storeEach(points);

      expect(writer.written).toEqual([points]);
      expect(outcomes).toEqual([
        { kind: 'spooled' },
        {
          kind: 'type_conflict',
          conflict: {
            kind: 'type_conflict',
            measurement: 'analytics',
            field: 'k',
            stored: 'string',
            incoming: 'float',
          },
        },
      ]);
    });
  });
});
