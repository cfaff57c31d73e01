/**
 * Would better-sqlite3 in WAL mode replace the spool's segment files? A micro-benchmark of both
 * on the same disk, for the decision in docs/OPERATIONS.md ("Why segment files, and not SQLite"):
 *
 *   npm install --no-save better-sqlite3@12   # v13 segfaults on Node 20; it compiles here
 *   npx ts-node --transpile-only test/bench/spool-store.ts
 *
 * (BETTER_SQLITE3=<path> loads it from elsewhere; BENCH_DIR=<dir> picks the disk, default the
 * system's temporary folder.) Both stores keep the same records (encodeRecord of the benchmark
 * event) and make each commit durable before it is acknowledged: the segments with writev and
 * fdatasync (SpoolService itself), SQLite with `journal_mode=WAL, synchronous=FULL` and one
 * transaction per commit. It measures:
 * - append: records a second, committed in groups of 1, 10 and 100 (what the spool sees: one
 *   record per request, and concurrent requests sharing one fdatasync);
 * - replay: records a second read back in order, decoded, and freed, 5,000 at a time;
 * - crash: a child process appends until it is killed with SIGKILL; every record it had
 *   acknowledged must be found when the store is opened again.
 */
import { fork } from 'node:child_process';
import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventToPoint } from '../../src/events/event-point';
import { parseEvent } from '../../src/events/event.dto';
import { parseEventsConfig } from '../../src/events/events.config';
import { decodeRecord, encodeRecord, type SpoolPoint } from '../../src/spool/spool-record';
import { parseSpoolConfig } from '../../src/spool/spool.config';
import { SpoolService } from '../../src/spool/spool.service';

interface SqliteStatement {
  run(...params: unknown[]): unknown;
  all(...params: unknown[]): Array<Record<string, unknown>>;
}
interface SqliteDatabase {
  pragma(text: string): unknown;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  transaction<T extends unknown[]>(run: (...args: T) => void): (...args: T) => void;
  close(): void;
}
type SqliteConstructor = new (path: string) => SqliteDatabase;

const RECORDS = 20_000;
const GROUPS = [1, 10, 100];
const EVENT = { event: 'user.login', uid: 'user-1234', plan: 'pro', amount: 12.5, ok: true };
const { limits, tableName } = parseEventsConfig({});

function point(n: number): SpoolPoint {
  return eventToPoint(parseEvent({ ...EVENT, n }, limits), tableName, new Set(), BigInt(n));
}

function sqlite(): SqliteConstructor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(process.env.BETTER_SQLITE3 ?? 'better-sqlite3') as SqliteConstructor;
}

function openSqlite(dir: string): {
  db: SqliteDatabase;
  commit: (records: Buffer[]) => void;
  read: (limit: number) => Array<{ seq: number; data: Buffer }>;
  free: (upTo: number) => void;
} {
  const Database = sqlite();
  const db = new Database(join(dir, 'spool.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO records (data) VALUES (?)');
  const select = db.prepare('SELECT seq, data FROM records ORDER BY seq LIMIT ?');
  const remove = db.prepare('DELETE FROM records WHERE seq <= ?');
  const commit = db.transaction((records: Buffer[]) => {
    for (const record of records) insert.run(record);
  });
  return {
    db,
    commit,
    read: (limit) => select.all(limit) as Array<{ seq: number; data: Buffer }>,
    free: (upTo) => void remove.run(upTo),
  };
}

async function openSegments(dir: string): Promise<SpoolService> {
  const spool = new SpoolService(parseSpoolConfig({ SPOOL_DIR: dir }));
  await spool.onModuleInit();
  return spool;
}

function rate(count: number, startedNs: bigint): number {
  return Math.round(count / (Number(process.hrtime.bigint() - startedNs) / 1e9));
}

async function appendSegments(dir: string, group: number, records: SpoolPoint[][]) {
  const spool = await openSegments(dir);
  const started = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += group) {
    // Appends of one turn share one writev and one fdatasync, as concurrent requests do.
    await Promise.all(records.slice(i, i + group).map((points) => spool.append(points)));
  }
  const appended = rate(records.length, started);
  const replayStarted = process.hrtime.bigint();
  let replayed = 0;
  for (;;) {
    const entries = await spool.next(5000);
    if (entries.length === 0) break;
    replayed += entries.length;
    await spool.drained(entries.at(-1)!, entries.length);
  }
  const replay = rate(replayed, replayStarted);
  await spool.onApplicationShutdown();
  return { appended, replay, replayed };
}

