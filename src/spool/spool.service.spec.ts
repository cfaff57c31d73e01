import {
  appendFileSync,
  mkdtempSync,
  symlinkSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpoolPoint as Point } from './spool-record';
import { encodeRecord } from './spool-record';
import { parseSpoolConfig } from './spool.config';
import { SpoolService } from './spool.service';

function point(n: number, extra = ''): Point {
  return {
    measurement: 'analytics',
    tags: [['event', 'e']],
    fields: [
      ['uid', `u-${n}`],
      ['pad', extra],
    ],
    time: BigInt(n),
    eventId: `id-${n}`,
  };
}

async function open(dir: string, env: Record<string, string> = {}): Promise<SpoolService> {
  const spool = new SpoolService(parseSpoolConfig({ SPOOL_DIR: dir, ...env }));
  await spool.onModuleInit();
  return spool;
}

/** Everything the spool would replay, draining as it goes. */
async function drainAll(spool: SpoolService): Promise<number[]> {
  const seen: number[] = [];
  for (let round = 0; round < 1000; round++) {
    const entries = await spool.next(10);
    if (entries.length === 0) return seen;
    for (const entry of entries) seen.push(...entry.points.map((p) => Number(p.time)));
    await spool.drained(entries.at(-1)!, entries.length);
  }
  throw new Error('the spool never ran dry');
}

