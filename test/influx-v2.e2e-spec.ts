/**
 * The v2 write path (README "Configuration": INFLUX_TOKEN + INFLUX_BUCKET select `/api/v2/write`).
 *
 * No InfluxDB 2 server can be installed here (Debian ships InfluxDB 1.6 only), so these tests run
 * the service against test/support/v2-proxy.ts: it maps `POST /api/v2/write?org=&bucket=` to the
 * real influxd's `POST /write?db=`, forwards `/query`, and checks `Authorization: Token <token>`
 * on both. InfluxDB 1.6 has no buckets: the bucket is a database the test creates first.
 * What was stored is always read from the real influxd directly, not through the service.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, dropDatabase, influxQuery, writeLines } from './support/influxd';
import { get, post, startService, type RunningService } from './support/service';
import { waitForStored } from './support/spool';
import { startV2Proxy, type V2Proxy } from './support/v2-proxy';
import { unique } from './support/ids';

const TOKEN = `v2-e2e-token-${randomBytes(8).toString('hex')}`;
const ORG = 'stats-org';

function influxUrl(): string {
  const url = process.env.INFLUX_URL;
  if (!url) throw new Error('INFLUX_URL is not set: run the e2e project through jest');
  return url;
}

/**
 * The service in v2 mode: INFLUX_API unset, token, org and bucket set, INFLUX_DATABASE unset.
 */
function startV2Service(
  proxy: V2Proxy,
  bucket: string,
  token = TOKEN,
  env: Record<string, string> = {},
) {
  return startService({
    INFLUX_URL: proxy.url,
    INFLUX_TOKEN: token,
    INFLUX_ORG: ORG,
    INFLUX_BUCKET: bucket,
    // startService picks a database of its own; blank is unset, so reads use the bucket's name.
    INFLUX_DATABASE: '',
    ...env,
  });
}

describe('InfluxDB v2 write API (through the 1.x proxy)', () => {
  let proxy: V2Proxy;
  let bucket: string;
  let svc: RunningService;

  const stored = (marker: string) =>
    influxQuery(
      influxUrl(),
      bucket,
      `SELECT * FROM "analytics" WHERE "marker" = '${marker}'`,
      'ns',
    );

  beforeAll(async () => {
    bucket = unique('v2bucket');
    await createDatabase(influxUrl(), bucket);
    proxy = await startV2Proxy({ influxUrl: influxUrl(), token: TOKEN, org: ORG });
    svc = await startV2Service(proxy, bucket);
  });

  afterAll(async () => {
    await svc?.close();
    await proxy?.stop();
    if (bucket) await dropDatabase(influxUrl(), bucket);
  });

  it('reports v2 mode as ready', async () => {
    const reply = await get(`${svc.url}/ready`, {});

    expect(reply).toMatchObject({
      status: 200,
      body: { status: 'ok', info: { influxdb: { status: 'up', mode: 'v2' } } },
    });
  });

  it('stores an event through /api/v2/write and answers its id', async () => {
    const marker = unique('stored');
    const writesBefore = proxy.writes;

    const reply = await post(`${svc.url}/log/event`, {
      event: 'v2_event',
      uid: 'u1',
      marker,
      count: 3,
      ok: true,
    });

    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/^entry_[0-9a-f]{32}$/);
    expect(proxy.writes).toBe(writesBefore + 1);
    await expect(stored(marker)).resolves.toEqual([
      {
        time: expect.any(Number) as unknown,
        event: 'v2_event',
        event_id: reply.body,
        uid: 'u1',
        marker,
        count: 3,
        ok: true,
      },
    ]);
  });

  it('reads the event back through /query with the Token header', async () => {
    const marker = unique('read');
    const posted = await post(`${svc.url}/log/event`, { event: 'v2_read', uid: 'u2', marker });
    expect(posted.status).toBe(200);

    const reply = await get(`${svc.url}/log/event/${posted.body as string}`);

    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-event-status')).toBe('stored');
    expect(reply.body).toEqual({
      status: 'stored',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) as unknown,
      event: 'v2_read',
      event_id: posted.body,
      uid: 'u2',
      marker,
    });
  });

  it('refuses a type conflict it knows of with 400, and writes nothing', async () => {
    const field = unique('n');
    const first = await post(`${svc.url}/log/event`, {
      event: 'v2_conflict',
      uid: 'u',
      [field]: 1.5,
    });
    expect(first.status).toBe(200);
    const marker = unique('conflict');
    const writesBefore = proxy.writes;

    const reply = await post(`${svc.url}/log/event`, {
      event: 'v2_conflict',
      uid: 'u',
      marker,
      [field]: 'text',
    });

    const rule =
      `field type conflict: "${field}" of measurement "analytics" is stored as float, ` +
      'this value is string';
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: `${field}: ${rule}`,
      key: field,
      rule,
      stored: 'float',
      incoming: 'string',
    });
    expect(proxy.writes).toBe(writesBefore);
    await expect(stored(marker)).resolves.toEqual([]);
  });

  it('answers 400 when InfluxDB reports a conflict the service did not know of', async () => {
    // Load the measurement's field types, then let another writer create a string field.
    const warm = await post(`${svc.url}/log/event`, { event: 'v2_other', uid: 'u' });
    expect(warm.status).toBe(200);
    const field = unique('late');
    await writeLines(influxUrl(), bucket, `analytics,event=other_writer ${field}="text"`);
    const marker = unique('late');

    const reply = await post(`${svc.url}/log/event`, {
      event: 'v2_late',
      uid: 'u',
      marker,
      [field]: 2.5,
    });

    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      key: field,
      stored: 'string',
      incoming: 'float',
    });
    await expect(stored(marker)).resolves.toEqual([]);
  });

  it('stores the next event after a refused write (nothing is left in the write buffer)', async () => {
    const field = unique('again');
    await writeLines(influxUrl(), bucket, `analytics,event=other_writer ${field}=true`);
    const refused = await post(`${svc.url}/log/event`, {
      event: 'v2_refused',
      uid: 'u',
      [field]: 'text',
    });
    expect(refused.status).toBe(400);
    const marker = unique('after');

    const reply = await post(`${svc.url}/log/event`, { event: 'v2_after', uid: 'u', marker });

    expect(reply.status).toBe(200);
    const rows = await stored(marker);
    expect(rows).toEqual([expect.objectContaining({ event_id: reply.body, marker })]);
    await expect(
      influxQuery(
        influxUrl(),
        bucket,
        `SELECT count("${field}") FROM "analytics" WHERE "event" = 'v2_refused'`,
      ),
    ).resolves.toEqual([]);
  });
});

