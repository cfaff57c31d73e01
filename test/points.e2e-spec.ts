/**
 * POST /log/event with an array of points (generation 1.1, docs/API.md, "Points", "How events and points are stored"), against the real
 * application and a real InfluxDB. What was stored is always read back from InfluxDB directly.
 */
import { httpRequest, influxQuery, writeLines, type Epoch } from './support/influxd';
import { AUTH, post, serviceFor, type RunningService } from './support/service';

const SCALAR_RULE = 'must be a string, a finite number, a boolean or null';

function query(svc: RunningService, q: string, epoch?: Epoch) {
  return influxQuery(svc.influxUrl, svc.database, q, epoch);
}

/** `SHOW FIELD KEYS` as { key: type }. */
async function fieldTypes(
  svc: RunningService,
  measurement: string,
): Promise<Record<string, unknown>> {
  const rows = await query(svc, `SHOW FIELD KEYS FROM "${measurement}"`);
  const types: Record<string, unknown> = {};
  for (const row of rows) types[String(row.fieldKey)] = row.fieldType;
  return types;
}

async function measurements(svc: RunningService): Promise<unknown[]> {
  return (await query(svc, 'SHOW MEASUREMENTS')).map((row) => row.name);
}

/** Every stored point of a measurement, oldest first, nanosecond times. */
function points(svc: RunningService, measurement: string) {
  return query(svc, `SELECT * FROM "${measurement}"`, 'ns');
}

/** The JSON body of a 400 Refusal for element `index` of a points body. */
function refusal(index: number, key: string, rule: string, extra: Record<string, unknown> = {}) {
  return {
    statusCode: 400,
    error: 'Bad Request',
    message: key === '' ? `[${index}]: ${rule}` : `[${index}].${key}: ${rule}`,
    index,
    key,
    rule,
    ...extra,
  };
}

function conflict(
  index: number,
  measurement: string,
  field: string,
  stored: string,
  incoming: string,
) {
  return refusal(
    index,
    `fields.${field}`,
    `field type conflict: "${field}" of measurement "${measurement}" is stored as ${stored}, this value is ${incoming}`,
    { stored, incoming },
  );
}

