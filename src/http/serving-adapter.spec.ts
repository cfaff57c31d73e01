import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Express } from 'express';
import { STARTING_RETRY_AFTER_SECONDS } from './http-server';
import { ServingAdapter } from './serving-adapter';

/** One client connection that sends a request and resolves to the whole answer to it. */
async function connection(port: number) {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  let received = '';
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: string) => {
    received += chunk;
    waiting?.();
  });
  socket.on('close', () => waiting?.());
  /** The first complete answer in `received` (headers and Content-Length's body), taken off. */
  const take = (): string | undefined => {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const length = Number(/^content-length: *(\d+)/im.exec(received.slice(0, end))?.[1] ?? 0);
    if (received.length < end + 4 + length) return undefined;
    const answer = received.slice(0, end + 4 + length);
    received = received.slice(answer.length);
    return answer;
  };
  return {
    async ask(request: string): Promise<string> {
      socket.write(request);
      for (;;) {
        const answer = take();
        if (answer !== undefined) return answer;
        if (socket.destroyed) throw new Error(`the connection closed after: ${received}`);
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    close: () => socket.destroy(),
  };
}

describe('ServingAdapter', () => {
  let adapter: ServingAdapter;
  let server: Server;
  let port: number;

  beforeEach(async () => {
    adapter = new ServingAdapter();
    adapter.initHttpServer();
    adapter.getInstance<Express>().get('/ping', (_req, res) => {
      res.json({ served: true });
    });
    server = adapter.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers 503 with Retry-After until startServing, and no route runs', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/ping`);

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe(String(STARTING_RETRY_AFTER_SECONDS));
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(/^the service is starting .*nothing was stored/) as unknown,
      retryAfter: STARTING_RETRY_AFTER_SECONDS,
    });
  });

  it('lets requests through to Express once startServing is called', async () => {
    adapter.startServing();

    const response = await fetch(`http://127.0.0.1:${port}/ping`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ served: true });
  });

  it('keeps the connection of a refused write: its body is discarded and the next request is served', async () => {
    const body = '{"event":"login"}';
    const client = await connection(port);
    try {
      const refused = await client.ask(
        'POST /log/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      adapter.startServing();
      const served = await client.ask('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n');

      expect(refused).toMatch(/^HTTP\/1\.1 503 /);
      expect(refused).not.toMatch(/^connection: close/im);
      expect(served).toMatch(/^HTTP\/1\.1 200 /);
      expect(served).toContain('{"served":true}');
    } finally {
      client.close();
    }
  });
});
