import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FieldType } from './point';
import { SCHEMA_FILE, SchemaFile, type KeptTypes } from './schema-file';

function kept(
  stored: Record<string, FieldType>,
  spooled: Record<string, FieldType> = {},
): KeptTypes {
  return { stored: new Map(Object.entries(stored)), spooled: new Map(Object.entries(spooled)) };
}

describe(SchemaFile.name, () => {
  let dir: string;
  let errors: string[];
  const logger = { error: (message: string) => void errors.push(message) };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'schema-file-'));
    errors = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** What a fresh service started on `dir` would read back. */
  const loadFresh = () => new SchemaFile(dir, logger).load();

  /**
   * The live state plus a `writes` measurement numbering the writes, so that the file itself
   * shows how many writes the saves cost.
   */
  function counted(live: Map<string, KeptTypes>): () => Iterable<[string, KeptTypes]> {
    let writes = 0;
    return () => [...live, ['writes', kept({ [`write_${++writes}`]: 'integer' })]];
  }

  it('gives a new SchemaFile on the same folder the stored and spooled types of each measurement', async () => {
    const state = new Map([
      ['cpu', kept({ usage: 'float', cores: 'integer' }, { label: 'string' })],
      ['wetter.außen', kept({}, { 'on off': 'boolean', 'a,b=c': 'float' })],
      ['empty', kept({})],
    ]);

    await new SchemaFile(dir, logger).save(() => state);

    expect(await loadFresh()).toEqual(state);
    expect(errors).toEqual([]);
  });

  it('keeps a measurement called __proto__ like any other', async () => {
    const state = new Map([
      ['__proto__', kept({ a: 'float' })],
      ['cpu', { stored: new Map([['__proto__', 'integer' as const]]), spooled: new Map() }],
    ]);

    await new SchemaFile(dir, logger).save(() => state);

    expect([...(await loadFresh())]).toEqual([...state]);
  });

  it('reports a schema.json it cannot read, and knows nothing from it', async () => {
    mkdirSync(join(dir, SCHEMA_FILE));

    expect(await loadFresh()).toEqual(new Map());
    expect(errors).toEqual([`${join(dir, SCHEMA_FILE)} cannot be read (EISDIR); ignored`]);
  });

  it('reads a version 1 file written by an earlier run', async () => {
    writeFileSync(
      join(dir, SCHEMA_FILE),
      '{"version":1,"measurements":{"m":{"stored":{"a":"float"},"spooled":{"b":"boolean"}}}}',
    );

    expect(await loadFresh()).toEqual(new Map([['m', kept({ a: 'float' }, { b: 'boolean' })]]));
  });

  it('knows nothing when there is no file yet, and says nothing about it', async () => {
    expect(await loadFresh()).toEqual(new Map());
    expect(errors).toEqual([]);
  });

  it.each([
    ['that is torn in the middle', '{"version":1,"measurements":{"m":{"stored":{"a":"flo'],
    ['that is empty', ''],
    ['that is not JSON', 'segment 00000001\n\u0000\u0000'],
    ['holding JSON null', 'null'],
    ['holding a JSON array', '[{"m":{"a":"float"}}]'],
    ['of another format', '{"fields":{"m":["a","b"]}}'],
    ['of a later version', '{"version":2,"measurements":{"m":{"stored":{},"spooled":{}}}}'],
    [
      'naming a type InfluxDB has not',
      '{"version":1,"measurements":{"m":{"stored":{"a":"nonsense"},"spooled":{}}}}',
    ],
    [
      'holding a string where the types belong',
      '{"version":1,"measurements":{"m":{"stored":"ab","spooled":{}}}}',
    ],
    [
      'valid for its first measurement only',
      '{"version":1,"measurements":{"a":{"stored":{"x":"float"},"spooled":{}},"b":{"stored":{}}}}',
    ],
  ])('ignores a file %s, keeping none of it, and tells the logger', async (_, text) => {
    writeFileSync(join(dir, SCHEMA_FILE), text);

    expect(await loadFresh()).toEqual(new Map());
    expect(errors).toEqual([
      `${join(dir, SCHEMA_FILE)} is not a schema file; it is ignored and rewritten`,
    ]);
  });

  it('replaces a damaged file with a whole state at the next save', async () => {
    writeFileSync(join(dir, SCHEMA_FILE), '{"version":1,"measurements":{"m":{"stor');
    const file = new SchemaFile(dir, logger);
    await file.load();
    const state = new Map([['m', kept({ a: 'string' })]]);

    await file.save(() => state);

    expect(await loadFresh()).toEqual(state);
    expect(errors).toHaveLength(1);
  });

  it('reads the last saved state when a crash came between writing the temporary file and the rename', async () => {
    const before = new Map([['m', kept({ a: 'float' })]]);
    await new SchemaFile(dir, logger).save(() => before);
    writeFileSync(
      join(dir, `${SCHEMA_FILE}.tmp`),
      '{"version":1,"measurements":{"m":{"stored":{"a":"float","b":"string"},"spooled":{}}}}',
    );

    expect(await loadFresh()).toEqual(before);
    expect(errors).toEqual([]);
  });

  it('writes over a torn temporary file left by a crash, longer than the new state, and leaves none behind', async () => {
    writeFileSync(
      join(dir, `${SCHEMA_FILE}.tmp`),
      `{"version":1,"measurements":{${'"x": '.repeat(500)}`,
    );
    const state = new Map([['m', kept({ a: 'boolean' })]]);

    await new SchemaFile(dir, logger).save(() => state);

    expect(await loadFresh()).toEqual(state);
    expect(readdirSync(dir)).toEqual([SCHEMA_FILE]);
    expect(errors).toEqual([]);
  });

  it('lets calls made before a save starts share it, and writes the state as it is when it starts', async () => {
    const live = new Map([['m', kept({ a: 'float' })]]);
    const file = new SchemaFile(dir, logger);
    const state = counted(live);

    const first = file.save(state);
    live.set('n', kept({}, { b: 'string' }));
    const others = [file.save(state), file.save(state), file.save(state)];
    await Promise.all([first, ...others]);

    expect(others.every((other) => other === first)).toBe(true);
    expect(await loadFresh()).toEqual(new Map([...live, ['writes', kept({ write_1: 'integer' })]]));
  });

  it('runs a save asked for while one is writing after it, with the newer state, once for all such calls', async () => {
    const live = new Map([['m', kept({ a: 'float' })]]);
    const file = new SchemaFile(dir, logger);
    const count = counted(live);
    let started!: () => void;
    const writing = new Promise<void>((resolve) => (started = resolve));
    const first = file.save(() => {
      const state = count();
      started();
      return state;
    });
    await writing;

    live.set('m', kept({ a: 'float' }, { b: 'integer' }));
    const second = file.save(count);
    const third = file.save(count);
    await first;
    const afterFirst = await loadFresh();
    await Promise.all([second, third]);

    expect(afterFirst).toEqual(
      new Map([
        ['m', kept({ a: 'float' })],
        ['writes', kept({ write_1: 'integer' })],
      ]),
    );
    expect(third).toBe(second);
    expect(await loadFresh()).toEqual(new Map([...live, ['writes', kept({ write_2: 'integer' })]]));
  });

  it('rejects a save that cannot be written, tells the logger once, and still runs the next one', async () => {
    const state = new Map([['m', kept({ a: 'float' })]]);
    const file = new SchemaFile(dir, logger);
    rmSync(dir, { recursive: true });

    await expect(file.save(() => state)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(errors).toEqual([expect.stringMatching(/^could not save schema\.json: ENOENT/)]);

    mkdirSync(dir);
    await file.save(() => state);

    expect(await loadFresh()).toEqual(state);
    expect(errors).toHaveLength(1);
  });
});
