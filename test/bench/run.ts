/**
 * `npm run bench`: one run, one machine, one table. Starts its own InfluxDB, the production
 * build of the service and a bare Express app, drives each with autocannon in a separate
 * process, and prints the service next to its two ceilings: the framework (bare Express) and
 * the storage (InfluxDB's own write rates). Every service load runs twice, side by side: with
 * the shipped defaults and with admission control off (ADMISSION_CONCURRENCY=0), each in a
 * service process of its own so that its peak RSS is that load's. Numbers drift from machine to
 * machine and run to run; the ratios within one run are what to compare. Also checks that every
 * event the service acknowledged is in InfluxDB. The 100-event batches run once more with a
 * client `event_id` and a `time` on every event (exactly once, issue 17): "ids+times vs none".
 *
 *   BENCH_SECONDS (10)  length of each load run
 *   BENCH_CONNECTIONS (32)  concurrent connections
 *   BENCH_ROUNDS (3)  runs of the two loads the targets name (1 event and 100-event batches)
 *     under each configuration, and pairs of the ids+times comparison: the same build gave
 *     55,000 to 127,000 batched events a second from one run to the next on a 2-core machine
 *     (docs/PERFORMANCE.md, "Run to run"), so the targets read the median round (peak RSS: the
 *     highest); bare Express runs again before each round of single events, and the service is
 *     compared with the run just before it
 *   BENCH_CPU_PROF (unset)  a directory: each service load under the shipped defaults then runs
 *     under `node --cpu-prof`, its profile in <dir>/<load>/ (read with test/bench/top-frames.ts)
 *   BENCH_ONLY=read  only the read-back table (read-back.ts), not the load runs; =write the reverse
 *
 * Then the read-back table: GET /log/event/{id} with 1,000 and with 1,000,000 events stored.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDatabase,
  dropDatabase,
  freePort,
  influxQuery,
  startInfluxd,
} from '../support/influxd';
import { DEMO_TOKEN, REPO } from '../support/service';
import { benchReadBack, READ_BACK_INFLUXD_ENV } from './read-back';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EVENT = { event: 'user.login', uid: 'user-1234', plan: 'pro', amount: 12.5, ok: true };
/**
 * The same event with a client `event_id` (`[<id>]`, unique per request by fresh-ids.js, and
 * the index in the batch) and its own `time` (`[<t>]`: a millisecond per request, fresh-ids.js).
 */
function eventWithIdAndTime(index: number) {
  return { ...EVENT, event_id: `[<id>]-${index}`, time: '[<t>]' };
}
const BATCH = 100;
/** What the client library sends (src/client, `batchSize`). */
const CLIENT_BATCH = 500;
const INFLUX_BATCH = 5000;
/** About what one write of the service holds under 100-event batches (stats_influx_batch_lines). */
const SERVICE_LINES = 1000;
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
  if (process.env.BENCH_ONLY !== 'write') await readBack();
}

/** The configurations every service load runs under, side by side. */
const CONFIGS = [
  { name: 'shipped defaults', env: {} },
  // Admission control off: the service as a plain Express app would serve it.
  { name: 'admission off', env: { ADMISSION_CONCURRENCY: '0' } },
] as const;

/** What one service load gave under one configuration. */
interface ServiceRun {
  load: Load;
  acknowledged: number;
  stored: number;
  peakRssMb: number;
}

