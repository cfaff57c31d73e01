/**
 * A throwaway InfluxDB 1.x (`influxd`) for e2e tests, plus small HTTP helpers that let a spec
 * check what was really stored. Only node: built-ins, so the harness works before `src/` builds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface InfluxdOptions {
  /** Keep data here (created if missing, never removed). Default: a fresh temp dir, removed by stop(). */
  dataDir?: string;
  /** HTTP port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Extra environment for influxd; its `INFLUXDB_<SECTION>_<KEY>` variables override the config. */
  env?: Record<string, string>;
}

export interface InfluxdHandle {
  /** `http://127.0.0.1:<port>`, unchanged across down()/up(). */
  readonly url: string;
  readonly port: number;
  /** The current process (changes after up()). */
  readonly pid: number;
  readonly dataDir: string;
  /** Stops the process (SIGTERM, SIGKILL after 10 s) and removes dataDir if startInfluxd made it. */
  stop(): Promise<void>;
  /** Stops the process but keeps data and port, for fault tests: InfluxDB goes away... */
  down(): Promise<void>;
  /** ...and comes back on the same port with the same data. */
  up(): Promise<void>;
}

/** The influxd 1.x config the harness runs with: quiet, no usage reporting, loopback only. */
export function influxdConfig(dataDir: string, httpPort: number, rpcPort: number): string {
  // JSON string syntax is valid TOML basic-string syntax, so paths need no further escaping.
  const dir = (name: string) => JSON.stringify(join(dataDir, name));
  return [
    // Upstream 1.x reads `reporting-disabled`; Debian's build renamed it to `reporting-enabled`.
    // influxd ignores unknown keys, so both are set.
    'reporting-disabled = true',
    'reporting-enabled = false',
    // The backup/restore RPC port: its default 8088 would collide between parallel servers.
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '',
    '[meta]',
    `  dir = ${dir('meta')}`,
    '',
    '[data]',
    `  dir = ${dir('data')}`,
    `  wal-dir = ${dir('wal')}`,
    '  query-log-enabled = false',
    '',
    '[http]',
    `  bind-address = "127.0.0.1:${httpPort}"`,
    '  log-enabled = false',
    '',
    '[monitor]',
    '  store-enabled = false',
    '',
    '[continuous_queries]',
    '  enabled = false',
    '',
    '[logging]',
    '  level = "warn"',
    '  suppress-logo = true',
    '',
  ].join('\n');
}

