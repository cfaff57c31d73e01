import { readdir, readFile, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import { newSegment, SEGMENT_NAME, syncDir, writeWhole, type Segment } from './segment';
import { decodeRecord } from './spool-record';

/**
 * Reads what an earlier process left in SPOOL_DIR, oldest segment first, and indexes its event
 * ids. A record cut short at the end of a segment (a crash mid-write) is reported and cut off;
 * a damaged record inside a segment is reported and skipped by searching for the next whole
 * record, so the records after it are kept. Empty segments are deleted. Every segment found is
 * sealed: new records go to a new one.
 */
export async function recoverSegments(
  dir: string,
  logger: Pick<Logger, 'warn' | 'error'>,
): Promise<Segment[]> {
  const segments: Segment[] = [];
  const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  for (const name of names) {
    const path = join(dir, name);
    const data = await readFile(path);
    const segment = newSegment(Number(SEGMENT_NAME.exec(name)![1]), path);
    segment.size = data.length;
    let offset = 0;
    while (offset < data.length) {
      const result = decodeRecord(data.subarray(offset));
      if (result.kind === 'record') {
        segment.pending++;
        segment.oldestNs ??= result.points[0]?.time;
        for (const point of result.points) {
          if (point.eventId !== undefined) segment.index.add(point.eventId, offset);
        }
        offset += result.bytes;
        continue;
      }
      // A damaged length can look like a record cut short: look for a whole record after it
      // before taking the rest for a torn tail.
      const next = findNextRecord(data, offset + 1);
      if (next < 0) {
        logger.warn(
          `spool ${name}: ${data.length - offset} bytes at offset ${offset} are a torn or damaged last record; skipped`,
        );
        await truncate(path, offset);
        await syncDir(dir);
        segment.size = offset;
        break;
      }
      logger.error(
        `spool ${name}: damaged record at offset ${offset} (${result.kind === 'corrupt' ? result.reason : 'bad length'}); skipped ${next - offset} bytes`,
      );
      // The replay reads records in sequence: keep the good ones by rewriting the segment.
      const repaired = Buffer.concat([data.subarray(0, offset), data.subarray(next)]);
      await writeWhole(path, repaired);
      return recoverSegments(dir, logger);
    }
    if (segment.size === 0) {
      await unlink(path);
      continue;
    }
    segment.index.seal();
    segments.push(segment);
  }
  return segments;
}

function findNextRecord(data: Buffer, from: number): number {
  for (let at = from; at + 8 <= data.length; at++) {
    if (decodeRecord(data.subarray(at)).kind === 'record') return at;
  }
  return -1;
}