async function benchWrites(): Promise<void> {
  const influx = await startInfluxd();
  const children: ChildProcess[] = [];
  try {
    // 1. The framework's ceiling, measured again right before each round of single events.
    const expressPort = await freePort();
    children.push(
      await startChild(
        'node',
        [join(__dirname, 'bare-express.js')],
        { PORT: String(expressPort) },
        'listening',
      ),
    );
    const expressRuns: Load[] = [];

    // 2. InfluxDB alone, one point per write and 5,000 lines per write: the storage ceilings.
    await createDatabase(influx.url, 'bench_raw');
    const single = await autocannon(
      `${influx.url}/write?db=bench_raw&precision=ns`,
      'raw,event=user.login uid="user-1234",amount=12.5 1',
      {},
    );
    const lines = Array.from(
      { length: INFLUX_BATCH },
      (_, i) => `raw,event=user.login uid="user-1234",amount=12.5 ${i + 1}`,
    ).join('\n');
    const batched = await autocannon(`${influx.url}/write?db=bench_raw&precision=ns`, lines, {});
    // The lines the service writes for EVENT (five fields, three of them strings, a unique
    // event_id), SERVICE_LINES to a write as a group commit of 100-event batches gathers them:
    // InfluxDB's ceiling for what the service stores, beside its ceiling for the issue's lines.
    const serviceLines = Array.from(
      { length: SERVICE_LINES },
      (_, i) =>
        `analytics,event=user.login uid="user-1234",plan="pro",amount=12.5,ok=true,event_id="entry_${(i + 1).toString(16).padStart(32, '0')}" ${i + 1}`,
    ).join('\n');
    const shaped = await autocannon(
      `${influx.url}/write?db=bench_raw&precision=ns`,
      serviceLines,
      {},
    );

    // InfluxDB compacts what it was just sent for many seconds after: without its database and
    // with the machine back to rest, the first service run does not pay for it.
    await dropDatabase(influx.url, 'bench_raw');
    await settled(influx.pid);

    // 3. The service: each load under each configuration, each in a process of its own (so that
    // its peak RSS is that load's), the two configurations one after the other.
    const loads = [
      { name: '1 event/request', path: '/log/event', size: 1, minimum: 1000, rounds: ROUNDS },
      {
        name: `${BATCH} events/request`,
        path: '/log/events',
        size: BATCH,
        minimum: 100,
        rounds: ROUNDS,
      },
      {
        name: `${CLIENT_BATCH} events/request`,
        path: '/log/events',
        size: CLIENT_BATCH,
        minimum: 50,
        rounds: 1,
      },
    ];
    // Per load, per round, one run under each configuration.
    const runs = new Map<string, ServiceRun[][]>();
    for (const load of loads) {
      const body =
        load.size === 1
          ? JSON.stringify(EVENT)
          : JSON.stringify(Array.from({ length: load.size }, () => EVENT));
      const rounds: ServiceRun[][] = [];
      for (let round = 0; round < load.rounds; round++) {
        if (load.size === 1) {
          const url = `http://127.0.0.1:${expressPort}/log/event`;
          expressRuns.push(await autocannon(url, body, {}));
        }
        const pair: ServiceRun[] = [];
        for (const config of CONFIGS) {
          pair.push(await serviceRun(influx, children, config, load, body));
        }
        rounds.push(pair);
      }
      runs.set(load.name, rounds);
    }
    // 4. The same batches with ids and times (shipped defaults): what exactly once costs.
    const idsBody = JSON.stringify(Array.from({ length: BATCH }, (_, i) => eventWithIdAndTime(i)));
    // The same batches without them, through the same load generator (a body per request).
    const plainBody = JSON.stringify(Array.from({ length: BATCH }, () => EVENT));
    // One pair per round, the first of the pair alternating: a single pair gave 1.14, 0.83 and
    // 0.59 in three runs of nearly the same build (docs/PERFORMANCE.md, "Ids and times"), the run
    // to run noise of this machine, so the target reads the median of the rounds' ratios.
    const idsPairs: Array<{ withoutIds: ServiceRun; withIds: ServiceRun }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const run = (ids: boolean) =>
        serviceRun(influx, children, CONFIGS[0], loads[1]!, ids ? idsBody : plainBody, true);
      if (round % 2 === 0) {
        const withoutIds = await run(false);
        idsPairs.push({ withoutIds, withIds: await run(true) });
      } else {
        const withIds = await run(true);
        idsPairs.push({ withoutIds: await run(false), withIds });
      }
    }

    const rate = (l: Load, unit: number, unitName: string) =>
      `${Math.round(l.rps * unit).toLocaleString('en')} ${unitName}/s`;
    const answers = (l: Load) => `${l.ok} ok, ${l.non2xx} non-2xx, ${l.errors} errors`;
    const ceilings = [
      ...expressRuns.map((express, round) => [
        `bare Express, 1 event/request${expressRuns.length > 1 ? `, before round ${round + 1}` : ''}`,
        rate(express, 1, 'req'),
        express.p50.toFixed(1),
        express.p99.toFixed(1),
        answers(express),
      ]),
      [
        'InfluxDB /write, 1 point/request',
        rate(single, 1, 'point'),
        single.p50.toFixed(1),
        single.p99.toFixed(1),
        answers(single),
      ],
      [
        `InfluxDB /write, ${INFLUX_BATCH} points/request`,
        rate(batched, INFLUX_BATCH, 'point'),
        batched.p50.toFixed(1),
        batched.p99.toFixed(1),
        answers(batched),
      ],
      [
        `InfluxDB /write, ${SERVICE_LINES} of the service's lines/request`,
        rate(shaped, SERVICE_LINES, 'point'),
        shaped.p50.toFixed(1),
        shaped.p99.toFixed(1),
        answers(shaped),
      ],
    ];
    const idsRows = idsPairs
      .flatMap(({ withoutIds, withIds }, round) => {
        const of = ROUNDS > 1 ? `, round ${round + 1} of ${ROUNDS}` : '';
        return [
          [
            `service, ${BATCH} events/request, a body per request (as the next row), shipped defaults${of}`,
            withoutIds,
          ],
          [
            `service, ${BATCH} events/request with event_id and time, a body per request, shipped defaults${of}`,
            withIds,
          ],
        ] as const;
      })
      .map(([name, run]) => [
        name,
        rate(run.load, BATCH, 'event'),
        run.load.p50.toFixed(1),
        run.load.p99.toFixed(1),
        `${answers(run.load)}; stored ${run.stored} of ${run.acknowledged}; peak RSS ${run.peakRssMb.toFixed(0)} MB`,
      ]);
    const serviceRows = loads.flatMap((load) =>
      runs
        .get(load.name)!
        .flatMap((pair, round) =>
          pair.map((run, i) => [
            `service, ${load.name}, ${CONFIGS[i]!.name}${load.rounds > 1 ? `, round ${round + 1} of ${load.rounds}` : ''}`,
            rate(run.load, load.size, 'event'),
            run.load.p50.toFixed(1),
            run.load.p99.toFixed(1),
            `${answers(run.load)}; stored ${run.stored} of ${run.acknowledged}; peak RSS ${run.peakRssMb.toFixed(0)} MB`,
          ]),
        ),
    );
    const perSecond = (run: ServiceRun, size: number) => run.load.rps * size;
    /** Under configuration `i`, the round with the median rate (the upper one of an even count). */
    const median = (load: (typeof loads)[number], i: number) => {
      const sorted = runs
        .get(load.name)!
        .map((pair) => pair[i]!)
        .sort((a, b) => a.load.rps - b.load.rps);
      return sorted[sorted.length >> 1]!;
    };
    const [oneDefault, oneOff] = [median(loads[0]!, 0), median(loads[0]!, 1)];
    const [batchDefault, batchOff] = [median(loads[1]!, 0), median(loads[1]!, 1)];
    const batchRates = runs
      .get(loads[1]!.name)!
      .map((pair) => perSecond(pair[0]!, BATCH))
      .sort((a, b) => a - b);
    const all = [
      ...[...runs.values()].flat(2),
      ...idsPairs.flatMap((pair) => [pair.withoutIds, pair.withIds]),
    ];
    const defaults = [...runs.values()].flatMap((rounds) => rounds.map((pair) => pair[0]!));
    const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
    // Per round, the service against the Express run just before it; the median of those.
    const expressRatios = runs
      .get(loads[0]!.name)!
      .map((pair, round) => pair[0]!.load.rps / expressRuns[round]!.rps);
    const ratioExpress = [...expressRatios].sort((a, b) => a - b)[expressRatios.length >> 1]!;
    const batchRate = perSecond(batchDefault, BATCH);
    const ratioStorage = batchRate / (batched.rps * INFLUX_BATCH);
    // Issue 16's RSS target is for the two loads it names (one event, 100-event batches): the
    // highest of every round, not the median's.
    const maxRss = Math.max(
      ...[loads[0]!, loads[1]!].flatMap((load) =>
        runs.get(load.name)!.map((pair) => pair[0]!.peakRssMb),
      ),
    );
    const clientRss = runs.get(loads[2]!.name)![0]![0]!.peakRssMb;
    const idsRatios = idsPairs.map(
      (pair) => perSecond(pair.withIds, BATCH) / perSecond(pair.withoutIds, BATCH),
    );
    const ratioIds = [...idsRatios].sort((a, b) => a - b)[idsRatios.length >> 1]!;
    const report = [
      `stats-service benchmark: ${SECONDS} s per run, ${CONNECTIONS} connections, node ${process.version}, ${cpuModel()}`,
      '',
      table(
        ['load', 'rate', 'p50 ms', 'p99 ms', 'answers'],
        [...ceilings, ...serviceRows, ...idsRows],
      ),
      '',
      `shipped defaults vs admission off, 1 event/request: ${(oneDefault.load.rps / oneOff.load.rps).toFixed(2)}; ` +
        `${BATCH}-event batches: ${(batchRate / perSecond(batchOff, BATCH)).toFixed(2)}   (1.00: admission costs nothing below ADMISSION_CONCURRENCY)`,
      `service/Express, 1 event/request: ${ratioExpress.toFixed(2)}, the median of ${expressRatios.length} rounds (${expressRatios.map((r) => r.toFixed(2)).join(', ')})   target >= 0.50 ${check(ratioExpress >= 0.5)}`,
      `service, ${BATCH}-event batches: ${Math.round(batchRate).toLocaleString('en')} events/s, the median of ${batchRates.length} rounds (${batchRates.map((r) => Math.round(r).toLocaleString('en')).join(', ')})   target >= 100,000 ${check(batchRate >= 100_000)}`,
      `batched service/InfluxDB batched: ${ratioStorage.toFixed(3)}   target >= 0.12 ${check(ratioStorage >= 0.12)}`,
      `batched service/InfluxDB with the service's lines: ${(batchRate / (shaped.rps * SERVICE_LINES)).toFixed(3)}   no target (the same points, InfluxDB alone on the machine)`,
      `service peak RSS (shipped defaults, 1 event/request and ${BATCH}-event batches): ${maxRss.toFixed(0)} MB   target < 160 MB ${check(maxRss < 160)}`,
      `service peak RSS (shipped defaults, ${CLIENT_BATCH}-event batches): ${clientRss.toFixed(0)} MB   no target`,
      `ids+times vs none, ${BATCH}-event batches: ${ratioIds.toFixed(2)}, the median of ${idsRatios.length} rounds (${idsRatios.map((r) => r.toFixed(2)).join(', ')})   target >= 0.80 ${check(ratioIds >= 0.8)}`,
      `non-2xx answers (shipped defaults): ${defaults.reduce((n, run) => n + run.load.non2xx + run.load.errors, 0)}   target 0`,
      `stored = acknowledged in every run: ${all.every((run) => run.stored === run.acknowledged) ? 'yes' : 'NO'}`,
    ];
    process.stdout.write(`${report.join('\n')}\n`);
    if (all.some((run) => run.stored !== run.acknowledged)) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await influx.stop();
  }
}

