/**
 * `npm run bench`: one run, one machine, one table. Starts its own InfluxDB, the production
 * build of the service and a bare Express app, drives each with autocannon in a separate
 * process, and prints the service next to its two ceilings: the framework (bare Express) and
 * the storage (InfluxDB's own write rates). Numbers drift from machine to machine and run to
 * run; the ratios within one run are what to compare. Also checks that every event the
 * service acknowledged is in InfluxDB.
 *
 *   BENCH_SECONDS (10)  length of each load run
 *   BENCH_CONNECTIONS (32)  concurrent connections
 *   BENCH_CPU_PROF (unset)  a directory: each service load then runs in its own service process
 *     under `node --cpu-prof`, its profile in <dir>/<load>/ (read with test/bench/top-frames.ts)
 *   BENCH_ONLY=read  only the read-back table (read-back.ts), not the load runs
 *
 * Then the read-back table: GET /log/event/{id} with 1,000 and with 1,000,000 events stored.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, freePort, influxQuery, startInfluxd } from '../support/influxd';
import { DEMO_TOKEN, REPO } from '../support/service';
import { benchReadBack, READ_BACK_INFLUXD_ENV } from './read-back';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const EVENT = { event: 'user.login', uid: 'user-1234', plan: 'pro', amount: 12.5, ok: true };
const BATCH = 100;
/** What the client library sends (src/client, `batchSize`). */
const CLIENT_BATCH = 500;
const INFLUX_BATCH = 5000;
const CPU_PROF = process.env.BENCH_CPU_PROF;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  non2xx: number;
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY !== 'read') await benchWrites();
  await readBack();
}

