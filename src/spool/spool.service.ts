import { FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DeadLetterFile } from './dead-letter';
import {
  newSegment,
  readForReplay,
  readRecordAt,
  segmentName,
  syncDir,
  type Segment,
  type SpoolEntry,
} from './segment';
import { idKey } from './spool-index';
import { encodeRecord, type SpoolPoint } from './spool-record';
import { recoverSegments } from './spool-recovery';
import { spoolConfig, SpoolConfig } from './spool.config';
import { ensureSpoolDir } from './spool-dir';

export type { SpoolEntry } from './segment';
export { DEAD_LETTER_FILE } from './dead-letter';

/** A new segment is started once the active one holds this much. */
const SEGMENT_BYTES = 8 * 1024 * 1024;

/**
 * Why an append kept nothing: `full`, SPOOL_MAX_BYTES is reached; `unwritable`, the write or
 * its fdatasync failed (a disk error, not the cap).
 */
export type AppendFailure = 'full' | 'unwritable';

interface Append {
  data: Buffer;
  points: readonly SpoolPoint[];
  resolve(failure: AppendFailure | undefined): void;
}

/**
 * The durable spool: accepted events wait here while InfluxDB cannot take them, in append-only
 * segment files under SPOOL_DIR. `append` resolves only once the record is on disk (written and
 * fdatasync'ed); concurrent appends share one write and one fdatasync. Records carry a CRC-32,
 * so that at start-up a record torn by a crash is found, reported and cut off, and a damaged
 * one skipped, without losing the records around it (spool-recovery.ts). Segments are deleted
 * once replayed. An index in memory (spool-index.ts) knows which record holds which event id.
 */
@Injectable()
export class SpoolService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SpoolService.name);
  private segments: Segment[] = [];
  private active?: { segment: Segment; file: FileHandle };
  private queue: Append[] = [];
  private queuedBytes = 0;
  /** File operations (flushes, rotations) run one at a time, in order. */
  private ops: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Bytes of the flush being written: neither queued nor in a segment's size yet. */
  private flushingBytes = 0;
  private refusing = false;
  private readonly listeners = new Set<() => void>();
  private readonly deadLetters: DeadLetterFile;

  constructor(@Inject(spoolConfig.KEY) private readonly config: SpoolConfig) {
    ensureSpoolDir(config.dir);
    this.deadLetters = new DeadLetterFile(config.dir, this.logger);
  }

  async onModuleInit(): Promise<void> {
    this.segments = await recoverSegments(this.config.dir, this.logger);
    if (this.segments.length > 0) {
      this.logger.warn(
        `spool holds ${this.pendingRecords} records (${this.bytes} bytes) in ${this.segments.length} segment(s) from an earlier run; replaying them`,
      );
    }
    await this.startSegment();
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
    let bytes = this.flushingBytes + this.queuedBytes;
    for (const segment of this.segments) bytes += segment.size - segment.drained;
    return bytes;
  }

  get pendingRecords(): number {
    let records = 0;
    for (const segment of this.segments) records += segment.pending;
    return records;
  }

  /** Bytes of memory the index of event ids holds. */
  get indexBytes(): number {
    let bytes = 0;
    for (const segment of this.segments) bytes += segment.index.bytes;
    return bytes;
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
   * Appends one record; resolves once it is durable (undefined), or with why nothing was kept:
   * `full` at once when it would take the spool past SPOOL_MAX_BYTES.
   */
  append(points: readonly SpoolPoint[]): Promise<AppendFailure | undefined> {
    const data = encodeRecord(points);
    if (this.bytes + data.length > this.config.maxBytes) {
      this.refusing = true;
      return Promise.resolve('full');
    }
    return new Promise((resolve) => {
      this.queue.push({ data, points, resolve });
      this.queuedBytes += data.length;
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
    return segment ? readForReplay(segment, maxPoints) : [];
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

  /**
   * The spooled point of the event with that id, if it still waits (the newest, if the id was
   * sent more than once). Reads no disk unless the index says a record may hold it.
   */
  async find(eventId: string): Promise<SpoolPoint | undefined> {
    const key = idKey(eventId);
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const segment = this.segments[s]!;
      if (segment.pending === 0) continue;
      for (const offset of segment.index.candidates(key)) {
        if (offset < segment.drained) break; // replayed: in InfluxDB now
        const points = await readRecordAt(segment.path, offset);
        const found = points?.findLast((p) => p.eventId !== undefined && idKey(p.eventId) === key);
        // The record may have been replayed, and its segment deleted, while it was read.
        if (found && offset >= segment.drained && this.segments.includes(segment)) return found;
      }
    }
    return undefined;
  }

  /**
   * Keeps a point InfluxDB will never take in the dead-letter file (dead-letter.ts), once;
   * resolves to whether it was written.
   */
  deadLetter(point: SpoolPoint, reason: string): Promise<boolean> {
    return this.deadLetters.add(point, reason);
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushingBytes = this.queuedBytes;
    this.queuedBytes = 0;
    try {
      if (!this.active || this.active.segment.size >= SEGMENT_BYTES) await this.rotate();
      const { segment, file } = this.active!;
      await file.writev(
        batch.map((a) => a.data),
        segment.size,
      );
      await file.datasync();
      let offset = segment.size;
      for (const append of batch) {
        for (const point of append.points) {
          if (point.eventId !== undefined) segment.index.add(point.eventId, offset);
        }
        offset += append.data.length;
      }
      segment.size = offset;
      this.flushingBytes = 0;
      segment.pending += batch.length;
      segment.oldestNs ??= batch[0]!.points[0]?.time;
      for (const append of batch) append.resolve(undefined);
      for (const listener of this.listeners) listener();
    } catch (error) {
      this.flushingBytes = 0;
      // Whatever part of the batch reached the file lies beyond `size`: the next flush writes
      // over it, and the file is cut back now so that a restart does not read it either.
      await this.active?.file.truncate(this.active.segment.size).catch(() => undefined);
      this.logger.error(
        `spool write failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      for (const append of batch) append.resolve('unwritable');
    }
  }

  private async startSegment(): Promise<void> {
    const seq = (this.segments.at(-1)?.seq ?? 0) + 1;
    const path = join(this.config.dir, segmentName(seq));
    // Positional writes at `size` (not O_APPEND): a failed write is overwritten by the next.
    const file = await open(path, 'w');
    await syncDir(this.config.dir);
    const segment = newSegment(seq, path);
    this.segments.push(segment);
    this.active = { segment, file };
  }

  private async rotate(): Promise<void> {
    this.active?.segment.index.seal();
    await this.active?.file.close();
    await this.startSegment();
  }

  private async remove(segment: Segment): Promise<void> {
    if (segment === this.active?.segment) return;
    this.segments = this.segments.filter((s) => s !== segment);
    await unlink(segment.path).catch(() => undefined);
  }
}
