/**
 * GET /metrics end to end: Prometheus text without a token, every answer counted by method,
 * route pattern and status (401s from the guard and 404s included), and a JSON 404 when
 * METRICS_ENABLED=false.
 */
import { dropDatabase, httpRequest } from './support/influxd';
import { AUTH, get, post, startService, type RunningService } from './support/service';

type Labels = Record<string, string>;

/** The value of one sample of the exposition, 0 when the series does not exist yet. */
function sample(exposition: string, name: string, labels: Labels): number {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of exposition.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    if (match[2]!.split(',').sort().join(',') === wanted) return Number(match[3]);
  }
  return 0;
}

describe('GET /metrics', () => {
  let svc: RunningService;

  async function scrape(): Promise<string> {
    const reply = await httpRequest('GET', `${svc.url}/metrics`);
    expect(reply.status).toBe(200);
    return reply.body;
  }

  async function requestsCounted(labels: Labels): Promise<number> {
    return sample(await scrape(), 'stats_http_requests_total', labels);
  }

  beforeAll(async () => {
    svc = await startService();
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('answers Prometheus text without a token', async () => {
    const reply = await get(`${svc.url}/metrics`, {});

    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = reply.body as string;
    for (const name of [
      'stats_http_requests_total',
      'stats_http_request_duration_seconds',
      'stats_events_total',
      'stats_influx_write_duration_seconds',
      'stats_spool_bytes',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(body).toContain(`# TYPE ${name} `);
    }
  });

  it('counts an accepted POST /log/event exactly once, under its route pattern', async () => {
    const labels = { method: 'POST', route: '/log/event', status: '200' };
    const before = await requestsCounted(labels);

    const reply = await post(`${svc.url}/log/event`, { event: 'metrics.test', uid: 'u-1' });

    expect(reply.status).toBe(200);
    const exposition = await scrape();
    expect(sample(exposition, 'stats_http_requests_total', labels)).toBe(before + 1);
    expect(sample(exposition, 'stats_http_request_duration_seconds_count', labels)).toBe(
      before + 1,
    );
  });

  it('counts a request the guard refused with its 401', async () => {
    const labels = { method: 'POST', route: '/log/event', status: '401' };
    const before = await requestsCounted(labels);

    const reply = await post(`${svc.url}/log/event`, { event: 'metrics.test', uid: 'u-1' }, {});

    expect(reply.status).toBe(401);
    expect(await requestsCounted(labels)).toBe(before + 1);
  });

  it('labels a route with a parameter by its pattern, never by the URL', async () => {
    const id = 'entry_0123456789abcdef0123456789abcdef';
    const labels = { method: 'GET', route: '/log/event/:id', status: '404' };
    const before = await requestsCounted(labels);

    expect((await get(`${svc.url}/log/event/${id}`, AUTH)).status).toBe(404);

    const exposition = await scrape();
    expect(sample(exposition, 'stats_http_requests_total', labels)).toBe(before + 1);
    expect(exposition).not.toContain(id);
  });

  it('labels a path with a trailing slash by the same pattern', async () => {
    const labels = { method: 'POST', route: '/log/event', status: '200' };
    const before = await requestsCounted(labels);

    expect(
      (await post(`${svc.url}/log/event/`, { event: 'metrics.test', uid: 'u-2' })).status,
    ).toBe(200);

    expect(await requestsCounted(labels)).toBe(before + 1);
  });

  it('labels unknown paths "unmatched", never by the URL', async () => {
    const labels = { method: 'GET', route: 'unmatched', status: '404' };
    const before = await requestsCounted(labels);

    expect((await get(`${svc.url}/no/such/route-7f3a`, AUTH)).status).toBe(404);

    const exposition = await scrape();
    expect(sample(exposition, 'stats_http_requests_total', labels)).toBe(before + 1);
    expect(exposition).not.toContain('route-7f3a');
  });

  it('counts a body refused before the route ran (413) under the route', async () => {
    const labels = { method: 'POST', route: '/log/event', status: '413' };
    const before = await requestsCounted(labels);

    const reply = await post(`${svc.url}/log/event`, {
      event: 'metrics.test',
      uid: 'u-3',
      pad: 'x'.repeat(2 * 1024 * 1024),
    });

    expect(reply.status).toBe(413);
    expect(await requestsCounted(labels)).toBe(before + 1);
  });
});

describe('GET /metrics with METRICS_ENABLED=false', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService({ METRICS_ENABLED: 'false' });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('answers a JSON 404', async () => {
    const reply = await get(`${svc.url}/metrics`, {});

    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'metrics are off (METRICS_ENABLED)',
    });
  });
});