async function benchWrites(): Promise<void> {
  const influx = await startInfluxd();
  const children: ChildProcess[] = [];
  try {
    const rows: Array<[string, string, string, string, string]> = [];
    const row = (name: string, load: Load, unit: number, unitName: string) =>
      rows.push([
        name,
        `${Math.round(load.rps * unit).toLocaleString('en')} ${unitName}/s`,
        load.p50.toFixed(1),
        load.p99.toFixed(1),
        `${load.ok} ok, ${load.non2xx} non-2xx, ${load.errors} errors`,
      ]);

    // 1. The framework's ceiling.
    const expressPort = await freePort();
    children.push(
      await startChild(
        'node',
        [join(__dirname, 'bare-express.js')],
        { PORT: String(expressPort) },
        'listening',
      ),
    );
    const express = await autocannon(
      `http://127.0.0.1:${expressPort}/log/event`,
      JSON.stringify(EVENT),
      {},
    );
    row('bare Express, 1 event/request', express, 1, 'req');

    // 2. InfluxDB alone, one point per write.
    await createDatabase(influx.url, 'bench_raw');
    const single = await autocannon(
      `${influx.url}/write?db=bench_raw&precision=ns`,
      'raw,event=user.login uid="user-1234",amount=12.5 1',
      {},
    );
    row('InfluxDB /write, 1 point/request', single, 1, 'point');

    // 3, 4 and 5. The service: one event per request, then batches of 100 and of 500.
    const servicePort = await freePort();
    const services = new ServiceRuns(servicePort, influx.url, children);
    await services.start('one-event');
    const auth = { Authorization: `Token ${DEMO_TOKEN}` };
    const base = `http://127.0.0.1:${servicePort}`;
    // The service runs send a fixed number of requests (sized from a short warm-up to last
    // about BENCH_SECONDS), so every request is answered before the stored count is taken:
    // with a time limit, autocannon drops requests still in flight that the service stores.
    const serviceLoad = async (path: string, body: string, minimum: number) => {
      const warm = await autocannon(`${base}${path}`, body, auth, { seconds: 2 });
      const before = await settledCount(influx.url);
      const load = await autocannon(`${base}${path}`, body, auth, {
        amount: Math.max(minimum, Math.round(warm.rps * SECONDS)),
      });
      return { load, stored: (await storedCount(influx.url)) - before };
    };
    const one = await serviceLoad('/log/event', JSON.stringify(EVENT), 1000);
    row('service, 1 event/request', one.load, 1, 'event');

    const batchRuns: Array<{ size: number; load: Load; stored: number }> = [];
    for (const size of [BATCH, CLIENT_BATCH]) {
      await services.next(`batch-${size}`);
      const body = JSON.stringify(Array.from({ length: size }, () => EVENT));
      const run = await serviceLoad('/log/events', body, 100);
      row(`service, ${size} events/request`, run.load, size, 'event');
      batchRuns.push({ size, ...run });
    }
    await services.stop();
    const many = batchRuns[0]!.load;

    // 6. InfluxDB alone, 5,000 lines per write: the storage ceiling.
    const lines = Array.from(
      { length: INFLUX_BATCH },
      (_, i) => `raw,event=user.login uid="user-1234",amount=12.5 ${i + 1}`,
    ).join('\n');
    const batched = await autocannon(`${influx.url}/write?db=bench_raw&precision=ns`, lines, {});
    row(`InfluxDB /write, ${INFLUX_BATCH} points/request`, batched, INFLUX_BATCH, 'point');

    const ratioExpress = one.load.rps / express.rps;
    const ratioStorage = (many.rps * BATCH) / (batched.rps * INFLUX_BATCH);
    const acknowledged = [
      { name: '1/request', ack: one.load.ok, stored: one.stored },
      ...batchRuns.map((r) => ({ name: `${r.size}/request`, ack: r.load.ok * r.size, ...r })),
    ];
    const lines_ = [
      `stats-service benchmark: ${SECONDS} s per run, ${CONNECTIONS} connections, node ${process.version}, ${cpuModel()}`,
      '',
      table(['load', 'rate', 'p50 ms', 'p99 ms', 'answers'], rows),
      '',
      `service peak RSS: ${services.peakRssMb.toFixed(0)} MB   target < 200 MB`,
      `service/Express (1 event/request): ${ratioExpress.toFixed(2)}   target >= 0.45`,
      `service 1 event/request p99: ${one.load.p99.toFixed(1)} ms   target < 50 ms`,
      `service ${BATCH}-event batches: ${Math.round(many.rps * BATCH).toLocaleString('en')} events/s   target >= 75,000`,
      `batched service/InfluxDB batched: ${ratioStorage.toFixed(2)}   target >= 0.15`,
      ...acknowledged.map(
        (a) =>
          `acknowledged vs stored, ${a.name}: ${a.ack} acknowledged, ${a.stored} stored ${a.ack === a.stored ? '(equal)' : '(MISMATCH)'}`,
      ),
    ];
    process.stdout.write(`${lines_.join('\n')}\n`);
    if (acknowledged.some((a) => a.ack !== a.stored)) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await influx.stop();
  }
}