describe('POST /log/event with an array of points', () => {
  const svc = serviceFor();

  it.each(['/log/event', '/log/event/'])(
    'answers %s with 200 and the JSON string "OK"',
    async (path) => {
      const body = JSON.stringify([{ measurement: 'pts_route', tags: { path }, fields: { v: 1 } }]);
      const reply = await httpRequest('POST', `${svc().url}${path}`, body, {
        'Content-Type': 'application/json',
        ...AUTH,
      });

      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
      expect(reply.body).toBe('"OK"');
      await expect(
        query(svc(), `SELECT "v" FROM "pts_route" WHERE "path" = '${path}'`),
      ).resolves.toEqual([{ time: expect.any(String) as unknown, v: 1 }]);
    },
  );

  it('stores tag values as strings and keeps field types, dropping null tags and fields', async () => {
    const reply = await post(`${svc().url}/log/event`, [
      {
        measurement: 'pts_types',
        tags: { beta: true, build: 1814, host: 'web-1', gone: null },
        fields: { label: 'x', ratio: 1.5, whole: 3, ok: false, nothing: null },
      },
    ]);

    expect(reply).toMatchObject({ status: 200, body: 'OK' });
    await expect(query(svc(), 'SHOW TAG KEYS FROM "pts_types"')).resolves.toEqual([
      { tagKey: 'beta' },
      { tagKey: 'build' },
      { tagKey: 'host' },
    ]);
    await expect(fieldTypes(svc(), 'pts_types')).resolves.toEqual({
      label: 'string',
      ok: 'boolean',
      ratio: 'float',
      whole: 'float',
    });
    await expect(points(svc(), 'pts_types')).resolves.toEqual([
      {
        time: expect.any(Number) as unknown,
        beta: 'True',
        build: '1814',
        host: 'web-1',
        label: 'x',
        ratio: 1.5,
        whole: 3,
        ok: false,
      },
    ]);
  });

  it('accepts tags null or absent', async () => {
    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'pts_untagged', tags: null, fields: { v: 1 } },
      { measurement: 'pts_untagged', fields: { v: 2 } },
    ]);

    expect(reply).toMatchObject({ status: 200, body: 'OK' });
    const stored = await points(svc(), 'pts_untagged');
    expect(stored.map((row) => row.v)).toEqual([1, 2]);
  });

  it('stores every point of one array at distinct timestamps, same measurement and tags', async () => {
    const reply = await post(
      `${svc().url}/log/event`,
      [1, 2, 3, 4, 5].map((v) => ({ measurement: 'pts_multi', tags: { k: 'a' }, fields: { v } })),
    );

    expect(reply).toMatchObject({ status: 200, body: 'OK' });
    const stored = await points(svc(), 'pts_multi');
    expect(stored.map((row) => row.v)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(stored.map((row) => row.time)).size).toBe(5);
  });

  it('stores points of several measurements from one array', async () => {
    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'pts_a', fields: { v: 'a' } },
      { measurement: 'pts.b-2', fields: { v: true } },
    ]);

    expect(reply).toMatchObject({ status: 200, body: 'OK' });
    await expect(points(svc(), 'pts_a')).resolves.toEqual([
      { time: expect.any(Number) as unknown, v: 'a' },
    ]);
    await expect(points(svc(), 'pts.b-2')).resolves.toEqual([
      { time: expect.any(Number) as unknown, v: true },
    ]);
  });

  it('refuses a field whose stored type differs, naming the index, and stores none of the array', async () => {
    await expect(
      post(`${svc().url}/log/event`, [{ measurement: 'pts_typed', fields: { x: 'text' } }]),
    ).resolves.toMatchObject({ status: 200 });

    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'pts_typed', fields: { y: 'fine' } },
      { measurement: 'pts_typed', fields: { x: 2 } },
    ]);

    expect(reply).toMatchObject({
      status: 400,
      body: conflict(1, 'pts_typed', 'x', 'string', 'float'),
    });
    await expect(points(svc(), 'pts_typed')).resolves.toEqual([
      { time: expect.any(Number) as unknown, x: 'text' },
    ]);
  });

  // Regression: InfluxDB 1.x keeps the valid points of a refused write ("partial write"); the
  // service now deletes them again, so a refused array stores nothing (docs/API.md, "Points").
  it('stores none of the array when another writer made a field conflict after the types were cached', async () => {
    await expect(
      post(`${svc().url}/log/event`, [{ measurement: 'pts_ext', fields: { seed: 1 } }]),
    ).resolves.toMatchObject({ status: 200 });
    const external = `${BigInt(Date.now()) * 1_000_000n}`;
    await writeLines(svc().influxUrl, svc().database, `pts_ext,by=other n=1i ${external}`);

    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'pts_ext', tags: { by: 'service' }, fields: { ok: 'kept?' } },
      { measurement: 'pts_ext', tags: { by: 'service' }, fields: { n: 1.5 } },
    ]);

    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(conflict(1, 'pts_ext', 'n', 'integer', 'float'));
    await expect(query(svc(), `SELECT * FROM "pts_ext" WHERE "by" = 'service'`)).resolves.toEqual(
      [],
    );
  });
});

