import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SegmentIndex } from './spool-index';
import { decodeRecord, HEADER_BYTES, type SpoolPoint } from './spool-record';

/** One append-only segment file of the spool: `spool-<10 digits>.log` in SPOOL_DIR. */
export interface Segment {
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
  /** The event ids of its records. */
  index: SegmentIndex;
}

export const SEGMENT_NAME = /^spool-(\d{10})\.log$/;

export function segmentName(seq: number): string {
  return `spool-${String(seq).padStart(10, '0')}.log`;
}

export function newSegment(seq: number, path: string): Segment {
  return { seq, path, size: 0, drained: 0, pending: 0, index: new SegmentIndex() };
}

/** A record read back for replay, with where it ends. */
export interface SpoolEntry {
  segment: number;
  end: number;
  points: SpoolPoint[];
}

/** The records of `segment` from where its replay stands, up to about `maxPoints` points. */
export async function readForReplay(segment: Segment, maxPoints: number): Promise<SpoolEntry[]> {
  const file = await open(segment.path, 'r');
  let buffer: Buffer;
  try {
    // Enough for the first record whatever its size, and more records after it.
    const header = Buffer.alloc(4);
    await file.read(header, 0, 4, segment.drained);
    const length = Math.min(
      segment.size - segment.drained,
      Math.max(4 * 1024 * 1024, header.readUInt32LE(0) + HEADER_BYTES),
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

/** The points of the one record at `offset` of a segment (undefined if it cannot be read). */
export async function readRecordAt(
  path: string,
  offset: number,
): Promise<SpoolPoint[] | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return undefined;
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, offset);
    if (bytesRead < HEADER_BYTES) return undefined;
    // A damaged length must not size the buffer: it could claim up to 4 GiB.
    const length = HEADER_BYTES + header.readUInt32LE(0);
    if (offset + length > (await file.stat()).size) return undefined;
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, offset);
    const result = decodeRecord(buffer);
    return result.kind === 'record' ? result.points : undefined;
  } finally {
    await file.close();
  }
}

/** Makes a file's creation, rename or truncation durable: fdatasync alone does not. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces a file's content whole: a temporary file, fdatasync'ed, renamed over it. */
export async function writeWhole(path: string, data: Buffer): Promise<void> {
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
