import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { gzipSync } from 'node:zlib';
import {
  createDatabase,
  dropDatabase,
  httpRequest,
  influxQuery,
  uniqueDatabase,
  writeLines,
} from './influxd';
import { startV2Proxy, type V2Proxy } from './v2-proxy';

const TOKEN = 'v2-proxy-spec-token';
const ORG = 'spec-org';

function influxUrl(): string {
  const url = process.env.INFLUX_URL;
  if (url === undefined) throw new Error('INFLUX_URL is unset: run through the e2e project');
  return url;
}

describe(startV2Proxy.name, () => {
  let proxy: V2Proxy;
  let db: string;

  const write = (query: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    httpRequest('POST', `${proxy.url}/api/v2/write?${query}`, body, {
      Authorization: `Token ${TOKEN}`,
      ...headers,
    });

  beforeAll(async () => {
    db = uniqueDatabase('v2proxy');
    await createDatabase(influxUrl(), db);
    proxy = await startV2Proxy({ influxUrl: influxUrl(), token: TOKEN, org: ORG });
  });

  afterAll(async () => {
    await proxy.stop();
    await dropDatabase(influxUrl(), db);
  });

  it('stores what the client library writes (its bodies over 1000 bytes are gzipped)', async () => {
    const before = proxy.writes;
    const writeApi = new InfluxDB({ url: proxy.url, token: TOKEN }).getWriteApi(ORG, db, 'ns', {
      maxRetries: 0,
    });
    const points = Array.from({ length: 100 }, (_, i) =>
      new Point('client')
        .tag('run', 'r1')
        .intField('n', i)
        .stringField('pad', 'x'.repeat(20))
        .timestamp(1_000 + i),
    );
    writeApi.writePoints(points);
    await writeApi.close();

    await expect(
      influxQuery(influxUrl(), db, 'SELECT count(n), sum(n) FROM client', 'ns'),
    ).resolves.toEqual([{ time: 0, count: 100, sum: 4950 }]);
    expect(proxy.writes).toBe(before + 1);
  });

  it('passes a gzipped body through and answers 204 with no body', async () => {
    const reply = await write(`org=${ORG}&bucket=${db}&precision=s`, gzipSync('gz v=1.5 7'), {
      'Content-Encoding': 'gzip',
    });

    expect(reply).toMatchObject({ status: 204, body: '' });
    await expect(influxQuery(influxUrl(), db, 'SELECT v FROM gz', 's')).resolves.toEqual([
      { time: 7, v: 1.5 },
    ]);
  });

  it('maps a bucket "db/rp" to database and retention policy', async () => {
    const stored = await write(`org=${ORG}&bucket=${db}/autogen`, 'rp v=1 1');
    const unknown = await write(`org=${ORG}&bucket=${db}/nope`, 'rp v=1 2');

    expect(stored.status).toBe(204);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toEqual({
      code: 'not found',
      message: `bucket "${db}/nope" not found`,
    });
    await expect(influxQuery(influxUrl(), db, 'SELECT v FROM autogen.rp', 'ns')).resolves.toEqual([
      { time: 1, v: 1 },
    ]);
  });

  it('answers 401 without the right token, for writes and queries', async () => {
    const wrong = await write(`org=${ORG}&bucket=${db}`, 'auth v=1', {
      Authorization: 'Token nope',
    });
    const missing = await httpRequest('GET', `${proxy.url}/query?db=${db}&q=SHOW+MEASUREMENTS`);

    for (const reply of [wrong, missing]) {
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.body)).toEqual({
        code: 'unauthorized',
        message: 'unauthorized access',
      });
    }
    await expect(influxQuery(influxUrl(), db, 'SELECT * FROM auth')).resolves.toEqual([]);
  });

  it('answers 404 for another organization', async () => {
    const reply = await write(`org=other&bucket=${db}`, 'org v=1');

    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body)).toEqual({
      code: 'not found',
      message: 'organization name "other" not found',
    });
  });

  it('answers a field type conflict with 400 in the 2.x error shape', async () => {
    await writeLines(influxUrl(), db, 'conflict v=1 1');

    const reply = await write(`org=${ORG}&bucket=${db}`, 'conflict v="text" 2');

    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      code: 'invalid',
      message: expect.stringContaining(
        'field type conflict: input field "v" on measurement "conflict" is type string, already exists as type float',
      ) as unknown,
    });
    await expect(influxQuery(influxUrl(), db, 'SELECT v FROM conflict', 'ns')).resolves.toEqual([
      { time: 1, v: 1 },
    ]);
  });

  it('forwards /query with a valid token and answers /ping and /health', async () => {
    const query = await httpRequest(
      'GET',
      `${proxy.url}/query?db=${db}&q=SHOW+MEASUREMENTS`,
      undefined,
      {
        Authorization: `Token ${TOKEN}`,
      },
    );
    const ping = await httpRequest('HEAD', `${proxy.url}/ping`);
    const health = await httpRequest('GET', `${proxy.url}/health`);

    expect(query.status).toBe(200);
    expect(JSON.parse(query.body)).toMatchObject({
      results: [
        {
          series: [
            { name: 'measurements', values: expect.arrayContaining([['client']]) as unknown },
          ],
        },
      ],
    });
    expect(ping.status).toBe(204);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'pass' });
  });
});