describe('POST /log/event points refusals', () => {
  const svc = serviceFor();

  it.each<[string, unknown, object]>([
    [
      'a measurement with a space',
      { measurement: 'a b', fields: { v: 1 } },
      refusal(0, 'measurement', 'must match ^[A-Za-z0-9_.-]{1,128}$'),
    ],
    [
      'a measurement of 129 characters',
      { measurement: 'm'.repeat(129), fields: { v: 1 } },
      refusal(0, 'measurement', 'must match ^[A-Za-z0-9_.-]{1,128}$'),
    ],
    [
      'an empty measurement',
      { measurement: '', fields: { v: 1 } },
      refusal(0, 'measurement', 'must match ^[A-Za-z0-9_.-]{1,128}$'),
    ],
    [
      'a missing measurement',
      { fields: { v: 1 } },
      refusal(0, 'measurement', 'must match ^[A-Za-z0-9_.-]{1,128}$'),
    ],
    [
      'a numeric measurement',
      { measurement: 5, fields: { v: 1 } },
      refusal(0, 'measurement', 'must match ^[A-Za-z0-9_.-]{1,128}$'),
    ],
    [
      'tags that are a string',
      { measurement: 'm', tags: 'host=a', fields: { v: 1 } },
      refusal(0, 'tags', 'must be an object or null'),
    ],
    [
      'tags that are an array',
      { measurement: 'm', tags: ['host'], fields: { v: 1 } },
      refusal(0, 'tags', 'must be an object or null'),
    ],
    [
      'a tag value that is an object',
      { measurement: 'm', tags: { host: { name: 'a' } }, fields: { v: 1 } },
      refusal(0, 'tags.host', SCALAR_RULE),
    ],
    [
      'a tag value that is an array',
      { measurement: 'm', tags: { host: ['a'] }, fields: { v: 1 } },
      refusal(0, 'tags.host', SCALAR_RULE),
    ],
    [
      'missing fields',
      { measurement: 'm', tags: { host: 'a' } },
      refusal(0, 'fields', 'must be an object with at least one non-null value'),
    ],
    [
      'fields that are all null',
      { measurement: 'm', fields: { a: null, b: null } },
      refusal(0, 'fields', 'must have at least one non-null value'),
    ],
    [
      'empty fields',
      { measurement: 'm', fields: {} },
      refusal(0, 'fields', 'must have at least one non-null value'),
    ],
    [
      'a field value that is an object',
      { measurement: 'm', fields: { v: { x: 1 } } },
      refusal(0, 'fields.v', SCALAR_RULE),
    ],
    [
      'a field value that is an array',
      { measurement: 'm', fields: { ok: 1, v: [1] } },
      refusal(0, 'fields.v', SCALAR_RULE),
    ],
    [
      'an element that is not an object',
      'm v=1',
      refusal(0, '', 'must be an object {measurement, tags, fields}'),
    ],
  ])(
    'refuses %s with 400 naming index and key, and stores nothing',
    async (_case, element, expected) => {
      const reply = await post(`${svc().url}/log/event`, [element]);

      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json\b/);
      expect(reply.body).toEqual(expected);
      await expect(measurements(svc())).resolves.toEqual([]);
    },
  );

  it('refuses a number JSON.parse turns into an infinity (1e400)', async () => {
    const reply = await post(
      `${svc().url}/log/event`,
      '[{"measurement": "m", "fields": {"ok": 1, "v": 1e400}}]',
    );

    expect(reply).toMatchObject({
      status: 400,
      body: refusal(0, 'fields.v', 'must be a finite number (it is beyond the range of a double)'),
    });
    await expect(measurements(svc())).resolves.toEqual([]);
  });

  it('answers "OK" to an empty array and stores nothing, as the original did', async () => {
    const reply = await post(`${svc().url}/log/event`, []);

    expect(reply).toMatchObject({ status: 200, body: 'OK' });
    await expect(measurements(svc())).resolves.toEqual([]);
  });

  it('refuses the whole array for a bad element at index 2, and stores none of it', async () => {
    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'pts_aon', tags: { k: 'a' }, fields: { v: 1 } },
      { measurement: 'pts_aon', tags: { k: 'b' }, fields: { v: 2 } },
      { measurement: 'pts_aon', tags: { k: 'c' }, fields: { time: 3 } },
      { measurement: 'pts_aon', tags: { k: 'd' }, fields: { v: 4 } },
    ]);

    expect(reply).toMatchObject({
      status: 400,
      body: refusal(2, 'fields.time', 'is reserved: InfluxDB refuses a key named time'),
    });
    await expect(measurements(svc())).resolves.toEqual([]);
  });

  it('refuses a type conflict between two elements of one array, naming the second', async () => {
    const reply = await post(`${svc().url}/log/event`, [
      { measurement: 'pts_pair', fields: { x: 'text' } },
      { measurement: 'pts_pair', fields: { x: 1 } },
    ]);

    expect(reply).toMatchObject({
      status: 400,
      body: conflict(1, 'pts_pair', 'x', 'string', 'float'),
    });
    await expect(measurements(svc())).resolves.toEqual([]);
  });
});