/** Path of the influxd binary: the first on PATH, else /usr/bin/influxd. */
export function findInfluxd(): string {
  const candidates = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'influxd'));
  for (const candidate of [...candidates, '/usr/bin/influxd']) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here, try the next one
    }
  }
  throw new Error('influxd not found: apt-get install -y influxdb');
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`influxd: port ${port} on 127.0.0.1 is not available (${code ?? 'error'})`);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startInfluxd(opts: InfluxdOptions = {}): Promise<InfluxdHandle> {
  const binary = findInfluxd();
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'influxd-')));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const configPath = join(dataDir, 'influxdb.conf');
  const logPath = join(dataDir, 'influxd.log');
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    await assertPortFree(port);
    let rpcPort = await freePort();
    while (rpcPort === port) rpcPort = await freePort();
    await mkdir(dataDir, { recursive: true });
    await writeFile(configPath, influxdConfig(dataDir, port, rpcPort));
    const log = openSync(logPath, 'a');
    try {
      child = spawn(binary, ['-config', configPath], {
        stdio: ['ignore', log, log],
        env: { ...process.env, ...opts.env },
      });
    } finally {
      closeSync(log);
    }
    // Never keep a test runner alive just because a server is running; stop() holds a timer.
    child.unref();
    try {
      await waitForPing(url, child);
    } catch (error) {
      await terminate(child);
      child = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`influxd did not start on ${url}: ${reason}\n${await logTail(logPath)}`);
    }
  };

  const halt = async (): Promise<void> => {
    if (child !== undefined) await terminate(child);
    child = undefined;
  };

  const killOnExit = () => child?.kill('SIGKILL');
  try {
    await launch();
  } catch (error) {
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  process.on('exit', killOnExit);

  return {
    url,
    port,
    dataDir,
    get pid() {
      return child?.pid ?? 0;
    },
    async stop() {
      stopped = true;
      await halt();
      process.off('exit', killOnExit);
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
    down: halt,
    async up() {
      if (stopped) throw new Error('influxd handle was stopped; start a new one');
      if (child === undefined) await launch();
    },
  };
}

/** SIGTERM, wait for exit, SIGKILL after STOP_TIMEOUT_MS. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `exited with ${signal ?? `code ${code}`}`));
  child.once('error', (error) => (exit = `could not run: ${error.message}`));
  for (;;) {
    if (exit !== undefined) throw new Error(`influxd ${exit}`);
    try {
      const { status } = await httpRequest('GET', `${url}/ping`);
      // Someone else answering on this port would fool us; our child must still be alive.
      if (status === 204 && exit === undefined && child.exitCode === null) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no 204 from /ping within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function logTail(logPath: string): Promise<string> {
  try {
    const lines = (await readFile(logPath, 'utf8')).trimEnd().split('\n').slice(-20);
    return `--- last lines of influxd.log ---\n${lines.join('\n')}`;
  } catch {
    return `(no log at ${logPath})`;
  }
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request without keep-alive (no sockets left open to keep Jest alive). */
export function httpRequest(
  method: string,
  url: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** InfluxDB's /query JSON (1.x shape). */
export interface InfluxQueryResponse {
  error?: string;
  results?: Array<{
    statement_id?: number;
    error?: string;
    series?: Array<{
      name?: string;
      tags?: Record<string, string>;
      columns: string[];
      values?: unknown[][];
    }>;
  }>;
}

export type Epoch = 'ns' | 'u' | 'ms' | 's' | 'm' | 'h';

/**
 * GET /query's answer as InfluxDB wrote it: JSON.parse would round integers beyond ±2^53, so
 * specs about exact integers read the digits from the text.
 */
export async function influxQueryText(url: string, db: string, q: string): Promise<string> {
  const reply = await httpRequest(
    'GET',
    `${url}/query?${new URLSearchParams({ db, q }).toString()}`,
  );
  if (reply.status !== 200) throw new Error(`/query answered ${reply.status}: ${reply.body}`);
  return reply.body;
}

/** GET /query; the parsed JSON whatever the status (statement errors are left to the caller). */
export async function influxQueryRaw(
  url: string,
  db: string,
  q: string,
  epoch?: Epoch,
): Promise<InfluxQueryResponse> {
  const params = new URLSearchParams({ db, q });
  if (epoch !== undefined) params.set('epoch', epoch);
  const reply = await httpRequest('GET', `${url}/query?${params.toString()}`);
  try {
    return JSON.parse(reply.body) as InfluxQueryResponse;
  } catch {
    throw new Error(`/query answered ${reply.status} without JSON: ${reply.body.slice(0, 200)}`);
  }
}

/**
 * Rows of the first statement's result: one object per value row, keyed by column, with the
 * series' tags (GROUP BY) merged in. Throws when InfluxDB reports an error.
 */
export async function influxQuery(
  url: string,
  db: string,
  q: string,
  epoch?: Epoch,
): Promise<Array<Record<string, unknown>>> {
  const json = await influxQueryRaw(url, db, q, epoch);
  const failure = json.error ?? json.results?.find((result) => result.error)?.error;
  if (failure !== undefined) throw new Error(`InfluxDB query failed: ${failure} (query: ${q})`);
  const rows: Array<Record<string, unknown>> = [];
  for (const series of json.results?.[0]?.series ?? []) {
    for (const values of series.values ?? []) {
      const row: Record<string, unknown> = { ...series.tags };
      series.columns.forEach((column, i) => (row[column] = values[i]));
      rows.push(row);
    }
  }
  return rows;
}

/** POST /query for statements that change things (CREATE, DROP). */
async function influxCommand(url: string, q: string): Promise<void> {
  const reply = await httpRequest('POST', `${url}/query`, new URLSearchParams({ q }).toString(), {
    'Content-Type': 'application/x-www-form-urlencoded',
  });
  let json: InfluxQueryResponse = {};
  try {
    json = JSON.parse(reply.body) as InfluxQueryResponse;
  } catch {
    // reported below with the status
  }
  const failure = json.error ?? json.results?.find((result) => result.error)?.error;
  if (reply.status !== 200 || failure !== undefined) {
    throw new Error(`InfluxDB refused ${q}: ${reply.status} ${failure ?? reply.body}`);
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function createDatabase(url: string, name: string): Promise<void> {
  return influxCommand(url, `CREATE DATABASE ${quoteIdentifier(name)}`);
}

export function dropDatabase(url: string, name: string): Promise<void> {
  return influxCommand(url, `DROP DATABASE ${quoteIdentifier(name)}`);
}

/** POST /write of line protocol, straight to InfluxDB (seeding data a spec starts from). */
export async function writeLines(
  url: string,
  db: string,
  lines: string | string[],
  precision: Epoch = 'ns',
): Promise<void> {
  const body = Array.isArray(lines) ? lines.join('\n') : lines;
  const params = new URLSearchParams({ db, precision });
  const reply = await httpRequest('POST', `${url}/write?${params.toString()}`, body);
  if (reply.status !== 204)
    throw new Error(`InfluxDB /write answered ${reply.status}: ${reply.body}`);
}

/** A fresh database name, valid as an unquoted InfluxQL identifier: `<prefix>_<pid>_<hex>`. */
export function uniqueDatabase(prefix = 'e2e'): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) {
    throw new Error(`database prefix must match [A-Za-z_][A-Za-z0-9_]*: ${prefix}`);
  }
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