describe('InfluxDB v2 write API with a wrong INFLUX_TOKEN', () => {
  let proxy: V2Proxy;
  let bucket: string;
  let spoolDir: string;
  let svc: RunningService | undefined;
  /** Ids answered 202: each must be in InfluxDB once a service with the right token drains. */
  const acknowledged: string[] = [];

  beforeAll(async () => {
    bucket = unique('v2wrong');
    await createDatabase(influxUrl(), bucket);
    proxy = await startV2Proxy({ influxUrl: influxUrl(), token: TOKEN, org: ORG });
    spoolDir = mkdtempSync(join(tmpdir(), 'stats-spool-v2-'));
    svc = await startV2Service(proxy, bucket, `${TOKEN}-wrong`, { SPOOL_DIR: spoolDir });
  });

  afterAll(async () => {
    await svc?.close();
    await proxy?.stop();
    if (bucket) await dropDatabase(influxUrl(), bucket);
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  });

  // 401/403 mean our credentials are wrong: an outage for the caller, not bad data. The event
  // waits in the spool (202) until InfluxDB takes it.
  it('answers 202 with the id, writes nothing, and serves the event as queued', async () => {
    const marker = unique('wrong');

    const reply = await post(`${svc!.url}/log/event`, { event: 'v2_wrong', uid: 'u', marker });

    expect({
      status: reply.status,
      retryAfter: reply.headers.get('retry-after'),
      contentType: reply.headers.get('content-type'),
      body: reply.body,
    }).toEqual({
      status: 202,
      retryAfter: null,
      contentType: expect.stringMatching(/^application\/json/) as unknown,
      body: expect.stringMatching(/^entry_[0-9a-f]{32}$/) as unknown,
    });
    acknowledged.push(reply.body as string);
    expect(proxy.writes).toBe(0);
    await expect(
      influxQuery(influxUrl(), bucket, `SELECT * FROM "analytics" WHERE "marker" = '${marker}'`),
    ).resolves.toEqual([]);

    const read = await get(`${svc!.url}/log/event/${reply.body as string}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('x-event-status')).toBe('queued');
    expect(read.body).toEqual({
      status: 'queued',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) as unknown,
      event: 'v2_wrong',
      event_id: reply.body,
      uid: 'u',
      marker,
    });
  });

  it('does not tell the client the token', async () => {
    const reply = await post(`${svc!.url}/log/event`, { event: 'v2_wrong', uid: 'u' });

    expect(reply.status).toBe(202);
    acknowledged.push(reply.body as string);
    expect(JSON.stringify(reply.body)).not.toContain(TOKEN);
    const read = await get(`${svc!.url}/log/event/${reply.body as string}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(TOKEN);
  });

  it('stores every acknowledged event once a service on the same spool has the right token', async () => {
    expect(acknowledged).toHaveLength(2);
    await svc!.close();
    svc = undefined;

    svc = await startV2Service(proxy, bucket, TOKEN, { SPOOL_DIR: spoolDir });

    await expect(waitForStored(influxUrl(), bucket, acknowledged)).resolves.toEqual(
      [...acknowledged].sort(),
    );
    expect(proxy.writes).toBeGreaterThan(0);
  });
});