/** The read-back table (read-back.ts), with an InfluxDB and a service of its own. */
async function readBack(): Promise<void> {
  const influx = await startInfluxd({ env: READ_BACK_INFLUXD_ENV });
  const children: ChildProcess[] = [];
  try {
    const report = await benchReadBack(influx.url, async (env) => {
      const port = await freePort();
      const service = await startChild(
        'node',
        [join(REPO, 'dist', 'main.js')],
        {
          PORT: String(port),
          HOST: '127.0.0.1',
          INFLUX_URL: influx.url,
          ACCESS_JSON: join(REPO, 'access.json'),
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
          ...env,
        },
        'successfully started',
      );
      children.push(service);
      return `http://127.0.0.1:${port}`;
    });
    const lines_ = [
      '',
      `read-back benchmark: node ${process.version}, ${cpuModel()}; ${report.notes.join('; ')}`,
      '',
      table(report.header, report.rows),
    ];
    process.stdout.write(`${lines_.join('\n')}\n`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await influx.stop();
  }
}

/**
 * The service process(es) of the run. Normally one process serves every service load, so its
 * peak RSS covers them all; with BENCH_CPU_PROF each load gets its own process under
 * `node --cpu-prof`, so that each profile holds one load (written when the process exits).
 */
class ServiceRuns {
  peakRssMb = 0;
  private child?: ChildProcess;

  constructor(
    private readonly port: number,
    private readonly influxUrl: string,
    private readonly children: ChildProcess[],
  ) {}

  async start(load: string): Promise<void> {
    const profile = CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${join(CPU_PROF, load)}`] : [];
    const spawned = Date.now();
    this.child = await startChild(
      'node',
      [...profile, join(REPO, 'dist', 'main.js')],
      {
        PORT: String(this.port),
        HOST: '127.0.0.1',
        INFLUX_URL: this.influxUrl,
        INFLUX_DATABASE: 'bench_service',
        ACCESS_JSON: join(REPO, 'access.json'),
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      },
      'successfully started',
    );
    this.children.push(this.child);
    // top-frames.ts leaves out the samples of start-up.
    if (CPU_PROF) {
      mkdirSync(join(CPU_PROF, load), { recursive: true });
      writeFileSync(join(CPU_PROF, load, 'ready-ms'), String(Date.now() - spawned));
    }
  }

  /** With BENCH_CPU_PROF, a fresh process for the next load; otherwise the same one. */
  async next(load: string): Promise<void> {
    if (!CPU_PROF) return;
    await this.stop();
    await this.start(load);
  }

  /** Records the peak RSS and stops the process, waiting for it (and its profile) to finish. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.peakRssMb = Math.max(this.peakRssMb, peakRssMb(child.pid!));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * The stored count once the requests a time-limited run left in flight are stored: unchanged
 * for a second (a 500-event batch can take longer than that under load).
 */
async function settledCount(url: string): Promise<number> {
  let count = await storedCount(url);
  for (let tries = 0; tries < 30; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await storedCount(url);
    if (now === count) return now;
    count = now;
  }
  return count;
}

async function storedCount(url: string): Promise<number> {
  const rows = await influxQuery(url, 'bench_service', 'SELECT COUNT("uid") FROM "analytics"');
  return Number(rows[0]?.count ?? 0);
}

function startChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  readyText: string,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start within 30 s:\n${output.slice(-2000)}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      if (output.includes(readyText)) return;
      output += chunk.toString();
      if (output.includes(readyText)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    // Keep draining both pipes after start-up, as a log shipper would.
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}

/** autocannon in its own process; its JSON summary parsed. */
function autocannon(
  url: string,
  body: string,
  headers: Record<string, string>,
  run: { seconds: number } | { amount: number } = { seconds: SECONDS },
): Promise<Load> {
  const args = [
    join(REPO, 'node_modules', 'autocannon', 'autocannon.js'),
    '--json',
    '-c',
    String(CONNECTIONS),
    ...('amount' in run ? ['-a', String(run.amount)] : ['-d', String(run.seconds)]),
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    '-i',
    bodyFile(body),
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon failed (${code}): ${err}`));
      const r = JSON.parse(out) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        errors: number;
        timeouts: number;
        non2xx: number;
        '2xx': number;
        duration: number;
      };
      resolve({
        rps: r['2xx'] / r.duration,
        p50: r.latency.p50,
        p99: r.latency.p99,
        ok: r['2xx'],
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
      });
    });
  });
}

/** autocannon reads large bodies from a file (argv has a size limit). */
function bodyFile(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-')), 'body');
  writeFileSync(file, body);
  return file;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function cpuModel(): string {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(info)?.[1] ?? 'unknown CPU';
  const cores = info.split('\n').filter((l) => l.startsWith('processor')).length;
  return `${cores} × ${model.trim()}`;
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
