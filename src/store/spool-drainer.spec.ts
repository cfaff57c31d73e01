import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxFailure, InfluxFieldType, Queried } from '../influx/influx.answers';
import { CredentialsWatch } from '../influx/credentials-watch';
import { parseInfluxConfig } from '../influx/influx.config';
import type { InfluxService } from '../influx/influx.service';
import type { WritePart } from '../influx/line-protocol';
import { fakeRead, fakeRender } from '../../test/support/fake-lines';
import { MetricsService } from '../metrics/metrics.service';
import { DEAD_LETTER_FILE, SpoolService } from '../spool/spool.service';
import { parseSpoolConfig } from '../spool/spool.config';
import type { FieldValue, Point } from './point';
import { PointWriter } from './point-writer';
import { SchemaService } from './schema.service';
import { SpoolDrainer } from './spool-drainer';

/**
 * InfluxDB as the drainer sees it through the real PointWriter (what is stored is tested
 * against the real InfluxDB in test/): `down` fails writes and SHOW FIELD KEYS, `fields`
 * answers the latter, and a write holding a point of another type than `fields` says is refused.
 */
class StandIn {
  fields: Record<string, InfluxFieldType> = {};
  down = false;
  readonly stored: bigint[] = [];
  readonly credentials = new CredentialsWatch({ api: 'v1' }, { error: () => {}, log: () => {} });
  readonly maxConcurrentWrites = 1;

  readonly render = fakeRender;

  write(parts: readonly WritePart[]): Promise<InfluxFailure | undefined> {
    if (this.down) return Promise.resolve({ kind: 'unavailable', detail: 'InfluxDB answered 503' });
    const lines = fakeRead(parts);
    const conflict = lines.some((line) =>
      line.fields.some((f) => this.fields[f.key] !== undefined && this.fields[f.key] !== f.type),
    );
    if (conflict)
      return Promise.resolve({ kind: 'refused', status: 400, detail: 'field type conflict' });
    this.stored.push(...lines.map((line) => line.time));
    return Promise.resolve(undefined);
  }

  fieldTypes(): Promise<Queried<Map<string, InfluxFieldType>>> {
    if (this.down) return Promise.resolve({ kind: 'unavailable', detail: 'InfluxDB unreachable' });
    return Promise.resolve({ kind: 'ok', value: new Map(Object.entries(this.fields)) });
  }
}

function point(n: number, fields: Record<string, FieldValue>): Point {
  return {
    measurement: 'm',
    tags: [['event', 'e']],
    fields: Object.entries(fields),
    time: BigInt(n),
    eventId: `id-${n}`,
  };
}

/** Waits, a turn at a time for at most 10 s, until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the drainer did not get there');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(SpoolDrainer.name, () => {
  let dir: string;
  let influx: StandIn;
  let spool: SpoolService;
  let writer: PointWriter;
  let drainer: SpoolDrainer;
  let metrics: MetricsService;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drainer-'));
    influx = new StandIn();
    const config = parseSpoolConfig({ SPOOL_DIR: dir, SPOOL_DRAIN_LINES_PER_SECOND: '10000000' });
    spool = new SpoolService(config);
    await spool.onModuleInit();
    const schema = new SchemaService(influx as unknown as InfluxService, config);
    await schema.onModuleInit();
    metrics = new MetricsService();
    const as = influx as unknown as InfluxService;
    writer = new PointWriter(as, schema, metrics, parseInfluxConfig({}));
    drainer = new SpoolDrainer(spool, writer, schema, config, metrics);
  });

  afterEach(async () => {
    await drainer.onApplicationShutdown();
    await writer.onApplicationShutdown();
    await spool.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const counter = async (name: string) => {
    const line = (await metrics.render()).body.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1]);
  };

  it('replays the spool in order, frees it, and counts the lines', async () => {
    await spool.append([point(1, { a: 1 }), point(2, { a: 2 })]);
    await spool.append([point(3, { a: 3 })]);

    drainer.onApplicationBootstrap();
    await until(() => spool.bytes === 0);

    expect(influx.stored).toEqual([1n, 2n, 3n]);
    expect(spool.pendingRecords).toBe(0);
    await expect(counter('stats_spool_drained_lines_total')).resolves.toBe(3);
  });

  it('dead-letters once, with its reason, a point InfluxDB now holds another type for, and stores the rest', async () => {
    // Another writer made `f` a string while the points waited.
    influx.fields = { f: 'string' };
    await spool.append([point(1, { f: 1 }), point(2, { f: 'fine' }), point(3, { g: true })]);

    drainer.onApplicationBootstrap();
    await until(() => spool.bytes === 0);

    expect(influx.stored).toEqual([2n, 3n]);
    const letters = readFileSync(join(dir, DEAD_LETTER_FILE), 'utf8').trim().split('\n');
    expect(letters.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        reason: 'field f is string, this value is float',
        measurement: 'm',
        tags: { event: 'e' },
        fields: { f: 1 },
        time: '1',
        event_id: 'id-1',
      },
    ]);
    await expect(counter('stats_spool_dead_lettered_lines_total')).resolves.toBe(1);
  });

  it('frees nothing while InfluxDB is down, and replays everything once it is back', async () => {
    influx.down = true;
    await spool.append([point(1, { a: 1 })]);

    drainer.onApplicationBootstrap();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(spool.pendingRecords).toBe(1);
    expect(influx.stored).toEqual([]);

    influx.down = false;
    await until(() => spool.bytes === 0);
    expect(influx.stored).toEqual([1n]);
  });
});
