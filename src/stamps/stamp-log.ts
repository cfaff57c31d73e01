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

/**
 * The dedup index on disk, in SPOOL_DIR: append-only `stamps-NNNNNNNNNNNN.log` files, one line
 * per client id stamped (`hash stamp seenAtMs`, the id's cyrb53 hash, not the id). A line is
 * written before the event is stored or spooled, with one write() per request: once the answer
 * has left, the line is in the kernel, so a kill -9 does not lose it (a power loss can lose the
 * last lines, as it can any write not synced). At start the files are read back in order, the
 * index rebuilt, and written out anew as one file (the older ones deleted); the same happens
 * when as many lines were appended as the index holds.
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
      for (const line of readFileSync(join(this.dir, name), 'latin1').split('\n')) {
        const [hash, stamp, seenAt] = line.split(' ');
        // A line cut short by a crash has no third part: skipped.
        if (seenAt === undefined || !/^\d+$/.test(stamp!) || !/^\d+$/.test(seenAt)) continue;
        index.add(Number(hash), BigInt(stamp!), Number(seenAt));
      }
    }
    index.expire(nowMs);
    this.compact(index, names);
  }

  /** Appends lines (each ending in `\n`) in one write; compacts when the logs grew enough. */
  append(lines: string, count: number, index: DedupIndex): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, lines);
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
    let chunk = '';
    for (const [hash, stamp, seenAt] of index.entries()) {
      chunk += `${hash} ${stamp} ${seenAt}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, join(this.dir, name));
    for (const oldName of old) if (oldName !== name) unlinkSync(join(this.dir, oldName));
    this.fd = openSync(join(this.dir, name), 'a');
    this.appended = 0;
  }
}
