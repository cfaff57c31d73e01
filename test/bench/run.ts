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
 *   BENCH_ONLY=read  only the read-back table (read-back.ts), not the load runs
 *
 * Then the read-back table: GET /log/event/{id} with 1,000 and with 1,000,000 events stored.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, freePort, influxQuery, startInfluxd } from '../support/influxd';
import { DEMO_TOKEN, REPO } from '../support/service';
import { benchReadBack, READ_BACK_INFLUXD_ENV } from './read-back';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const EVENT = { event: 'user.login', uid: 'user-1234', plan: 'pro', amount: 12.5, ok: true };
const BATCH = 100;
const INFLUX_BATCH = 5000;

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

    // 3 and 4. The service, one event per request, then 100 per request.
    const servicePort = await freePort();
    const service = await startChild(
      'node',
      [join(REPO, 'dist', 'main.js')],
      {
        PORT: String(servicePort),
        HOST: '127.0.0.1',
        INFLUX_URL: influx.url,
        INFLUX_DATABASE: 'bench_service',
        ACCESS_JSON: join(REPO, 'access.json'),
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      },
      'successfully started',
    );
    children.push(service);
    const auth = { Authorization: `Token ${DEMO_TOKEN}` };
    const base = `http://127.0.0.1:${servicePort}`;
    // The service runs send a fixed number of requests (sized from a short warm-up to last
    // about BENCH_SECONDS), so every request is answered before the stored count is taken:
    // with a time limit, autocannon drops requests still in flight that the service stores.
    const warm = await autocannon(`${base}/log/event`, JSON.stringify(EVENT), auth, { seconds: 2 });
    await settle();
    const before = await storedCount(influx.url);
    const one = await autocannon(`${base}/log/event`, JSON.stringify(EVENT), auth, {
      amount: Math.max(1000, Math.round(warm.rps * SECONDS)),
    });
    row('service, 1 event/request', one, 1, 'event');
    const afterOne = await storedCount(influx.url);

    const batchBody = JSON.stringify(Array.from({ length: BATCH }, () => EVENT));
    const warmMany = await autocannon(`${base}/log/events`, batchBody, auth, { seconds: 2 });
    await settle();
    const beforeMany = await storedCount(influx.url);
    const many = await autocannon(`${base}/log/events`, batchBody, auth, {
      amount: Math.max(100, Math.round(warmMany.rps * SECONDS)),
    });
    row(`service, ${BATCH} events/request`, many, BATCH, 'event');
    const afterMany = await storedCount(influx.url);

    // 5. InfluxDB alone, 5,000 lines per write: the storage ceiling.
    const lines = Array.from(
      { length: INFLUX_BATCH },
      (_, i) => `raw,event=user.login uid="user-1234",amount=12.5 ${i + 1}`,
    ).join('\n');
    const batched = await autocannon(`${influx.url}/write?db=bench_raw&precision=ns`, lines, {});
    row(`InfluxDB /write, ${INFLUX_BATCH} points/request`, batched, INFLUX_BATCH, 'point');

    const rssMb = peakRssMb(service.pid!);
    const ackOne = one.ok;
    const ackMany = many.ok * BATCH;
    const storedOne = afterOne - before;
    const storedMany = afterMany - beforeMany;

    const ratioExpress = one.rps / express.rps;
    const ratioStorage = (many.rps * BATCH) / (batched.rps * INFLUX_BATCH);
    const lines_ = [
      `stats-service benchmark: ${SECONDS} s per run, ${CONNECTIONS} connections, node ${process.version}, ${cpuModel()}`,
      '',
      table(['load', 'rate', 'p50 ms', 'p99 ms', 'answers'], rows),
      '',
      `service peak RSS: ${rssMb.toFixed(0)} MB`,
      `service/Express (1 event/request): ${ratioExpress.toFixed(2)}   target >= 0.60`,
      `batched service/InfluxDB batched: ${ratioStorage.toFixed(2)}   target >= 0.25`,
      `service 1 event/request p99: ${one.p99.toFixed(1)} ms   target < 50 ms`,
      `service ${BATCH}-event batches: ${Math.round(many.rps * BATCH).toLocaleString('en')} events/s   target >= 50,000`,
      `acknowledged vs stored, 1/request: ${ackOne} acknowledged, ${storedOne} stored ${ackOne === storedOne ? '(equal)' : '(MISMATCH)'}`,
      `acknowledged vs stored, ${BATCH}/request: ${ackMany} acknowledged, ${storedMany} stored ${ackMany === storedMany ? '(equal)' : '(MISMATCH)'}`,
    ];
    process.stdout.write(`${lines_.join('\n')}\n`);
    if (ackOne !== storedOne || ackMany !== storedMany) process.exitCode = 1;
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

/** Lets requests a time-limited run left in flight finish before counting. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000));
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
