import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DedupIndex } from './dedup-index';
import { RECORD_BYTES, StampLog, StampRecords } from './stamp-log';

const HOUR_MS = 3_600_000;
const T0 = 1_796_282_700_000;

type Row = [hash: number, stamp: bigint, seenAtMs: number];

/** Records as the format says (written here, not by the code under test). */
function encode(rows: readonly Row[]): Buffer {
  const bytes = Buffer.alloc(rows.length * RECORD_BYTES);
  rows.forEach(([hash, stamp, seenAt], i) => {
    bytes.writeDoubleLE(hash, i * RECORD_BYTES);
    bytes.writeBigInt64LE(stamp, i * RECORD_BYTES + 8);
    bytes.writeDoubleLE(seenAt, i * RECORD_BYTES + 16);
  });
  return bytes;
}

describe(StampLog.name, () => {
  let dir: string;
  let opened: StampLog[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stamp-log-'));
    opened = [];
  });
  afterEach(() => {
    for (const log of opened) log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A StampLog on `dir`, left open as a killed process leaves it (closed after the test). */
  function open(): StampLog {
    const log = new StampLog(dir);
    opened.push(log);
    return log;
  }

  const write = (name: string, bytes: Buffer | string) => writeFileSync(join(dir, name), bytes);
  const files = () => readdirSync(dir).sort();

  function decode(name: string): Row[] {
    const bytes = readFileSync(join(dir, name));
    expect(bytes.length % RECORD_BYTES).toBe(0);
    const rows: Row[] = [];
    for (let at = 0; at < bytes.length; at += RECORD_BYTES) {
      rows.push([
        bytes.readDoubleLE(at),
        bytes.readBigInt64LE(at + 8),
        bytes.readDoubleLE(at + 16),
      ]);
    }
    return rows;
  }

  /** Stamps `rows` as EventStamper does: into the index, then one append for them all. */
  function stamp(log: StampLog, index: DedupIndex, rows: readonly Row[]): void {
    const records = new StampRecords(1);
    for (const row of rows) {
      index.add(...row);
      records.push(...row);
    }
    log.append(records.buffer, records.count, index);
  }

  /** A new process on the same directory: a new StampLog loading into a new index. */
  function restart(capacity = 100, nowMs = T0): DedupIndex {
    const index = new DedupIndex(capacity, HOUR_MS);
    open().load(index, nowMs);
    return index;
  }

  it('writes a record as 24 little-endian bytes: hash (float64), time (int64), seen (float64 ms)', () => {
    const index = new DedupIndex(100, HOUR_MS);
    const log = open();
    log.load(index, T0);

    stamp(log, index, [[1, 0x0102030405060708n, 2 ** 40]]);

    expect(files()).toEqual(['stamps-000000000001.log']);
    expect(readFileSync(join(dir, 'stamps-000000000001.log')).toString('hex')).toBe(
      '000000000000f03f' + '0807060504030201' + '0000000000007042',
    );
  });

  it('gives a new StampLog on the same directory every record appended, in order, as one log', () => {
    const index = new DedupIndex(100, HOUR_MS);
    const log = open();
    log.load(index, T0 - 60_000);
    const rows: Row[] = [
      [7929297801672961, 1_796_282_640_000_672_961n, T0 - 60_000],
      [8684336938537663, 1_796_282_650_000_123_456n, T0 - 50_000],
    ];
    stamp(log, index, rows.slice(0, 1));
    stamp(log, index, rows.slice(1));

    // No close: as after kill -9, only what was written is there.
    const again = restart();

    expect([...again.entries()]).toEqual(rows);
    expect(again.get(7929297801672961, T0)).toBe(1_796_282_640_000_672_961n);
    expect(files()).toEqual(['stamps-000000000002.log']);
    expect(decode('stamps-000000000002.log')).toEqual(rows);
  });

  it('cuts off a record torn at the end of a log, and appends whole records after the rest', () => {
    const whole: Row[] = [
      [11, 110n, T0 - 3000],
      [12, 120n, T0 - 2000],
    ];
    write(
      'stamps-000000000001.log',
      Buffer.concat([encode(whole), encode([[13, 130n, T0]]).subarray(0, 10)]),
    );

    const index = new DedupIndex(100, HOUR_MS);
    const log = open();
    log.load(index, T0);
    stamp(log, index, [[14, 140n, T0 + 1]]);

    expect(index.get(13, T0)).toBeUndefined();
    expect(decode('stamps-000000000002.log')).toEqual([...whole, [14, 140n, T0 + 1]]);
    expect([...restart(100, T0 + 1).entries()]).toEqual([...whole, [14, 140n, T0 + 1]]);
  });

  it('reads the logs in the order of their numbers, each to its end, a later record of an id winning', () => {
    write(
      'stamps-000000000010.log',
      encode([
        [2, 21n, T0 - 1000],
        [1, 12n, T0 - 500],
      ]),
    );
    // Torn at its end: the next log is still read from its start.
    write(
      'stamps-000000000009.log',
      Buffer.concat([
        encode([
          [1, 11n, T0 - 3000],
          [3, 30n, T0 - 2000],
        ]),
        Buffer.alloc(7, 0xff),
      ]),
    );

    const index = restart();

    expect([1, 2, 3].map((hash) => index.get(hash, T0))).toEqual([12n, 21n, 30n]);
    expect(files()).toEqual(['stamps-000000000011.log']);
    expect(restart().get(1, T0)).toBe(12n);
  });

  it('compacts into one new log, the older deleted, once as many records were appended as the index holds', () => {
    const index = new DedupIndex(3, HOUR_MS);
    const log = open();
    log.load(index, T0);
    stamp(log, index, [
      [1, 10n, T0],
      [2, 20n, T0],
    ]);
    expect(files()).toEqual(['stamps-000000000001.log']);

    stamp(log, index, [[3, 30n, T0 + 1]]);

    expect(files()).toEqual(['stamps-000000000002.log']);
    expect(decode('stamps-000000000002.log')).toEqual([
      [1, 10n, T0],
      [2, 20n, T0],
      [3, 30n, T0 + 1],
    ]);
    stamp(log, index, [[4, 40n, T0 + 2]]);
    expect(decode('stamps-000000000002.log')).toHaveLength(4);
    expect([...restart(3, T0 + 2).entries()].map(([hash]) => hash)).toEqual([2, 3, 4]);
  });

  it('keeps only the newest records the index holds, and drops those older than its window', () => {
    write(
      'stamps-000000000001.log',
      encode([
        [1, 10n, T0 - 2 * HOUR_MS],
        [2, 20n, T0 - HOUR_MS - 1],
        [3, 30n, T0 - HOUR_MS],
        [4, 40n, T0 - 60_000],
        [5, 50n, T0],
      ]),
    );

    const index = restart(2, T0);

    expect([...index.entries()]).toEqual([
      [4, 40n, T0 - 60_000],
      [5, 50n, T0],
    ]);
    expect(decode('stamps-000000000002.log')).toEqual([...index.entries()]);
    expect([...restart(100, T0 + HOUR_MS - 30_000).entries()].map(([hash]) => hash)).toEqual([5]);
  });

  it('leaves out records it cannot have written: hash not a whole number ≥ 0, time < 0, seen not whole or over a day ahead', () => {
    const kept: Row[] = [
      [0, 0n, T0 - 1000],
      [2 ** 53 - 1, 5n, T0 + 24 * HOUR_MS],
    ];
    write(
      'stamps-000000000001.log',
      encode([
        [-1, 10n, T0],
        [1.5, 10n, T0],
        [2 ** 53, 10n, T0],
        [Number.NaN, 10n, T0],
        kept[0]!,
        [6, -1n, T0],
        [7, 10n, T0 + 0.5],
        [8, 10n, Number.NaN],
        [9, 10n, T0 + 24 * HOUR_MS + 1],
        kept[1]!,
      ]),
    );

    // A window of two days, so that the record seen a day ahead expires nothing.
    const index = new DedupIndex(100, 48 * HOUR_MS);

    open().load(index, T0);

    expect([...index.entries()]).toEqual(kept);
  });

  it('leaves files of other names alone: not read, not deleted, not counted in the numbering', () => {
    const foreign = {
      'notes.txt': 'hello',
      'spool-0000000001.log': encode([[1, 10n, T0]]),
      'stamps-1.log': encode([[2, 20n, T0]]),
      'stamps-000000000099.log.bak': encode([[3, 30n, T0]]),
    };
    for (const [name, bytes] of Object.entries(foreign)) write(name, bytes);

    const index = restart();

    expect(index.size).toBe(0);
    expect(files()).toEqual([...Object.keys(foreign), 'stamps-000000000001.log'].sort());
    for (const [name, bytes] of Object.entries(foreign)) {
      expect(readFileSync(join(dir, name))).toEqual(Buffer.from(bytes));
    }
  });

  it('rebuilds from the older log after a crash between writing the new one and its rename', () => {
    write('stamps-000000000003.log', encode([[1, 10n, T0 - 1000]]));
    // The new log half written: its records (an id stamped since) are not there for good yet.
    write(
      'stamps-000000000004.log.tmp',
      encode([
        [1, 10n, T0 - 1000],
        [2, 20n, T0 - 500],
      ]).subarray(0, 30),
    );

    const index = restart();

    expect([...index.entries()]).toEqual([[1, 10n, T0 - 1000]]);
    expect(files()).toEqual(['stamps-000000000004.log']);
    expect(decode('stamps-000000000004.log')).toEqual([[1, 10n, T0 - 1000]]);
  });

  it('writes nothing before load or after close', () => {
    const index = new DedupIndex(100, HOUR_MS);
    const log = open();
    stamp(log, index, [[1, 10n, T0]]);
    expect(files()).toEqual([]);

    log.load(new DedupIndex(100, HOUR_MS), T0);
    log.close();
    stamp(log, index, [[2, 20n, T0]]);

    expect(readFileSync(join(dir, 'stamps-000000000001.log'))).toHaveLength(0);
  });
});
