/**
 * The client library (`src/client`, `stats-service/client`) against the real application and a
 * real InfluxDB: what it sends is checked in InfluxDB directly. The last block runs the built
 * package (`dist/client`, through package.json's `exports`) in child processes: run
 * `npm run build` first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import {
  connect,
  createServer as createTcpServer,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics, StatsError, type AnalyticsOptions } from '../src/client';
import { dropDatabase, freePort, influxQuery, uniqueDatabase } from './support/influxd';
import { DEMO_TOKEN, post, REPO, startService, type RunningService } from './support/service';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A marker stored with one test's events (as the field `run`), so that each test counts its own. */
function marker(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function portOf(svc: RunningService): number {
  return Number(new URL(svc.url).port);
}

/** The event_id of every row stored with this marker (one per stored point, duplicates kept). */
async function storedIds(svc: RunningService, run: string): Promise<string[]> {
  const rows = await influxQuery(
    svc.influxUrl,
    svc.database,
    `SELECT "event_id" FROM "analytics" WHERE "run" = '${run}'`,
  );
  return rows.map((row) => row.event_id as string);
}

async function storedEvent(svc: RunningService, id: string): Promise<Record<string, unknown>> {
  const rows = await influxQuery(
    svc.influxUrl,
    svc.database,
    `SELECT * FROM "analytics" WHERE "event_id" = '${id}'`,
  );
  expect(rows).toHaveLength(1);
  return Object.fromEntries(Object.entries(rows[0]!).filter(([, value]) => value !== null));
}

function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort();
}

/**
 * A TCP relay on a fixed port between the client and a service: down() refuses new connections
 * and cuts the open ones, up() serves again on the same port, towards any service.
 */
class TcpRelay {
  private server: TcpServer | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(targetPort: number): Promise<void> {
    const server = createTcpServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const [socket, peer] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(socket);
        socket.on('error', () => peer.destroy());
        // end(), not destroy(): the last bytes piped from this socket (a service's answer sent
        // just before it closed the connection) must still reach the peer.
        socket.on('close', () => {
          this.sockets.delete(socket);
          peer.end();
        });
        socket.pipe(peer);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Answers already on their way are delivered (a service closed the way a deploy closes it
    // has answered every request it took); whatever is still open after that is cut.
    for (const socket of this.sockets) socket.end();
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

describe('stats-service/client against the service', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService();
  });

  afterAll(async () => {
    await svc.close();
    await dropDatabase(svc.influxUrl, svc.database);
  });

  const options = (extra: AnalyticsOptions = {}): AnalyticsOptions => ({
    url: svc.url,
    accessToken: DEMO_TOKEN,
    ...extra,
  });

  describe('defer: false', () => {
    it('log() resolves to the id the event is stored under in InfluxDB, with the tags', async () => {
      const run = marker('direct');
      Analytics.init(options({ defer: false, tags: { run, service: 'billing' } }));

      const id = await Analytics.stats().log({ event: 'client.login', uid: 'oisin', attempts: 3 });

      // The client's own UUIDv7, which the service keeps: a resend would be stored once.
      expect(id).toMatch(UUID_V7);
      expect(await storedEvent(svc, id)).toEqual({
        time: expect.any(String) as unknown,
        event: 'client.login',
        event_id: id,
        uid: 'oisin',
        attempts: 3,
        run,
        service: 'billing',
      });
    });

    it("a 400 rejects with a StatsError: status 400 and the service's own message", async () => {
      const client = new Analytics(options({ defer: false }));
      const event = { event: 'client.bad', uid: '', 'bad-key\\': 1 };
      const direct = await post(`${svc.url}/log/event`, event);
      expect(direct.status).toBe(400);

      const error = (await client.log(event).catch((e: unknown) => e)) as StatsError;

      expect(error).toBeInstanceOf(StatsError);
      expect({ kind: error.kind, status: error.status, message: error.message }).toEqual({
        kind: 'refused',
        status: 400,
        message: (direct.body as { message: string }).message,
      });
      expect(error.message).toMatch(/bad-key\\: must not end with a backslash/);
    });

    it('a token the service does not know rejects with status 401', async () => {
      const client = new Analytics(options({ defer: false, accessToken: 'not-a-token' }));
      await expect(client.log({ event: 'client.x', uid: '' })).rejects.toMatchObject({
        kind: 'refused',
        status: 401,
      });
    });

    it('ping() resolves to the liveness answer', async () => {
      const client = new Analytics(options());
      await expect(client.ping()).resolves.toMatchObject({
        status: 'ok',
        name: 'stats-service',
        version: (
          JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }
        ).version,
      });
    });

    it('systemStartup() stores server.start with uid system-<hostname>, hostname and ip', async () => {
      const client = new Analytics(options({ defer: false }));

      const id = await client.systemStartup();

      const ip = Object.values(networkInterfaces())
        .flat()
        .find((address) => address?.family === 'IPv4' && !address.internal)?.address;
      expect(await storedEvent(svc, id)).toEqual({
        time: expect.any(String) as unknown,
        event: 'server.start',
        event_id: id,
        uid: `system-${hostname()}`,
        hostname: hostname(),
        ...(ip === undefined ? {} : { ip }),
      });
    });
  });

