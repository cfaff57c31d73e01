/**
 * The read-back rows of `npm run bench` (`BENCH_ONLY=read` runs them alone): the latency of
 * `GET /log/event/{id}`, one read at a time, with 1,000 events stored and with 1,000,000, side
 * by side: two databases of one InfluxDB, each read through a service of its own. The events
 * are line protocol written straight to the measurement in writes of 5,000 lines, spread over
 * 30 days, with server ids (16 hex digits of the point's time, 16 random); a few are posted
 * through the service itself. The 1,000 are every 1,000th event of the 1,000,000, so the
 * seeded ids read are the same at both sizes.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { eventQuery } from '../../src/influx/influxql';
import { createDatabase, influxQuery, influxQueryRaw, writeLines } from '../support/influxd';
import { AUTH } from '../support/service';

const SMALL = 1_000;
const LARGE = 1_000_000;
const WRITE_LINES = 5_000;
const SPAN_MS = 30 * 24 * 3_600_000;
/** EVENT_READ_WINDOW_HOURS's default: the events of the last 7 days are in the window. */
const WINDOW_MS = 7 * 24 * 3_600_000;
/** The two sizes, side by side in two databases of one InfluxDB, each with its service. */
const SMALL_DATABASE = 'bench_read_1k';
const LARGE_DATABASE = 'bench_read_1m';
const DATABASES = [SMALL_DATABASE, LARGE_DATABASE];
const EVENTS = ['user.login', 'user.logout', 'page.view', 'order.paid', 'search'];

/**
 * For the InfluxDB of this benchmark. Seeding writes in seconds what a deployment writes over
 * 30 days; InfluxDB keeps fresh writes in its in-memory cache until a shard has had no write
 * for this long (default 10 minutes), then compacts it into its files. The reads are measured
 * once that is done (influxAtRest), as it is for 30 days of history in a deployment.
 */
export const READ_BACK_INFLUXD_ENV = { INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION: '5s' };

/** Starts the production service with these extra variables; resolves to its base URL. */
export type StartService = (env: Record<string, string>) => Promise<string>;

export interface ReadBackReport {
  header: string[];
  rows: string[][];
  notes: string[];
}

interface Latency {
  p50: number;
  p99: number;
  reads: number;
}

/** One kind of id read back, and how many reads it gets at most (each size). */
interface Target {
  name: string;
  ids: string[];
  reads: number;
  status: number;
  /** One read of the id; resolves to the HTTP status (default: GET /log/event/{id}). */
  read?: (id: string) => Promise<number>;
}

export async function benchReadBack(
  influxUrl: string,
  startService: StartService,
): Promise<ReadBackReport> {
  const startMs = Date.now() - SPAN_MS;
  const every = LARGE / SMALL;

  // Ids the reads ask for; all among the 1,000 so that both databases hold them.
  const serverIds: string[] = [];
  const originalIds: string[] = [];
  await seed(influxUrl, startMs, (i, ns) => {
    if (i % every !== 0) return serverId(ns);
    // Ten ids of the original (entry_ + uuid4 hex, no time), well inside the 7-day window.
    if (Number(ns / 1_000_000n) > Date.now() - WINDOW_MS / 2 && originalIds.length < 10) {
      const id = originalId();
      originalIds.push(id);
      return id;
    }
    const id = serverId(ns);
    // Fifty of them, spread over the 30 days.
    if ((i / every) % 20 === 7) serverIds.push(id);
    return id;
  });

  const sizes: Latency[][] = [];
  let names: string[] = [];
  for (const database of DATABASES) {
    const base = await startService({ INFLUX_DATABASE: database });
    const posted: string[] = [];
    for (let i = 0; i < 10; i += 1) posted.push(await post(base, i));
    await influxAtRest(influxUrl);
    const targets: Target[] = [
      { name: 'server id, seeded over 30 days', ids: serverIds, reads: 400, status: 200 },
      {
        name: '  the same, its query straight to InfluxDB',
        ids: serverIds,
        reads: 400,
        status: 200,
        read: (id) => queryAtItsTime(influxUrl, database, id),
      },
      {
        name: `server id, posted now (${kindOf(posted[0]!)})`,
        ids: posted,
        reads: 400,
        status: 200,
      },
      { name: 'original entry_ + uuid4 id, last 7 days', ids: originalIds, reads: 40, status: 200 },
      { name: 'unknown entry_ + uuid4 id (404)', ids: [originalId()], reads: 40, status: 404 },
    ];
    names = targets.map((target) => target.name);
    const latencies: Latency[] = [];
    for (const target of targets) latencies.push(await measure(base, target));
    sizes.push(latencies);
  }
  const [small = [], large = []] = sizes;

  const ms = (latency: Latency) => `${latency.p50.toFixed(1)} / ${latency.p99.toFixed(1)}`;
  return {
    header: [
      'GET /log/event/{id}',
      `${SMALL.toLocaleString('en')} stored: p50 / p99 ms`,
      `${LARGE.toLocaleString('en')} stored: p50 / p99 ms`,
      'reads',
    ],
    rows: names.map((name, i) => [
      name,
      ms(small[i]!),
      ms(large[i]!),
      `${small[i]!.reads} + ${large[i]!.reads}`,
    ]),
    notes: [
      `events over 30 days, ${((WINDOW_MS / SPAN_MS) * 100).toFixed(0)}% of them in the 7-day read window; one read at a time`,
    ],
  };
}

