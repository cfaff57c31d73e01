import { FileHandle, open, readdir, readFile, rename, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Point } from '../influx/line-protocol';
import { decodeRecord, encodeRecord } from './spool-record';
import { spoolConfig, SpoolConfig } from './spool.config';
import { ensureSpoolDir } from './spool-dir';

/** A new segment is started once the active one holds this much. */
const SEGMENT_BYTES = 8 * 1024 * 1024;
const SEGMENT_NAME = /^spool-(\d{10})\.log$/;
export const DEAD_LETTER_FILE = 'dead-letter.jsonl';

interface Segment {
  seq: number;
  path: string;
  /** Bytes written (and made durable) so far. */
  size: number;
  /** Bytes already replayed to InfluxDB, from the start. */
  drained: number;
  /** Records not replayed yet. */
  pending: number;
  /** Time of the oldest point not replayed yet, in nanoseconds. */
  oldestNs?: bigint;
}

/** A record read back for replay, with where it ends. */
export interface SpoolEntry {
  segment: number;
  end: number;
  points: Point[];
}

/** The spool cannot take more: SPOOL_MAX_BYTES is reached. */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
}

interface Append {
  data: Buffer;
  points: readonly Point[];
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The durable spool: accepted events wait here while InfluxDB cannot take them, in append-only
 * segment files under SPOOL_DIR. `append` resolves only once the record is on disk (written and
 * fdatasync'ed); concurrent appends share one write and one fdatasync. Records carry a CRC-32,
 * so that at start-up a record torn by a crash is found, reported and cut off, and a damaged
 * one skipped, without losing the records around it. Segments are deleted once replayed.
 */
@Injectable()
export class SpoolService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SpoolService.name);
  private readonly segments: Segment[] = [];
  private active?: { segment: Segment; file: FileHandle };
  private queue: Append[] = [];
  /** File operations (flushes, rotations) run one at a time, in order. */
  private ops: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Bytes of the flush being written: neither queued nor in a segment's size yet. */
  private flushingBytes = 0;
  private refusing = false;
  private readonly listeners = new Set<() => void>();
  /** Points already in the dead-letter file (read from it on first use). */
  private deadLettered?: Set<string>;

  constructor(@Inject(spoolConfig.KEY) private readonly config: SpoolConfig) {
    ensureSpoolDir(config.dir);
  }