  describe('defer: true', () => {
    it('a burst of 2,000 events, then flush(): every one stored, exactly once', async () => {
      const run = marker('burst');
      const errors: StatsError[] = [];
      const client = new Analytics(options({ tags: { run }, onError: (e) => errors.push(e) }));

      const ids = await Promise.all(
        Array.from({ length: 2000 }, (_, n) =>
          client.log({ event: 'client.burst', uid: `u${n % 7}`, n }),
        ),
      );
      await client.flush();

      expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
      // UUIDv7: made in this order, they sort in this order.
      expect([...ids].sort()).toEqual(ids);
      const stored = await storedIds(svc, run);
      expect(stored).toHaveLength(2000);
      expect(sorted(stored)).toEqual(sorted(ids));
      expect({ errors, dropped: client.dropped, pending: client.pending }).toEqual({
        errors: [],
        dropped: 0,
        pending: 0,
      });
      await expect(client.shutdown()).resolves.toEqual([]);
    });

    it('reports an event the service rejects inside a batch to onError, and stores the others', async () => {
      const run = marker('rejected');
      const reported: Array<{ error: StatsError; ids: unknown[] }> = [];
      const client = new Analytics(
        options({
          tags: { run },
          onError: (error, events) => reported.push({ error, ids: events.map((e) => e.event_id) }),
        }),
      );

      const good = await client.log({ event: 'client.ok', uid: 'a' });
      const bad = await client.log({ event: 'client.bad', uid: 'b', 'bad-key\\': 1 });
      const alsoGood = await client.log({ event: 'client.ok', uid: 'c' });
      await client.flush();

      expect(sorted(await storedIds(svc, run))).toEqual(sorted([good, alsoGood]));
      expect(reported).toHaveLength(1);
      expect(reported[0]!.ids).toEqual([bad]);
      expect(reported[0]!.error).toMatchObject({ kind: 'rejected', status: 200 });
      expect(reported[0]!.error.message).toMatch(/bad-key\\: must not end with a backslash/);
      await client.shutdown();
    });

    it('the service going away and coming back mid-burst: after flush() every event is stored exactly once', async () => {
      // Service A is closed the way a deploy closes it (requests in flight are answered), the
      // relay then refuses connections, and service B (same database and spool) takes over on
      // the same address. Nothing reached a service without its answer reaching the client, so
      // no event may be missing and none stored twice.
      const run = marker('outage');
      const env = {
        INFLUX_DATABASE: uniqueDatabase('client'),
        SPOOL_DIR: mkdtempSync(join(tmpdir(), 'client-spool-')),
      };
      let service = await startService(env);
      const relay = new TcpRelay(await freePort());
      await relay.up(portOf(service));
      const errors: StatsError[] = [];
      const client = new Analytics({
        url: relay.url,
        accessToken: DEMO_TOKEN,
        tags: { run },
        maxBatchEvents: 50,
        flushIntervalMs: 10,
        retryBaseMs: 20,
        retryMaxMs: 200,
        onError: (e) => errors.push(e),
      });
      const ids: string[] = [];
      const logSome = async (count: number) => {
        for (let n = 0; n < count; n += 1) {
          ids.push(await client.log({ event: 'client.outage', uid: `u${n % 5}`, n }));
          if (n % 25 === 24) await sleep(5);
        }
      };
      let pendingWhileAway = 0;
      try {
        await logSome(600);
        const outage = (async () => {
          await service.close();
          await relay.down();
          await sleep(500);
          pendingWhileAway = client.pending;
          service = await startService(env);
          await relay.up(portOf(service));
        })();
        await logSome(600);
        await outage;
        await logSome(300);
        await client.flush();

        const stored = await storedIds(service, run);
        expect(pendingWhileAway).toBeGreaterThan(0);
        expect(stored).toHaveLength(1500);
        expect(sorted(stored)).toEqual(sorted(ids));
        expect({ errors, dropped: client.dropped }).toEqual({ errors: [], dropped: 0 });
      } finally {
        await client.shutdown();
        await relay.down();
        await service.close();
        await dropDatabase(service.influxUrl, env.INFLUX_DATABASE);
        rmSync(env.SPOOL_DIR, { recursive: true, force: true });
      }
    });

    it('connections cut while requests are in flight: no event lost (at least once)', async () => {
      // A cut between the service's answer and the client loses the answer, not the event: the
      // client sends it again, so that one event may be stored twice under its one event_id.
      const run = marker('cut');
      const relay = new TcpRelay(await freePort());
      await relay.up(portOf(svc));
      const client = new Analytics({
        url: relay.url,
        accessToken: DEMO_TOKEN,
        tags: { run },
        maxBatchEvents: 50,
        flushIntervalMs: 5,
        retryBaseMs: 20,
        retryMaxMs: 200,
      });
      const ids: string[] = [];
      try {
        for (let n = 0; n < 1000; n += 1) {
          ids.push(await client.log({ event: 'client.cut', uid: '', n }));
          if (n % 50 === 49) {
            await sleep(2);
            if (n % 200 === 149) {
              await relay.down();
              await relay.up(portOf(svc));
            }
          }
        }
        await client.flush();

        const stored = await storedIds(svc, run);
        expect(sorted(new Set(stored))).toEqual(sorted(ids));
        expect(stored.length).toBeGreaterThanOrEqual(1000);
      } finally {
        await client.shutdown();
        await relay.down();
      }
    });

    it('shutdown() with the service unreachable gives up at shutdownTimeoutMs and returns what is left', async () => {
      const client = new Analytics({
        url: `http://127.0.0.1:${await freePort()}`,
        accessToken: DEMO_TOKEN,
        flushIntervalMs: 0,
        retryBaseMs: 50,
        shutdownTimeoutMs: 300,
      });
      const ids = [
        await client.log({ event: 'client.lost', uid: '' }),
        await client.log({ event: 'client.lost', uid: '' }),
      ];
      const started = Date.now();

      const left = await client.shutdown();

      expect(left.map((event) => event.event_id)).toEqual(ids);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });

  it('disabled: true sends nothing at all, in either mode', async () => {
    let requests = 0;
    const server = createHttpServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('"entry_1"');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      for (const defer of [true, false]) {
        const client = new Analytics({ url, accessToken: DEMO_TOKEN, disabled: true, defer });
        await client.log({ event: 'client.disabled', uid: '' });
        await client.systemStartup();
        await client.ping();
        await client.flush();
        await client.shutdown();
      }
      expect(requests).toBe(0);
      // The same calls, enabled, do reach that server: it would have seen them.
      const control = new Analytics({ url, accessToken: DEMO_TOKEN, defer: false });
      await control.log({ event: 'client.enabled', uid: '' });
      expect(requests).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('the built package (dist/client) in a process of its own', () => {
    const CHILD_TIMEOUT_MS = 20_000;

    beforeAll(() => {
      if (!existsSync(join(REPO, 'dist', 'client', 'index.js'))) {
        throw new Error(
          'dist/client/index.js is missing: run `npm run build` before the e2e tests',
        );
      }
    });

    interface Exit {
      code: number | null;
      signal: NodeJS.Signals | null;
      stdout: string;
      stderr: string;
      ms: number;
    }

    /** Runs `node <args>` in the repo (where `stats-service/client` resolves to itself). */
    function node(args: string[], onStdout?: (text: string, kill: () => void) => void) {
      return new Promise<Exit>((resolve, reject) => {
        const started = Date.now();
        const child = spawn(process.execPath, args, {
          cwd: REPO,
          env: { PATH: process.env.PATH ?? '' },
        });
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          onStdout?.(stdout, () => child.kill('SIGTERM'));
        });
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
        });
      });
    }

    /** A CommonJS script that inits a client with `config` and logs one event marked `run`. */
    function logOne(config: AnalyticsOptions, run: string, after = ''): string {
      return [
        "const { Analytics } = require('stats-service/client');",
        `Analytics.init(${JSON.stringify(config)});`,
        `Analytics.stats().log({ event: 'client.child', uid: '', run: ${JSON.stringify(run)} });`,
        after,
      ].join('\n');
    }

    it('require() loads only dist/client (no NestJS, no dependency), and import works too', async () => {
      const cjs = await node([
        '-e',
        [
          "const client = require('stats-service/client');",
          'process.stdout.write(JSON.stringify({',
          '  exports: Object.keys(client).sort(),',
          '  loaded: Object.keys(require.cache),',
          '}));',
        ].join('\n'),
      ]);
      expect(cjs.stderr).toBe('');
      const { exports, loaded } = JSON.parse(cjs.stdout) as { exports: string[]; loaded: string[] };
      expect(exports).toEqual(['Analytics', 'StatsError']);
      expect(loaded.length).toBeGreaterThan(0);
      expect(loaded.filter((file) => !file.startsWith(join(REPO, 'dist', 'client')))).toEqual([]);

      const esm = await node([
        '--input-type=module',
        '-e',
        [
          "import { Analytics, StatsError } from 'stats-service/client';",
          'process.stdout.write(JSON.stringify([typeof Analytics.init, typeof StatsError]));',
        ].join('\n'),
      ]);
      expect(esm.stderr).toBe('');
      expect(esm.stdout).toBe('["function","function"]');
    });

    it('TypeScript finds the types through the exports map (module node16)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'client-types-'));
      try {
        const modules = join(dir, 'node_modules');
        mkdirSync(modules);
        symlinkSync(REPO, join(modules, 'stats-service'));
        writeFileSync(
          join(dir, 'consumer.ts'),
          [
            "import { Analytics, StatsError, type StatsEvent } from 'stats-service/client';",
            "const client = Analytics.init({ url: 'http://localhost:20080', accessToken: 't' });",
            "export const id: Promise<string> = client.log({ event: 'e', uid: 'u' });",
            'export const left: Promise<StatsEvent[]> = client.shutdown();',
            'export const status = (e: StatsError): number => e.status;',
            '// @ts-expect-error uid is required: the types are real, not any',
            "void client.log({ event: 'e' });",
          ].join('\n'),
        );
        const tsc = spawnSync(
          process.execPath,
          [
            join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
            '--noEmit',
            '--strict',
            '--module',
            'node16',
            '--moduleResolution',
            'node16',
            '--target',
            'es2022',
            '--types',
            'node',
            '--typeRoots',
            join(REPO, 'node_modules', '@types'),
            join(dir, 'consumer.ts'),
          ],
          { cwd: dir, encoding: 'utf8' },
        );
        expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({
          status: 0,
          output: '',
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a deferred client does not keep the process alive: it exits by itself, its queue unsent', async () => {
      const run = marker('unref');
      const exit = await node([
        '-e',
        logOne({ url: svc.url, accessToken: DEMO_TOKEN, flushIntervalMs: 60_000 }, run),
      ]);
      expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
      expect(exit.ms).toBeLessThan(10_000);
      expect(await storedIds(svc, run)).toEqual([]);
    });

    it('nor does it while retrying an unreachable service', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const exit = await node([
        '-e',
        logOne(
          { url, accessToken: DEMO_TOKEN, flushIntervalMs: 0, retryBaseMs: 60_000 },
          'none',
          'setTimeout(() => {}, 300);',
        ),
      ]);
      expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
      expect(exit.ms).toBeLessThan(10_000);
    });

    it('flushOnExit: the queue is sent when the event loop runs empty (beforeExit)', async () => {
      const run = marker('before_exit');
      const exit = await node([
        '-e',
        logOne(
          { url: svc.url, accessToken: DEMO_TOKEN, flushIntervalMs: 60_000, flushOnExit: true },
          run,
        ),
      ]);
      expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
      expect(await storedIds(svc, run)).toHaveLength(1);
    });

    it('flushOnExit: on SIGTERM the queue is sent, then the process ends by the signal', async () => {
      const run = marker('sigterm');
      const script = logOne(
        { url: svc.url, accessToken: DEMO_TOKEN, flushIntervalMs: 60_000, flushOnExit: true },
        run,
        "setInterval(() => {}, 1000); process.stdout.write('ready\\n');",
      );
      let signalled = false;
      const exit = await node(['-e', script], (stdout, kill) => {
        if (!signalled && stdout.includes('ready')) {
          signalled = true;
          kill();
        }
      });
      expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({
        code: null,
        signal: 'SIGTERM',
        stderr: '',
      });
      expect(await storedIds(svc, run)).toHaveLength(1);
    });
  });
});