/**
 * The time of event `i` of the 1,000,000: one per 2.592 s slot over 30 days, at a random
 * nanosecond within its slot (so none shares a series and a time with another).
 */
function timeOf(startMs: number, i: number): bigint {
  const slotNs = (BigInt(SPAN_MS) * 1_000_000n) / BigInt(LARGE);
  const jitter = BigInt(Math.floor(Math.random() * Number(slotNs)));
  return BigInt(startMs) * 1_000_000n + BigInt(i) * slotNs + jitter;
}

/**
 * Writes the 1,000,000 events in time order, as a service writes them (InfluxDB reads data
 * written out of order more slowly until it compacts it in full, hours later), 5,000 lines per
 * write, with the ids `pick` gives; every 1,000th of them goes to the small database too.
 */
async function seed(
  influxUrl: string,
  startMs: number,
  pick: (i: number, ns: bigint) => string,
): Promise<void> {
  for (const database of DATABASES) await createDatabase(influxUrl, database);
  let large: string[] = [];
  const small: string[] = [];
  for (let i = 0; i < LARGE; i += 1) {
    const ns = timeOf(startMs, i);
    const line =
      `analytics,event=${EVENTS[i % EVENTS.length]} uid="user-${i % 5000}",plan="pro",` +
      `amount=12.5,ok=true,event_id="${pick(i, ns)}" ${ns}`;
    large.push(line);
    if (i % (LARGE / SMALL) === 0) small.push(line);
    if (large.length === WRITE_LINES) {
      await writeLines(influxUrl, LARGE_DATABASE, large);
      large = [];
    }
  }
  if (large.length > 0) await writeLines(influxUrl, LARGE_DATABASE, large);
  await writeLines(influxUrl, SMALL_DATABASE, small);
}

/**
 * Waits (at most 5 minutes) until InfluxDB is at rest: none of either database in its cache and
 * no compaction running, twice in a row. Right after a bulk write InfluxDB compacts for a while,
 * which on a shared machine slows every request; a deployment's history is compacted.
 */
async function influxAtRest(influxUrl: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error('InfluxDB did not come to rest within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const busy =
      (await stats(influxUrl, 'tsm1_cache', 'memBytes')) > 0 ||
      (await stats(influxUrl, 'tsm1_engine', 'CompactionsActive')) > 0;
    quiet = busy ? 0 : quiet + 1;
  }
}

/** The sum over the shards of both databases of the statistics of `module` whose names end so. */
async function stats(influxUrl: string, module: string, ending: string): Promise<number> {
  const shards = await influxQuery(influxUrl, '', `SHOW STATS FOR '${module}'`);
  let sum = 0;
  for (const shard of shards.filter((row) => DATABASES.includes(row.database as string))) {
    for (const [name, value] of Object.entries(shard)) {
      if (name.endsWith(ending)) sum += Number(value);
    }
  }
  return sum;
}

function serverId(ns: bigint): string {
  return `entry_${ns.toString(16).padStart(16, '0')}${randomBytes(8).toString('hex')}`;
}

/** An id of the original: entry_ + uuid4 hex, its first digit above 7 so no time decodes. */
function originalId(): string {
  const hex = randomBytes(16).toString('hex');
  return `entry_${'89abcdef'[randomBytes(1)[0]! % 8]}${hex.slice(1, 12)}4${hex.slice(13, 16)}a${hex.slice(17)}`;
}

/** Whether an id the service made carries its point's time (issue 9's ids do). */
function kindOf(id: string): string {
  const hex = /^entry_([0-9a-f]{16})[0-9a-f]{16}$/.exec(id)?.[1];
  const ms = hex === undefined ? NaN : Number(BigInt(`0x${hex}`) / 1_000_000n);
  return Math.abs(ms - Date.now()) < 3_600_000 ? 'with its time' : 'uuid4, no time';
}

/** The service's query for a server id (eventQuery at the id's time), sent to InfluxDB itself. */
async function queryAtItsTime(influxUrl: string, database: string, id: string): Promise<number> {
  const at = BigInt(`0x${id.slice(6, 22)}`);
  const reply = await influxQueryRaw(influxUrl, database, eventQuery('analytics', id, { at }));
  return reply.results?.[0]?.series?.length ? 200 : 404;
}

async function post(base: string, i: number): Promise<string> {
  const response = await fetch(`${base}/log/event`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...AUTH },
    body: JSON.stringify({ event: 'bench.read', uid: `reader-${i}`, plan: 'pro', amount: 1.5 }),
  });
  if (response.status !== 200) throw new Error(`POST /log/event answered ${response.status}`);
  return (await response.json()) as string;
}

/** Reads the target's ids in turn, one at a time: up to `reads` reads or 30 s. */
async function measure(base: string, target: Target): Promise<Latency> {
  const read =
    target.read ??
    (async (id: string) => {
      const response = await fetch(`${base}/log/event/${id}`, { headers: AUTH });
      await response.arrayBuffer();
      return response.status;
    });
  // One read first: the connection and InfluxDB's caches warm up for every target alike.
  await read(target.ids[0]!);
  const times: number[] = [];
  const deadline = performance.now() + 30_000;
  while (times.length < target.reads && (times.length < 5 || performance.now() < deadline)) {
    const id = target.ids[times.length % target.ids.length]!;
    const started = performance.now();
    const status = await read(id);
    times.push(performance.now() - started);
    if (status !== target.status) {
      throw new Error(`${target.name}: reading ${id} answered ${status}`);
    }
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), reads: times.length };
}
