/**
 * HealthListener starts its thread from `health-worker.js` beside itself. Under ts-jest the
 * listener runs from src/health, where there is no such file, so node:worker_threads is the real
 * module with one change: a Worker asked for src/health/health-worker.js runs
 * src/health/health-worker.ts through ts-node instead (a real thread, a real socket). The built
 * dist/health/*.js are not used: they would test the last build, not this source (a change to
 * health-listener.ts would go unseen until the next `npm run build`).
 *
 * The main loop's stall is made by jest's fake Date alone (every timer stays real): the heartbeat
 * then holds a time 11 s in the past while the thread reads the real clock, so the 503 needs no
 * 10 s wait.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { ConfigError } from '../env';
import { parseHttpConfig, type HttpConfig } from '../http/http.config';
import { HealthListener, LIVENESS_STALL_MS } from './health-listener';
import { LIVENESS } from './liveness';

/** The health threads started so far (not the test's own client threads). */
const mockHealthThreads: string[] = [];

jest.mock('node:worker_threads', () => {
  const actual = jest.requireActual<typeof import('node:worker_threads')>('node:worker_threads');
  const { join } = jest.requireActual<typeof import('node:path')>('node:path');
  const built = join(__dirname, 'health-worker.js');
  const source = join(__dirname, 'health-worker.ts');
  const tsconfig = join(__dirname, '..', '..', 'tsconfig.json');
  class SourceWorker extends actual.Worker {
    constructor(file: string | URL, options?: WorkerOptions) {
      if (file !== built) {
        super(file, options);
        return;
      }
      mockHealthThreads.push(file);
      const code =
        `require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(tsconfig)} });` +
        `require(${JSON.stringify(source)});`;
      super(code, { ...options, eval: true });
    }
  }
  return { ...actual, Worker: SourceWorker };
});

/** Every timer real, only Date.now() fixed at `now`. */
const fakeDateOnly = (now: number) =>
  jest.useFakeTimers({
    now,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** The Error `promise` rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => new Error('resolved, but a rejection was expected'),
    (error: unknown) => ({ error }),
  );
  if (outcome instanceof Error) throw outcome;
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function ask(port: number, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe(HealthListener.name, () => {
  let listener: HealthListener | undefined;
  let port: number;

  /** A started listener on 127.0.0.1:`port`, or as `config` says. */
  const listening = async (config: Partial<Pick<HttpConfig, 'host' | 'healthPort'>> = {}) => {
    listener = new HealthListener({
      ...parseHttpConfig({}),
      host: '127.0.0.1',
      healthPort: port,
      ...config,
    });
    await listener.listen();
    return listener;
  };

  beforeEach(async () => (port = await freePort()));
  afterEach(async () => {
    await listener?.onApplicationShutdown();
    listener = undefined;
    jest.useRealTimers();
  });

  it('answers GET /ping on HEALTH_PORT with the liveness body of PORT, never cached', async () => {
    await listening();

    const answer = await ask(port, 'GET', '/ping');

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(LIVENESS);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['x-server-time-ms']).toMatch(/^\d+$/);
  });

  it.each(['/ping/', '/ping?probe=1', '/ping/?probe=1'])(
    'answers GET %s as /ping',
    async (path) => {
      await listening();

      const answer = await ask(port, 'GET', path);

      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual(LIVENESS);
    },
  );

  it('answers HEAD /ping with the headers of GET and no body', async () => {
    await listening();

    const answer = await ask(port, 'HEAD', '/ping');

    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe(
      String(Buffer.byteLength(JSON.stringify(LIVENESS))),
    );
    expect(answer.body).toBe('');
  });

  it.each([
    ['POST', '/ping'],
    ['DELETE', '/ping'],
    ['GET', '/'],
    ['GET', '/ready'],
    ['GET', '/pings'],
    ['GET', '/ping/more'],
  ])('answers %s %s 404 in JSON, naming what it serves', async (method, path) => {
    await listening();

    const answer = await ask(port, method, path);

    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'HEALTH_PORT answers GET /ping (and /ping/) only',
    });
  });

  it('answers while the main thread is blocked', async () => {
    await listening();
    const done = new Int32Array(new SharedArrayBuffer(4));
    const client = new Worker(
      `const { workerData } = require('node:worker_threads');
       const done = new Int32Array(workerData.done);
       const settle = (status) => { Atomics.store(done, 0, status); Atomics.notify(done, 0); };
       require('node:http')
         .get({ host: '127.0.0.1', port: workerData.port, path: '/ping', agent: false }, (res) => {
           res.resume();
           settle(res.statusCode);
         })
         .on('error', () => settle(-1));`,
      { eval: true, workerData: { port, done: done.buffer } },
    );

    // Blocks this thread (no turn of its loop) until the client has its answer.
    const woken = Atomics.wait(done, 0, 0, 10_000);
    await client.terminate();

    expect(woken).toBe('ok');
    expect(Atomics.load(done, 0)).toBe(200);
  });

  it('answers /ping 503 once the main loop has not turned for more than LIVENESS_STALL_MS', async () => {
    fakeDateOnly(Date.now() - LIVENESS_STALL_MS - 1000);
    await listening();

    const get = await ask(port, 'GET', '/ping');
    const head = await ask(port, 'HEAD', '/ping');

    expect(get.status).toBe(503);
    expect(JSON.parse(get.body)).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'the event loop has not turned for more than 10 s',
    });
    expect(head.status).toBe(503);
    expect(head.body).toBe('');
  });

  it('still answers 200 after a turn of half LIVENESS_STALL_MS', async () => {
    fakeDateOnly(Date.now() - LIVENESS_STALL_MS / 2);
    await listening();

    const answer = await ask(port, 'GET', '/ping');

    expect(answer.status).toBe(200);
  });

  it('answers 200 again once the main loop beats again', async () => {
    fakeDateOnly(Date.now() - LIVENESS_STALL_MS - 1000);
    await listening();
    expect((await ask(port, 'GET', '/ping')).status).toBe(503);

    jest.useRealTimers();
    // The next beat (every 500 ms) stores the real time: 20 tries, 100 ms apart.
    let status = 503;
    for (let tries = 0; status === 503 && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await ask(port, 'GET', '/ping')).status;
    }

    expect(status).toBe(200);
  });

  it('rejects a taken HEALTH_PORT with a ConfigError that names the variable, not the port', async () => {
    const taken = createServer().listen(port, '127.0.0.1');
    await once(taken, 'listening');

    try {
      const error = await rejection(listening());

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(
        'HEALTH_PORT must be free on HOST; it is already in use (EADDRINUSE)',
      );
    } finally {
      taken.close();
      await once(taken, 'close');
    }
  });

  it('rejects a HOST that is not an address of this machine with a ConfigError', async () => {
    const error = await rejection(listening({ host: '192.0.2.1' }));

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('HOST must be an address of this machine (EADDRNOTAVAIL)');
  });

  it('starts no thread when HEALTH_PORT is unset', async () => {
    const before = mockHealthThreads.length;

    await listening({ healthPort: undefined });

    expect(mockHealthThreads.length).toBe(before);
  });

  it('frees HEALTH_PORT at shutdown, for another listener to take', async () => {
    const first = await listening();

    await first.onApplicationShutdown();

    await expect(ask(port, 'GET', '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await listening();
    expect((await ask(port, 'GET', '/ping')).status).toBe(200);
  });
});