  async onModuleInit(): Promise<void> {
    await this.recover();
    await this.startSegment();
    if (this.pendingRecords > 0) {
      this.logger.warn(
        `spool holds ${this.pendingRecords} records (${this.bytes} bytes) from an earlier run; replaying them`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ops;
    await this.active?.file.close();
    this.active = undefined;
  }

  /**
   * Full from the first append refused for size until the drainer has brought the spool below
   * SPOOL_LOW_WATER_BYTES: readiness fails meanwhile, so traffic moves to other replicas.
   */
  get full(): boolean {
    if (this.refusing && this.bytes < this.config.lowWaterBytes) this.refusing = false;
    return this.refusing;
  }

  /** Bytes waiting for InfluxDB. */
  get bytes(): number {
    const inSegments = this.segments.reduce((sum, s) => sum + s.size - s.drained, 0);
    return inSegments + this.flushingBytes + this.queuedBytes();
  }

  get pendingRecords(): number {
    return this.segments.reduce((sum, s) => sum + s.pending, 0);
  }

  /** Age of the oldest point waiting, in seconds (0 when none waits). */
  oldestAgeSeconds(nowMs = Date.now()): number {
    const oldest = this.segments.find((s) => s.pending > 0)?.oldestNs;
    return oldest === undefined
      ? 0
      : Math.max(0, nowMs / 1000 - Number(oldest / 1_000_000n) / 1000);
  }

  /**
   * Whole seconds until the drainer has likely made room (freed the bytes above the low-water
   * mark at SPOOL_DRAIN_LINES_PER_SECOND), between 1 and 300.
   */
  retryAfterSeconds(): number {
    const records = Math.max(1, this.pendingRecords);
    const bytesPerRecord = Math.max(1, this.bytes / records);
    const excess = Math.max(0, this.bytes - this.config.lowWaterBytes);
    const seconds = excess / bytesPerRecord / this.config.drainLinesPerSecond;
    return Math.min(300, Math.max(1, Math.ceil(seconds)));
  }

  /** Calls `listener` after each append (the drainer waits on it). */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Appends one record; resolves once it is durable. Throws SpoolFullError when it would take
   * the spool past SPOOL_MAX_BYTES.
   */
  append(points: readonly Point[]): Promise<void> {
    const data = encodeRecord(points);
    if (this.bytes + data.length > this.config.maxBytes) {
      this.refusing = true;
      return Promise.reject(new SpoolFullError('the spool is full (SPOOL_MAX_BYTES)'));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, points, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.ops = this.ops.then(() => this.flush());
        });
      }
    });
  }

  /** The next records to replay, oldest first, up to about `maxPoints` points. */
  async next(maxPoints: number): Promise<SpoolEntry[]> {
    const segment = this.segments.find((s) => s.drained < s.size);
    if (!segment) return [];
    const file = await open(segment.path, 'r');
    let buffer: Buffer;
    try {
      // Enough for the first record whatever its size, and more records after it.
      const header = Buffer.alloc(4);
      await file.read(header, 0, 4, segment.drained);
      const length = Math.min(
        segment.size - segment.drained,
        Math.max(4 * 1024 * 1024, header.readUInt32LE(0) + 8),
      );
      buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, segment.drained);
    } finally {
      await file.close();
    }
    const entries: SpoolEntry[] = [];
    let offset = 0;
    let points = 0;
    while (offset < buffer.length && points < maxPoints) {
      const result = decodeRecord(buffer.subarray(offset));
      if (result.kind === 'incomplete') {
        if (offset === 0)
          throw new Error(`spool record at ${segment.path}:${segment.drained} is cut short`);
        break;
      }
      if (result.kind === 'corrupt') {
        // Recovery has already cut or skipped damaged records; this is a damaged disk.
        throw new Error(
          `spool record at ${segment.path}:${segment.drained + offset}: ${result.reason}`,
        );
      }
      offset += result.bytes;
      points += result.points.length;
      entries.push({ segment: segment.seq, end: segment.drained + offset, points: result.points });
    }
    return entries;
  }

  /** Marks records up to `entry` (inclusive) as stored in InfluxDB; frees replayed segments. */
  async drained(entry: SpoolEntry, records: number, nextOldestNs?: bigint): Promise<void> {
    const segment = this.segments.find((s) => s.seq === entry.segment);
    if (!segment) return;
    segment.drained = entry.end;
    segment.pending -= records;
    segment.oldestNs = segment.pending > 0 ? nextOldestNs : undefined;
    if (segment.drained < segment.size) return;
    if (segment === this.active?.segment) {
      // Start a new segment so that the replayed one can go. Appends queued before the
      // rotation still land in this one: then it is not fully replayed any more, and stays.
      this.ops = this.ops.then(() => this.rotate());
      await this.ops;
      if (segment.drained < segment.size) return;
    }
    await this.remove(segment);
  }

  /** The spooled event with that id, if it is still waiting. */
  async find(eventId: string): Promise<Point | undefined> {
    const needle = Buffer.from(`"id":${JSON.stringify(eventId)}`);
    for (const segment of [...this.segments].reverse()) {
      if (segment.pending === 0) continue;
      const data = await readFile(segment.path).catch(() => Buffer.alloc(0));
      if (data.indexOf(needle, segment.drained) < 0) continue;
      let offset = segment.drained;
      let found: Point | undefined;
      while (offset < data.length) {
        const result = decodeRecord(data.subarray(offset));
        if (result.kind !== 'record') break;
        found = result.points.find((p) => p.eventId === eventId) ?? found;
        offset += result.bytes;
      }
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Keeps a point InfluxDB will never take (a type conflict found only at replay) in
   * `dead-letter.jsonl` beside the spool, for ops to look at and send again: acknowledged means
   * not lost. One JSON object per line, `tags` and `fields` as objects, so that a line is a
   * point of the 1.1 API once `reason`, `time` and `event_id` are dropped (docs/OPERATIONS.md, "Dead letters"). A point
   * already in the file (a replay tried again after a failure) is not written again. Resolves
   * to whether it was written.
   */
  async deadLetter(point: Point, reason: string): Promise<boolean> {
    const path = join(this.config.dir, DEAD_LETTER_FILE);
    this.deadLettered ??= await readDeadLetterKeys(path);
    const key = deadLetterKey(point.measurement, point.tags, point.time);
    if (this.deadLettered.has(key)) return false;
    const line = JSON.stringify({
      reason,
      measurement: point.measurement,
      tags: Object.fromEntries(point.tags),
      fields: Object.fromEntries(point.fields),
      time: String(point.time),
      event_id: point.eventId,
    });
    const file = await open(path, 'a');
    try {
      await file.write(`${line}\n`);
      await file.datasync();
    } finally {
      await file.close();
    }
    this.deadLettered.add(key);
    // The reason may quote the line (values included): it goes to the file, not the log.
    this.logger.error(
      `spool: a point InfluxDB refuses was moved to ${DEAD_LETTER_FILE} (measurement ${point.measurement})`,
    );
    return true;
  }

  private queuedBytes(): number {
    return this.queue.reduce((sum, a) => sum + a.data.length, 0);
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushingBytes = batch.reduce((sum, a) => sum + a.data.length, 0);
    try {
      if (!this.active || this.active.segment.size >= SEGMENT_BYTES) await this.rotate();
      const { segment, file } = this.active!;
      await file.writev(
        batch.map((a) => a.data),
        segment.size,
      );
      await file.datasync();
      segment.size += this.flushingBytes;
      this.flushingBytes = 0;
      segment.pending += batch.length;
      segment.oldestNs ??= batch[0]!.points[0]?.time;
      for (const append of batch) append.resolve();
      for (const listener of this.listeners) listener();
    } catch (error) {
      this.flushingBytes = 0;
      // Whatever part of the batch reached the file lies beyond `size`: the next flush writes
      // over it, and the file is cut back now so that a restart does not read it either.
      await this.active?.file.truncate(this.active.segment.size).catch(() => undefined);
      this.logger.error(
        `spool write failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      for (const append of batch) append.reject(error);
    }
  }

  private async startSegment(): Promise<void> {
    const seq = (this.segments.at(-1)?.seq ?? 0) + 1;
    const path = join(this.config.dir, `spool-${String(seq).padStart(10, '0')}.log`);
    // Positional writes at `size` (not O_APPEND): a failed write is overwritten by the next.
    const file = await open(path, 'w');
    await syncDir(this.config.dir);
    const segment: Segment = { seq, path, size: 0, drained: 0, pending: 0 };
    this.segments.push(segment);
    this.active = { segment, file };
  }

  private async rotate(): Promise<void> {
    await this.active?.file.close();
    await this.startSegment();
  }

  private async remove(segment: Segment): Promise<void> {
    if (segment === this.active?.segment) return;
    const index = this.segments.indexOf(segment);
    if (index >= 0) this.segments.splice(index, 1);
    await unlink(segment.path).catch(() => undefined);
  }

  /**
   * Reads what an earlier process left. A record cut short at the end of a segment (a crash
   * mid-write) is reported and cut off; a damaged record inside a segment is reported and
   * skipped by searching for the next whole record, so the records after it are kept.
   */
  private async recover(): Promise<void> {
    this.segments.length = 0;
    const names = (await readdir(this.config.dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    for (const name of names) {
      const path = join(this.config.dir, name);
      const data = await readFile(path);
      const segment: Segment = {
        seq: Number(SEGMENT_NAME.exec(name)![1]),
        path,
        size: data.length,
        drained: 0,
        pending: 0,
      };
      let offset = 0;
      while (offset < data.length) {
        const result = decodeRecord(data.subarray(offset));
        if (result.kind === 'record') {
          segment.pending++;
          segment.oldestNs ??= result.points[0]?.time;
          offset += result.bytes;
          continue;
        }
        // A damaged length can look like a record cut short: look for a whole record after it
        // before taking the rest for a torn tail.
        const next = findNextRecord(data, offset + 1);
        if (next < 0) {
          this.logger.warn(
            `spool ${name}: ${data.length - offset} bytes at offset ${offset} are a torn or damaged last record; skipped`,
          );
          await truncate(path, offset);
          await syncDir(this.config.dir);
          segment.size = offset;
          break;
        }
        this.logger.error(
          `spool ${name}: damaged record at offset ${offset} (${result.kind === 'corrupt' ? result.reason : 'bad length'}); skipped ${next - offset} bytes`,
        );
        // The replay reads records in sequence: keep the good ones by rewriting the segment.
        const repaired = Buffer.concat([data.subarray(0, offset), data.subarray(next)]);
        await writeWhole(path, repaired);
        return this.recover();
      }
      if (segment.size === 0) await unlink(path);
      else this.segments.push(segment);
    }
    if (this.segments.length > 0) {
      this.logger.log(`spool: ${this.segments.length} segment(s) to replay`);
    }
  }
}

/** One point in the dead-letter file: a point is one series at one time. */
function deadLetterKey(
  measurement: string,
  tags: Iterable<readonly [string, string]>,
  time: bigint | string,
): string {
  const series = [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([measurement, series, String(time)]);
}

async function readDeadLetterKeys(path: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const text = await readFile(path, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    try {
      const letter = JSON.parse(line) as {
        measurement: string;
        tags: Record<string, string>;
        time: string;
      };
      keys.add(deadLetterKey(letter.measurement, Object.entries(letter.tags), letter.time));
    } catch {
      // an empty last line, or a line ops edited: it names no point
    }
  }
  return keys;
}

function findNextRecord(data: Buffer, from: number): number {
  for (let at = from; at + 8 <= data.length; at++) {
    if (decodeRecord(data.subarray(at)).kind === 'record') return at;
  }
  return -1;
}

/** Makes a file's creation, rename or truncation durable: fdatasync alone does not. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeWhole(path: string, data: Buffer): Promise<void> {
  const file = await open(`${path}.tmp`, 'w');
  try {
    await file.write(data);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(`${path}.tmp`, path);
  await syncDir(dirname(path));
}