/**
 * One load against a service process of its own under `config`: a short warm-up sizes a run
 * of a fixed number of requests to last about BENCH_SECONDS (with a time limit, autocannon drops
 * requests still in flight that the service then stores), then the stored count is compared
 * with what was acknowledged, and the process's peak RSS read before it stops. Its database is
 * then dropped and InfluxDB left to settle, so that no run pays for the compactions of another.
 */
async function serviceRun(
  influx: { url: string; pid: number },
  children: ChildProcess[],
  config: (typeof CONFIGS)[number],
  load: { name: string; path: string; size: number; minimum: number },
  body: string,
  /** `[<id>]` in the body made unique per request (fresh-ids.js). */
  freshIds = false,
): Promise<ServiceRun> {
  const port = await freePort();
  const database = `bench_${children.length}`;
  const profileDir =
    CPU_PROF && config.env === CONFIGS[0].env
      ? join(CPU_PROF, load.name.replace(/\W+/g, '-'))
      : undefined;
  const spawned = Date.now();
  const child = await startChild(
    'node',
    [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      join(REPO, 'dist', 'main.js'),
    ],
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      INFLUX_URL: influx.url,
      INFLUX_DATABASE: database,
      ACCESS_JSON: join(REPO, 'access.json'),
      SPOOL_DIR: mkdtempSync(join(tmpdir(), 'bench-spool-')),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...config.env,
    },
    'successfully started',
  );
  children.push(child);
  if (profileDir) {
    // top-frames.ts leaves out the samples of start-up.
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, 'ready-ms'), String(Date.now() - spawned));
  }
  const url = `http://127.0.0.1:${port}${load.path}`;
  const auth = { Authorization: `Token ${DEMO_TOKEN}` };
  const warm = await autocannon(url, body, auth, { seconds: 2 }, freshIds);
  const before = await settledCount(influx.url, database);
  const measured = await autocannon(
    url,
    body,
    auth,
    { amount: Math.max(load.minimum, Math.round(warm.rps * SECONDS)) },
    freshIds,
  );
  const stored = (await storedCount(influx.url, database)) - before;
  const peak = peakRssMb(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  // The next run starts with InfluxDB at rest, not compacting this one's points.
  await dropDatabase(influx.url, database);
  await settled(influx.pid);
  return { load: measured, acknowledged: measured.ok * load.size, stored, peakRssMb: peak };
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
 * The stored count once the requests a time-limited run left in flight are stored: unchanged
 * for a second (a 500-event batch can take longer than that under load).
 */
async function settledCount(url: string, database: string): Promise<number> {
  let count = await storedCount(url, database);
  for (let tries = 0; tries < 30; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await storedCount(url, database);
    if (now === count) return now;
    count = now;
  }
  return count;
}

async function storedCount(url: string, database: string): Promise<number> {
  const rows = await influxQuery(url, database, 'SELECT COUNT("uid") FROM "analytics"');
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
  /** Every request its own body: `[<id>]` in the body made unique (fresh-ids.js). */
  freshIds = false,
): Promise<Load> {
  const fresh = () =>
    JSON.stringify({
      headers,
      body: JSON.parse(body) as unknown,
      connections: CONNECTIONS,
      ...('amount' in run ? { amount: run.amount } : { duration: run.seconds }),
    });
  const args = freshIds
    ? [join(__dirname, 'fresh-ids.js'), url, fresh()]
    : [
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

/** Resolves once `pid` used under 5 % of a core for two half-seconds in a row (30 s at most). */
async function settled(pid: number): Promise<void> {
  const ticks = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  let quiet = 0;
  for (let waited = 0; quiet < 2 && waited < 30_000; waited += 500) {
    const before = ticks();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Clock ticks are hundredths of a second: under 5 % of 500 ms is under 2.5 ticks.
    quiet = ticks() - before < 2.5 ? quiet + 1 : 0;
  }
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
