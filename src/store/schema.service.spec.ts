import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfluxService } from '../influx/influx.service';
import { parseSpoolConfig } from '../spool/spool.config';
import { SCHEMA_FILE, SchemaService } from './schema.service';

/** InfluxDB as SchemaService sees it: `SHOW FIELD KEYS` answers `fields`, or fails (down). */
function influx(fields?: Array<[string, string]>): InfluxService {
  return {
    query: () =>
      fields === undefined
        ? Promise.reject(new Error('InfluxDB is unavailable'))
        : Promise.resolve([
            { statement_id: 0, series: [{ name: 'm', columns: [], values: fields }] },
          ]),
  } as unknown as InfluxService;
}

describe(SchemaService.name, () => {
  let dir: string;
  const service = async (fields?: Array<[string, string]>) => {
    const schema = new SchemaService(influx(fields), parseSpoolConfig({ SPOOL_DIR: dir }));
    await schema.onModuleInit();
    return schema;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'schema-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('knows spooled and stored types after a restart, from the schema file', async () => {
    const first = await service();
    first.rememberSpooled('m', [{ key: 'f', type: 'boolean', value: true }]);
    first.remember('m', [{ key: 'n', type: 'float', value: 1 }]);
    await first.save();

    const restarted = await service();

    expect(Object.fromEntries(restarted.known('m'))).toEqual({ f: 'boolean', n: 'float' });
    await expect(restarted.typesOf('m')).resolves.toEqual(
      new Map([
        ['f', 'boolean'],
        ['n', 'float'],
      ]),
    );
    expect(JSON.parse(readFileSync(join(dir, SCHEMA_FILE), 'utf8'))).toEqual({
      version: 1,
      measurements: { m: { stored: { n: 'float' }, spooled: { f: 'boolean' } } },
    });
  });

  it("lets InfluxDB's types win over spooled ones once it answers", async () => {
    const schema = await service([['f', 'float']]);
    schema.rememberSpooled('m', [
      { key: 'f', type: 'string', value: 'x' },
      { key: 'g', type: 'boolean', value: true },
    ]);

    await schema.refresh('m');

    expect(Object.fromEntries(schema.known('m'))).toEqual({ f: 'float', g: 'boolean' });
  });

  it('forgets spooled types once the spool is empty, and keeps stored ones', async () => {
    const schema = await service();
    schema.rememberSpooled('m', [{ key: 'f', type: 'string', value: 'x' }]);
    schema.remember('m', [{ key: 'n', type: 'integer', value: 1 }]);

    schema.forgetSpooled();

    expect(Object.fromEntries(schema.known('m'))).toEqual({ n: 'integer' });
  });

  it('rejects typesOf for a measurement it knows nothing of while InfluxDB is down', async () => {
    const schema = await service();

    await expect(schema.typesOf('m')).rejects.toThrow('InfluxDB is unavailable');
    expect(schema.known('m').size).toBe(0);
  });

  it('ignores a damaged schema file and starts from nothing', async () => {
    writeFileSync(join(dir, SCHEMA_FILE), '{"version":1,"measurements":');

    const schema = await service();

    expect(schema.known('m').size).toBe(0);
  });
});
