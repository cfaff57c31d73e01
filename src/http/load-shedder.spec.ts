import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsService } from '../metrics/metrics.service';
import type { EventLoopLag } from './event-loop-lag';
import { parseHttpConfig } from './http.config';
import { LoadShedder } from './load-shedder';

/** A loop as busy as the test says. */
class FakeLag {
  ms = 0;
  utilization = 0;
  start(): void {}
  stop(): void {}
}

describe(LoadShedder.name, () => {
  const lag = new FakeLag();
  const metrics = new MetricsService();
  const shedder = new LoadShedder(
    parseHttpConfig({
      SHED_EVENT_LOOP_DELAY_MS: '100',
      SHED_EVENT_LOOP_UTILIZATION: '80',
      SHED_MAX_IN_FLIGHT: '2',
    }),
    metrics,
    lag as unknown as EventLoopLag,
  );
  /** Requests the handler holds open; answered by `release`. */
  const held: Array<() => void> = [];
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((req, res) =>
      shedder.admit(req, res, () => {
        held.push(() => res.end('handled'));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    lag.ms = 0;
    lag.utilization = 0;
  });

  function send(method: string, path: string, to = port) {
    return new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: to, method, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }),
        );
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{"event":"e","uid":"u"}' : undefined);
    });
  }

  async function release(): Promise<void> {
    while (held.length > 0) held.shift()!();
    while (shedder.writesInFlight > 0) await new Promise((resolve) => setImmediate(resolve));
  }

  it('admits writes while the loop keeps up', async () => {
    const answer = send('POST', '/log/event');
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await release();
    await expect(answer).resolves.toMatchObject({ status: 200, body: 'handled' });
  });

  it.each([
    ['delay', () => (lag.ms = 101), 'SHED_EVENT_LOOP_DELAY_MS'],
    ['utilization', () => (lag.utilization = 0.81), 'SHED_EVENT_LOOP_UTILIZATION'],
  ])(
    'sheds a write with 503, Retry-After and the limit named, past the %s',
    async (_case, busy, limit) => {
      busy();
      const answer = await send('POST', '/log/event');
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('5');
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      expect(body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', retryAfter: 5 });
      expect(body.message).toContain(limit);
      expect(held).toHaveLength(0);
    },
  );

  it('sheds the write past SHED_MAX_IN_FLIGHT, and admits again once one is done', async () => {
    const first = send('POST', '/log/event');
    const second = send('POST', '/log/events');
    while (held.length < 2) await new Promise((resolve) => setImmediate(resolve));
    const third = await send('POST', '/log/event');
    expect(third.status).toBe(503);
    expect(third.body).toContain('SHED_MAX_IN_FLIGHT');
    await release();
    await expect(first).resolves.toMatchObject({ status: 200 });
    await expect(second).resolves.toMatchObject({ status: 200 });
  });

  it.each([
    ['GET', '/ping'],
    ['GET', '/ready'],
    ['GET', '/metrics'],
    ['GET', '/log/event/entry_1'],
    ['POST', '/elsewhere'],
  ])('never sheds %s %s', async (method, path) => {
    lag.ms = 10_000;
    lag.utilization = 1;
    const answer = send(method, path);
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await release();
    await expect(answer).resolves.toMatchObject({ status: 200 });
  });

  it('counts what it sheds by reason', async () => {
    const before = await metrics.render();
    lag.utilization = 0.9;
    await send('POST', '/LOG/EVENT/');
    const after = await metrics.render();
    const count = (text: string) =>
      Number(/stats_http_shed_total\{reason="event_loop_utilization"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(count(after.body) - count(before.body)).toBe(1);
  });

  it('refuses in front of the listeners a server already has, and hands them the rest', async () => {
    const seen: string[] = [];
    const front = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('handled');
    });
    shedder.attach(front);
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const frontPort = (front.address() as AddressInfo).port;
    try {
      lag.ms = 10_000;
      const refused = await send('POST', '/log/event', frontPort);
      const read = await send('GET', '/ping', frontPort);
      expect(refused).toMatchObject({ status: 503, retryAfter: '5' });
      expect(read).toMatchObject({ status: 200, body: 'handled' });
      expect(seen).toEqual(['GET /ping']);
    } finally {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
