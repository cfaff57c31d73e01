import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DedupIndex } from './dedup-index';

const LOG_NAME = /^stamps-(\d{12})\.log$/;
/** One record: the id's hash (float64), its point's time (int64 ns), when seen (float64 ms). */
export const RECORD_BYTES = 24;
const DAY_MS = 86_400_000;

/**
 * The dedup index on disk, in SPOOL_DIR: append-only `stamps-NNNNNNNNNNNN.log` files of fixed
 * 24-byte records (little-endian), one per client id stamped: its cyrb53 hash (not the id), the
 * time its point got, and when it was seen. The records of a turn of the event loop go out in
 * one write() (StampRecords, EventStamper.commit), before any answer to those events can: once
 * the answer has left, the record is in the kernel, so a kill -9 does not lose it (a power loss
 * can lose the last ones, as it can any write not synced). At start the files are read back in
 * order (a record cut short by a crash is left out), the index rebuilt and written out anew as
 * one file (the older ones deleted); the same happens when as many records were appended as
 * the index holds.
 */
export class StampLog {
  private fd?: number;
  private seq = 0;
  private appended = 0;

  constructor(private readonly dir: string) {}

  /** Reads every log into `index` (which drops what is too old), then compacts. */
  load(index: DedupIndex, nowMs: number): void {
    const names = readdirSync(this.dir)
      .filter((name) => LOG_NAME.test(name))
      .sort();
    for (const name of names) {
      this.seq = Math.max(this.seq, Number(LOG_NAME.exec(name)![1]));
      const bytes = readFileSync(join(this.dir, name));
      for (let at = 0; at + RECORD_BYTES <= bytes.length; at += RECORD_BYTES) {
        const hash = bytes.readDoubleLE(at);
        const stamp = bytes.readBigInt64LE(at + 8);
        const seenAt = bytes.readDoubleLE(at + 16);
        // Anything but a record this service wrote (a damaged file) is left out.
        if (!Number.isSafeInteger(hash) || hash < 0 || stamp < 0n) continue;
        if (!Number.isSafeInteger(seenAt) || seenAt > nowMs + DAY_MS) continue;
        index.add(hash, stamp, seenAt);
      }
    }
    index.expire(nowMs);
    this.compact(index, names);
  }

  /** Appends `count` records in one write; compacts when the logs grew enough. */
  append(records: Buffer, count: number, index: DedupIndex): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, records, 0, count * RECORD_BYTES);
    this.appended += count;
    if (this.appended >= index.capacity) this.compact(index, this.current());
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private current(): string[] {
    return readdirSync(this.dir).filter((name) => LOG_NAME.test(name));
  }

  /** Writes the index as a new log (synced, then renamed in), deletes `old`, appends there. */
  private compact(index: DedupIndex, old: readonly string[]): void {
    this.close();
    this.seq += 1;
    const name = `stamps-${String(this.seq).padStart(12, '0')}.log`;
    const temporary = join(this.dir, `${name}.tmp`);
    const fd = openSync(temporary, 'w');
    const chunk = new StampRecords(1 << 16);
    for (const [hash, stamp, seenAt] of index.entries()) {
      chunk.push(hash, stamp, seenAt);
      if (chunk.count === 1 << 16) {
        writeSync(fd, chunk.buffer, 0, chunk.count * RECORD_BYTES);
        chunk.count = 0;
      }
    }
    writeSync(fd, chunk.buffer, 0, chunk.count * RECORD_BYTES);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, join(this.dir, name));
    for (const oldName of old) if (oldName !== name) unlinkSync(join(this.dir, oldName));
    this.fd = openSync(join(this.dir, name), 'a');
    this.appended = 0;
  }
}

/** Records waiting to be written, in a buffer that grows as needed (no string per record). */
export class StampRecords {
  buffer: Buffer;
  count = 0;

  constructor(capacity = 1024) {
    this.buffer = Buffer.allocUnsafe(capacity * RECORD_BYTES);
  }

  push(hash: number, stamp: bigint, seenAtMs: number): void {
    let at = this.count * RECORD_BYTES;
    if (at + RECORD_BYTES > this.buffer.length) {
      const grown = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.buffer.writeDoubleLE(hash, at);
    this.buffer.writeBigInt64LE(stamp, (at += 8));
    this.buffer.writeDoubleLE(seenAtMs, at + 8);
    this.count += 1;
  }
}