describe(SpoolService.name, () => {
  let dir: string;
  const open_: SpoolService[] = [];
  const start = async (env?: Record<string, string>) => {
    const spool = await open(dir, env);
    open_.push(spool);
    return spool;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-spec-'));
  });

  afterEach(async () => {
    for (const spool of open_.splice(0)) await spool.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps appended records across a restart, in order, and counts them', async () => {
    const first = await start();
    await Promise.all([1, 2, 3].map((n) => first.append([point(n)])));
    expect(first.pendingRecords).toBe(3);
    await first.onApplicationShutdown();

    const second = await start();
    expect(second.pendingRecords).toBe(3);
    await expect(drainAll(second)).resolves.toEqual([1, 2, 3]);
    expect(second.pendingRecords).toBe(0);
    expect(second.bytes).toBe(0);
  });

  it('shares one write among concurrent appends (one segment, all records)', async () => {
    const spool = await start();
    await Promise.all(Array.from({ length: 50 }, (_, n) => spool.append([point(n)])));
    const segments = readdirSync(dir).filter((name) => name.endsWith('.log'));
    expect(segments).toHaveLength(1);
    expect(readFileSync(join(dir, segments[0]!)).length).toBe(spool.bytes);
  });

  it('cuts off a torn last record at start-up and keeps every whole one', async () => {
    const first = await start();
    await first.append([point(1)]);
    await first.append([point(2)]);
    await first.onApplicationShutdown();
    const [segment] = readdirSync(dir).filter((name) => name.endsWith('.log'));
    const path = join(dir, segment!);
    const whole = readFileSync(path).length;
    appendFileSync(path, encodeRecord([point(3)]).subarray(0, 20)); // a crash mid-write

    const second = await start();
    expect(readFileSync(path).length).toBe(whole);
    await expect(drainAll(second)).resolves.toEqual([1, 2]);
  });

  it('skips a damaged record inside a segment and keeps the records after it', async () => {
    const records = [1, 2, 3].map((n) => encodeRecord([point(n)]));
    records[1]!.writeUInt8(
      records[1]!.readUInt8(records[1]!.length - 3) ^ 0xff,
      records[1]!.length - 3,
    );
    writeFileSync(join(dir, 'spool-0000000001.log'), Buffer.concat(records));

    const spool = await start();
    await expect(drainAll(spool)).resolves.toEqual([1, 3]);
  });

  it('drops an empty leftover segment', async () => {
    writeFileSync(join(dir, 'spool-0000000004.log'), '');
    const spool = await start();
    expect(spool.pendingRecords).toBe(0);
    expect(readdirSync(dir)).not.toContain('spool-0000000004.log');
  });

  it('frees replayed segments: only the new active one is left', async () => {
    const spool = await start();
    await spool.append([point(1)]);
    await drainAll(spool);
    const left = readdirSync(dir).filter((name) => name.endsWith('.log'));
    expect(left).toHaveLength(1);
    expect(readFileSync(join(dir, left[0]!)).length).toBe(0);
  });

  it('refuses an append past SPOOL_MAX_BYTES as full, keeps what it had, and says when to retry', async () => {
    // Overrides: a 1 MiB cap (the smallest allowed) to reach it with three records; a drain
    // rate of 1 record a second, so that Retry-After is more than its floor of 1 s.
    const spool = await start({
      SPOOL_MAX_BYTES: String(1024 * 1024),
      SPOOL_DRAIN_LINES_PER_SECOND: '1',
    });
    const big = 'x'.repeat(300 * 1024);
    for (const n of [1, 2, 3]) await expect(spool.append([point(n, big)])).resolves.toBeUndefined();
    await expect(spool.append([point(4, big)])).resolves.toBe('full');
    expect(spool.pendingRecords).toBe(3);
    expect(spool.full).toBe(true);
    // Three records of `size` bytes, 512 KiB of them above the low-water mark (half the cap):
    // ceil((3 × size − 524288) / size / 1) records to drain at 1 a second.
    const size = encodeRecord([point(1, big)]).length;
    expect(spool.retryAfterSeconds()).toBe(Math.ceil(3 - 524_288 / size));
    expect(spool.retryAfterSeconds()).toBe(2);
  });

  it('answers unwritable, not full, when the disk refuses a write, and keeps what it had', async () => {
    const spool = await start();
    // The first segment takes a record past 8 MiB; the next append starts a second segment,
    // which here is /dev/full: its write fails with ENOSPC although the spool is far from its cap.
    await expect(spool.append([point(1, 'x'.repeat(8 * 1024 * 1024))])).resolves.toBeUndefined();
    symlinkSync('/dev/full', join(dir, 'spool-0000000002.log'));

    await expect(spool.append([point(2)])).resolves.toBe('unwritable');
    expect(spool.full).toBe(false);
    expect(spool.pendingRecords).toBe(1);
    await expect(drainAll(spool)).resolves.toEqual([1]);
  });

  it('finds a waiting event by id, and not once it was replayed', async () => {
    const spool = await start();
    await spool.append([point(1), point(2)]);
    await expect(spool.find('id-2')).resolves.toEqual(point(2));
    await expect(spool.find('id-9')).resolves.toBeUndefined();
    await drainAll(spool);
    await expect(spool.find('id-2')).resolves.toBeUndefined();
  });

  it('finds the newest of the records holding an id, in an earlier segment after a restart too', async () => {
    const first = await start();
    await first.append([{ ...point(1), eventId: 'entry_ab' }]);
    await first.append([{ ...point(2), eventId: 'again' }, point(3)]);
    await first.append([{ ...point(4), eventId: 'again' }]);
    await first.onApplicationShutdown();

    const second = await start();
    await second.append([point(5)]);

    await expect(second.find('again')).resolves.toEqual({ ...point(4), eventId: 'again' });
    await expect(second.find('ENTRY_AB')).resolves.toEqual({ ...point(1), eventId: 'entry_ab' });
    await expect(second.find('AGAIN')).resolves.toBeUndefined();
    await expect(second.find('id-5')).resolves.toEqual(point(5));
    expect(second.indexBytes).toBeGreaterThan(0);
  });

  it('reports the age of the oldest waiting point', async () => {
    const spool = await start();
    expect(spool.oldestAgeSeconds()).toBe(0);
    const tenSecondsAgo = BigInt(Date.now() - 10_000) * 1_000_000n;
    await spool.append([{ ...point(1), time: tenSecondsAgo }]);
    expect(spool.oldestAgeSeconds()).toBeGreaterThanOrEqual(9.9);
    expect(spool.oldestAgeSeconds()).toBeLessThan(15);
  });

  it('survives a truncation inside the header of the last record', async () => {
    const first = await start();
    await first.append([point(1)]);
    await first.append([point(2)]);
    await first.onApplicationShutdown();
    const [segment] = readdirSync(dir).filter((name) => name.endsWith('.log'));
    const path = join(dir, segment!);
    truncateSync(path, readFileSync(path).length - encodeRecord([point(2)]).length + 5);
    const second = await start();
    await expect(drainAll(second)).resolves.toEqual([1]);
  });
});
