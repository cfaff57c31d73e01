/**
 * What Node refuses before any route runs (a malformed request, a bad Content-Length, headers
 * over 16 KiB) is answered like every other refusal: a complete HTTP/1.1 answer with a JSON body
 * and `Connection: close`. And a huge key gets a small 400. Raw sockets against the real
 * application.
 */
import { connect } from 'node:net';
import { AUTH, post, serviceFor } from './support/service';

const svc = serviceFor();

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Writes `bytes` on a new connection and parses the one answer that comes back. */
function raw(bytes: string | Buffer): Promise<RawReply> {
  const { port } = new URL(svc().url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      try {
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0),
          headers,
          body: JSON.parse(body) as unknown,
        });
      } catch {
        reject(new Error(`not an HTTP answer with a JSON body: ${JSON.stringify(text)}`));
      }
    });
    socket.write(bytes);
  });
}

describe("Node's own refusals", () => {
  it.each<[string, string, number, string, string]>([
    [
      'a Content-Length that is not a number',
      'POST /log/event HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
      400,
      'Bad Request',
      'the request is malformed (request line, headers or Content-Length)',
    ],
    [
      'two different Content-Lengths',
      'POST /log/event HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      400,
      'Bad Request',
      'the request is malformed (request line, headers or Content-Length)',
    ],
    [
      'a malformed request line',
      'NOT A REQUEST\r\n\r\n',
      400,
      'Bad Request',
      'the request is malformed (request line, headers or Content-Length)',
    ],
    [
      'a header line without a colon',
      'GET /ping HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      400,
      'Bad Request',
      'the request is malformed (request line, headers or Content-Length)',
    ],
    [
      'a 100 KB header',
      `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`,
      431,
      'Request Header Fields Too Large',
      'the request headers are larger than 16 KiB',
    ],
  ])('answers %s with a JSON refusal and closes', async (_case, bytes, status, error, message) => {
    const reply = await raw(bytes);

    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
    expect(reply.headers.connection).toBe('close');
    expect(reply.body).toEqual({ statusCode: status, error, message });
  });

  it('still answers a well-formed request on a new connection afterwards', async () => {
    await raw('NOT A REQUEST\r\n\r\n');
    const reply = await raw('GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'ok' });
  });
});

describe('a 1 MB key', () => {
  const big = serviceFor({ MAX_BODY_BYTES: String(4 * 1024 * 1024) });

  it('gets a small 400 that quotes 64 characters of it', async () => {
    const key = `${'k'.repeat(64)}${'x'.repeat(1024 * 1024 - 64)}`;
    const reply = await post(`${big().url}/log/event`, `{"event":"e","uid":"u","${key}":1}`, {
      ...AUTH,
      'Content-Type': 'application/json',
    });

    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ key: `${'k'.repeat(64)}…` });
    expect(JSON.stringify(reply.body).length).toBeLessThan(500);
  });
});
