import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configureHttpServer, SERVER_TIME_HEADER } from './http-server';

/** A server configured as the service's, answering every request with `answer`. */
async function serving(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(answer);
  configureHttpServer(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe(configureHttpServer.name, () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it.each([
    // As the admission control writes its 503: writeHead with the headers in one object.
    [
      'writeHead with headers',
      (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(503, { 'Retry-After': '1', 'Content-Length': '0' });
        res.end();
      },
    ],
    // As Express answers: setHeader, then end() (Node writes the head itself).
    [
      'an implicit head',
      (_req: IncomingMessage, res: ServerResponse) => {
        res.setHeader('Content-Type', 'text/plain');
        res.end('ok');
      },
    ],
  ])('adds X-Server-Time-Ms to an answer written by %s', async (_how, answer) => {
    const started = await serving(answer);
    server = started.server;
    const before = Date.now();
    const reply = await fetch(started.url, { headers: { Connection: 'close' } });
    const after = Date.now();
    await reply.arrayBuffer();
    const time = Number(reply.headers.get(SERVER_TIME_HEADER));
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
  });
});
