import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxFieldType, InfluxRow, Queried } from '../influx/influx.answers';
import type { TimeBounds } from '../influx/influxql';
import type { InfluxService } from '../influx/influx.service';
import { parseSpoolConfig } from '../spool/spool.config';
import { SpoolService } from '../spool/spool.service';
import { EventReader, type ReadPolicy } from './event-reader';
import type { Point } from './point';
import { SchemaService } from './schema.service';

/** InfluxDB as the reader sees it: the rows it holds, asked one search at a time. */
class StandIn {
  rows: Record<string, InfluxRow> = {};
  down = false;
  fields: Record<string, InfluxFieldType> = {};
  readonly searches: TimeBounds[] = [];
  /** While set, searches wait for it: to hold several reads in flight. */
  hold?: Promise<void>;

  async newestEvent(
    _m: string,
    id: string,
    bounds: TimeBounds,
  ): Promise<Queried<InfluxRow | undefined>> {
    this.searches.push(bounds);
    await this.hold;
    if (this.down) return { kind: 'unavailable', detail: 'InfluxDB unreachable' };
    return { kind: 'ok', value: this.rows[id] };
  }

  fieldTypes(): Promise<Queried<Map<string, InfluxFieldType>>> {
    return Promise.resolve({ kind: 'ok', value: new Map(Object.entries(this.fields)) });
  }
}

const POLICY: ReadPolicy = { measurement: 'analytics', windowHours: 168, maxScans: 2 };
/** 2026-11-30T16:00:00.123456789Z */
const NS = 1_796_054_400_123_456_789n;

describe(EventReader.name, () => {
  let dir: string;
  let influx: StandIn;
  let spool: SpoolService;
  let schema: SchemaService;
  let reader: EventReader;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reader-'));
    influx = new StandIn();
    const config = parseSpoolConfig({ SPOOL_DIR: dir });
    spool = new SpoolService(config);
    await spool.onModuleInit();
    schema = new SchemaService(influx as unknown as InfluxService, config);
    await schema.onModuleInit();
    reader = new EventReader(influx as unknown as InfluxService, spool, schema);
  });

  afterEach(async () => {
    await spool.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a queued event as InfluxDB will once it is stored: a numeric uid as text', async () => {
    const queued: Point = {
      measurement: 'analytics',
      tags: [['event', 'login']],
      fields: [
        ['uid', 42],
        ['n', 1.5],
        ['event_id', 'client-1'],
      ],
      time: NS,
      eventId: 'client-1',
    };
    await spool.append([queued]);

    const found = await reader.find('client-1', POLICY);

    expect(found).toEqual({
      kind: 'found',
      status: 'queued',
      event: Object.assign(Object.create(null) as object, {
        time: '2026-11-30T16:00:00.123456789Z',
        event: 'login',
        uid: '42',
        n: 1.5,
        event_id: 'client-1',
      }),
    });
    expect(influx.searches).toEqual([]);
  });

  it('answers an integer field beyond ±2^53 as its digits, and a float field as the exact value of its double', async () => {
    influx.fields = { big: 'integer', double: 'float' };
    // InfluxDB writes a double shortest: 2^62 as 4611686018427388000.
    influx.rows['client-big'] = {
      time: '2026-11-30T16:00:00Z',
      tags: [['event', 'e']],
      fields: [
        ['big', 4611686018427388000n],
        ['double', 4611686018427388000n],
        ['event_id', 'client-big'],
      ],
    };

    const found = await reader.find('client-big', POLICY);

    expect(found).toMatchObject({
      kind: 'found',
      event: { big: 4611686018427388000n, double: 4611686018427387904n },
    });
  });

  it('answers a stored event as one flat object, the field winning over a tag of the same key', async () => {
    influx.rows['client-2'] = {
      time: '2026-11-30T16:00:00Z',
      tags: [['event', 'tag-value']],
      fields: [
        ['event', 'field-value'],
        ['event_id', 'client-2'],
      ],
    };

    const found = await reader.find('client-2', POLICY);

    expect(found).toMatchObject({
      kind: 'found',
      status: 'stored',
      event: { time: '2026-11-30T16:00:00Z', event: 'field-value', event_id: 'client-2' },
    });
  });

  it('answers not found after the id’s searches, and unavailable when InfluxDB cannot be asked', async () => {
    const missing = await reader.find('client-3', POLICY);
    influx.down = true;
    const down = await reader.find('client-3', POLICY);

    expect(missing).toEqual({ kind: 'not_found' });
    expect(down).toEqual({ kind: 'unavailable', retryAfterSeconds: 5 });
  });

  it('runs at most EVENT_READ_MAX_SCANS window searches at once; beyond, it answers busy', async () => {
    let release!: () => void;
    influx.hold = new Promise((resolve) => (release = resolve));

    const running = [reader.find('a', POLICY), reader.find('b', POLICY)];
    const third = await reader.find('c', POLICY);
    release();

    expect(third).toEqual({ kind: 'busy', retryAfterSeconds: 1 });
    await expect(Promise.all(running)).resolves.toEqual([
      { kind: 'not_found' },
      { kind: 'not_found' },
    ]);
    // Slots are given back: the next one runs.
    influx.hold = undefined;
    await expect(reader.find('d', POLICY)).resolves.toEqual({ kind: 'not_found' });
  });

  it('does not count a search at one moment (a server id) against EVENT_READ_MAX_SCANS', async () => {
    let release!: () => void;
    influx.hold = new Promise((resolve) => (release = resolve));
    const serverId = `entry_${NS.toString(16)}0123456789abcdef`;
    influx.rows[serverId] = { time: 't', tags: [], fields: [['event_id', serverId]] };

    const running = [reader.find('a', POLICY), reader.find('b', POLICY)];
    const atItsTime = reader.find(serverId, POLICY);
    await new Promise((resolve) => setImmediate(resolve));
    release();

    await expect(atItsTime).resolves.toMatchObject({ kind: 'found', status: 'stored' });
    await Promise.all(running);
    expect(influx.searches).toContainEqual({ at: NS });
  });
});
