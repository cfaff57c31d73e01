import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { createServer, IncomingMessage, OutgoingHttpHeaders, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { parseHttpConfig } from './http.config';
import { JsonBodyGuard } from './json-body.guard';

const MAX_BODY_BYTES = 1024;
const EVENT = { event: 'click', uid: 'u-1' };

/** What the guard did with one request: `nextCalled` is whether it let the handler run. */
interface Outcome {
  nextCalled: boolean;
  body?: unknown;
  error?: unknown;
}

/** A sentinel set on every request before the guard runs, to see whether it is replaced. */
const UNTOUCHED = Symbol('untouched');

describe(JsonBodyGuard.name, () => {
  const guard = new JsonBodyGuard(parseHttpConfig({ MAX_BODY_BYTES: String(MAX_BODY_BYTES) }));
  let server: Server;
  let port: number;
  let settle: (outcome: Outcome) => void = () => undefined;

  // A real HTTP server, so that the guard reads a real IncomingMessage stream.
  beforeAll(async () => {
    server = createServer((req: IncomingMessage & { body?: unknown }, res) => {
      req.body = UNTOUCHED;
      const context = new ExecutionContextHost([req, res]);
      void Promise.resolve()
        .then(() => guard.canActivate(context))
        .then(
          (allowed): Outcome => ({ nextCalled: allowed, body: req.body }),
          (error: unknown): Outcome => ({ nextCalled: false, error }),
        )
        .then((outcome) => {
          settle(outcome);
          res.setHeader('Connection', 'close');
          res.end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  /** Sends one request and resolves to what the guard made of it. */
  async function send(
    body: string | Buffer,
    headers: OutgoingHttpHeaders = {},
    method = 'POST',
  ): Promise<Outcome> {
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method, path: '/log/event', headers, agent: false },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    return outcome;
  }

  /** The HttpException the guard failed a request with. */
  function thrown(outcome: Outcome): HttpException {
    expect(outcome.nextCalled).toBe(false);
    if (!(outcome.error instanceof HttpException)) {
      throw new Error(`expected an HttpException, got ${String(outcome.error)}`);
    }
    return outcome.error;
  }

  describe('JSON bodies', () => {
    it.each<[string, OutgoingHttpHeaders]>([
      ['application/json', { 'Content-Type': 'application/json' }],
      ['no Content-Type', {}],
      ['curl -d’s form type', { 'Content-Type': 'application/x-www-form-urlencoded' }],
      ['text/plain', { 'Content-Type': 'text/plain' }],
      ['an unrelated type', { 'Content-Type': 'image/png' }],
    ])('parses an object sent with %s', async (_case, headers) => {
      await expect(send(JSON.stringify(EVENT), headers)).resolves.toEqual({
        nextCalled: true,
        body: EVENT,
      });
    });

    it('parses an array', async () => {
      const points = [{ measurement: 'm', tags: { a: 'b' }, fields: { v: 1.5 } }];
      await expect(send(JSON.stringify(points))).resolves.toEqual({
        nextCalled: true,
        body: points,
      });
    });

    it('reads the body as UTF-8', async () => {
      await expect(
        send(Buffer.from('{"event":"café ✓","uid":""}', 'utf8'), {
          'Content-Type': 'application/json',
        }),
      ).resolves.toEqual({ nextCalled: true, body: { event: 'café ✓', uid: '' } });
    });

    it('accepts surrounding whitespace', async () => {
      await expect(send(`\n  ${JSON.stringify(EVENT)}  \n`)).resolves.toEqual({
        nextCalled: true,
        body: EVENT,
      });
    });
  });

  describe('bad bodies', () => {
    it.each([
      ['empty', ''],
      ['blank', ' \r\n\t '],
    ])('refuses a body that is %s with 400', async (_case, body) => {
      const error = thrown(await send(body));
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.getStatus()).toBe(400);
      expect(error.message).toBe('the body must be a JSON object or array; it is empty');
    });

    it.each([
      ['truncated JSON', '{"event":"click","uid":"sk_live_do-not-echo"'],
      ['a form body', 'event=click&uid=sk_live_do-not-echo'],
      ['single quotes', "{'event': 'click', 'uid': 'sk_live_do-not-echo'}"],
    ])('refuses %s with 400 without quoting the body', async (_case, body) => {
      const error = thrown(await send(body));
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.getStatus()).toBe(400);
      expect(error.message).toBe('the body is not valid JSON');
      expect(JSON.stringify(error.getResponse())).not.toContain('sk_live_do-not-echo');
    });

    it('refuses a body over MAX_BODY_BYTES with 413', async () => {
      const error = thrown(
        await send(JSON.stringify({ ...EVENT, pad: 'x'.repeat(MAX_BODY_BYTES) })),
      );
      expect(error).toBeInstanceOf(PayloadTooLargeException);
      expect(error.getStatus()).toBe(413);
      expect(error.message).toBe(
        'the body is larger than 1024 bytes (MAX_BODY_BYTES), after decompression',
      );
    });

    it('refuses a charset it cannot decode with 415', async () => {
      const error = thrown(
        await send(JSON.stringify(EVENT), { 'Content-Type': 'application/json; charset=klingon' }),
      );
      expect(error.getStatus()).toBe(415);
      expect(error.getResponse()).toEqual({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: 'the charset of the body is not supported; send UTF-8',
      });
    });
  });

  describe('compressed bodies', () => {
    it.each([
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
      ['GZIP', gzipSync],
    ])('inflates a %s body', async (encoding, compress) => {
      await expect(
        send(compress(JSON.stringify(EVENT)), { 'Content-Encoding': encoding }),
      ).resolves.toEqual({ nextCalled: true, body: EVENT });
    });

    it('accepts identity as no compression', async () => {
      await expect(
        send(JSON.stringify(EVENT), { 'Content-Encoding': 'identity' }),
      ).resolves.toEqual({ nextCalled: true, body: EVENT });
    });

    it('refuses with 413 a small gzip body that inflates past MAX_BODY_BYTES', async () => {
      const bomb = gzipSync(Buffer.alloc(100 * MAX_BODY_BYTES));
      expect(bomb.length).toBeLessThan(MAX_BODY_BYTES);
      const error = thrown(await send(bomb, { 'Content-Encoding': 'gzip' }));
      expect(error).toBeInstanceOf(PayloadTooLargeException);
      expect(error.getStatus()).toBe(413);
      expect(error.message).toContain('MAX_BODY_BYTES');
      expect(error.message).toBe(
        'the body is larger than 1024 bytes (MAX_BODY_BYTES), after decompression',
      );
    });

    it('refuses a corrupt gzip body with 400', async () => {
      const error = thrown(await send('{"not":"gzip"}', { 'Content-Encoding': 'gzip' }));
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.message).toBe('the body could not be read (truncated or corrupt)');
    });

    it('refuses a truncated gzip body with 400', async () => {
      const whole = gzipSync(JSON.stringify(EVENT));
      const error = thrown(
        await send(whole.subarray(0, whole.length - 12), { 'Content-Encoding': 'gzip' }),
      );
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.message).toBe('the body could not be read (truncated or corrupt)');
    });

    it.each(['compress', 'x-custom', 'gzip, deflate'])(
      'refuses Content-Encoding %j with 415',
      async (encoding) => {
        const error = thrown(await send(JSON.stringify(EVENT), { 'Content-Encoding': encoding }));
        expect(error.getStatus()).toBe(415);
        expect(error.getResponse()).toEqual({
          statusCode: 415,
          error: 'Unsupported Media Type',
          message: 'Content-Encoding must be gzip, deflate, br or identity',
        });
      },
    );
  });

  describe('other methods', () => {
    it.each(['PUT', 'PATCH', 'DELETE'])(
      'passes a %s through with its body unread',
      async (method) => {
        await expect(send('not json at all', {}, method)).resolves.toEqual({
          nextCalled: true,
          body: UNTOUCHED,
        });
      },
    );

    it.each(['GET', 'HEAD'])('passes a %s through', async (method) => {
      await expect(send('', {}, method)).resolves.toEqual({ nextCalled: true, body: UNTOUCHED });
    });
  });
});