function appendSqlite(dir: string, group: number, records: SpoolPoint[][]) {
  const store = openSqlite(dir);
  const started = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += group) {
    store.commit(records.slice(i, i + group).map((points) => encodeRecord(points)));
  }
  const appended = rate(records.length, started);
  const replayStarted = process.hrtime.bigint();
  let replayed = 0;
  for (;;) {
    const rows = store.read(5000);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (decodeRecord(row.data).kind !== 'record') throw new Error('a record did not decode');
    }
    replayed += rows.length;
    store.free(rows.at(-1)!.seq);
  }
  const replay = rate(replayed, replayStarted);
  store.db.close();
  return { appended, replay, replayed };
}

/** The child of the crash test: appends until killed, printing each acknowledged record. */
async function crashChild(kind: string, dir: string): Promise<void> {
  let n = 0;
  if (kind === 'sqlite') {
    const store = openSqlite(dir);
    for (;;) {
      const group = [n, n + 1, n + 2].map((i) => encodeRecord([point(i)]));
      store.commit(group);
      process.send!(n + 2);
      n += 3;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const spool = await openSegments(dir);
  for (;;) {
    await Promise.all([n, n + 1, n + 2].map((i) => spool.append([point(i)])));
    process.send!(n + 2);
    n += 3;
  }
}

/** Kills a writer after a second of appends; counts what it acknowledged and what survived. */
async function crash(kind: 'segments' | 'sqlite', dir: string) {
  const child = fork(__filename, ['--crash-child', kind, dir], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let acknowledged = -1;
  const started = new Promise((resolve) => child.once('message', resolve));
  child.on('message', (last) => (acknowledged = Number(last)));
  // From its first acknowledged record on (ts-node takes a while to start it), for a second.
  await started;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const found = new Set<number>();
  if (kind === 'sqlite') {
    const store = openSqlite(dir);
    for (const row of store.read(Number.MAX_SAFE_INTEGER)) {
      const result = decodeRecord(row.data);
      if (result.kind === 'record') for (const p of result.points) found.add(Number(p.time));
    }
    store.db.close();
  } else {
    const spool = await openSegments(dir);
    for (;;) {
      const entries = await spool.next(5000);
      if (entries.length === 0) break;
      for (const entry of entries) for (const p of entry.points) found.add(Number(p.time));
      await spool.drained(entries.at(-1)!, entries.length);
    }
    await spool.onApplicationShutdown();
  }
  let lost = 0;
  for (let i = 0; i <= acknowledged; i++) if (!found.has(i)) lost++;
  return { acknowledged: acknowledged + 1, lost };
}

async function main(): Promise<void> {
  Logger.overrideLogger(false);
  const base = process.env.BENCH_DIR ?? tmpdir();
  const records = Array.from({ length: RECORDS }, (_, n) => [point(n)]);
  const bytes = encodeRecord(records[0]!).length;
  const fresh = () => mkdtempSync(join(base, 'spool-store-'));
  const rows: string[] = [];
  for (const group of GROUPS) {
    const count = group === 1 ? RECORDS / 10 : RECORDS;
    const input = records.slice(0, count);
    const segmentsDir = fresh();
    const sqliteDir = fresh();
    try {
      const segments = await appendSegments(segmentsDir, group, input);
      const db = appendSqlite(sqliteDir, group, input);
      rows.push(
        `| append, ${group} record(s) per commit | ${segments.appended.toLocaleString('en')} | ${db.appended.toLocaleString('en')} |`,
      );
      // Replay of the whole set, once (its rate does not depend on how it was committed).
      if (group === GROUPS.at(-1)) {
        rows.push(
          `| replay ${count.toLocaleString('en')} records, 5,000 at a time | ${segments.replay.toLocaleString('en')} | ${db.replay.toLocaleString('en')} |`,
        );
      }
    } finally {
      rmSync(segmentsDir, { recursive: true, force: true });
      rmSync(sqliteDir, { recursive: true, force: true });
    }
  }
  const crashes: string[] = [];
  for (const kind of ['segments', 'sqlite'] as const) {
    const dir = fresh();
    try {
      const { acknowledged, lost } = await crash(kind, dir);
      crashes.push(`${kind}: ${acknowledged.toLocaleString('en')} acknowledged, ${lost} lost`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    [
      `spool store benchmark: node ${process.version}, records of ${bytes} bytes (one event), in ${base}`,
      '',
      '| records a second | segment files | SQLite WAL |',
      '|---|---|---|',
      ...rows,
      '',
      `SIGKILL while appending: ${crashes.join('; ')}`,
      '',
    ].join('\n'),
  );
}

if (process.argv[2] === '--crash-child') {
  void crashChild(process.argv[3]!, process.argv[4]!);
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
