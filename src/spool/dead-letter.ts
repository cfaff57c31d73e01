import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import type { SpoolPoint } from './spool-record';

export const DEAD_LETTER_FILE = 'dead-letter.jsonl';

/**
 * `dead-letter.jsonl` beside the spool: the points InfluxDB will never take (a type conflict found
 * only at replay), kept for ops to look at and send again, since acknowledged means not lost. One
 * JSON object per line, `tags` and `fields` as objects, so that a line is a point of the 1.1 API
 * once `reason`, `time` and `event_id` are dropped (docs/OPERATIONS.md, "Dead letters"). A point
 * already in the file (a replay tried again after a failure) is not written again.
 */
export class DeadLetterFile {
  readonly path: string;
  /** Points already in the file (read from it on first use). */
  private written?: Set<string>;

  constructor(
    dir: string,
    private readonly logger: Pick<Logger, 'error'>,
  ) {
    this.path = join(dir, DEAD_LETTER_FILE);
  }

  /** Appends the point (durably) unless it is there already; resolves to whether it wrote. */
  async add(point: SpoolPoint, reason: string): Promise<boolean> {
    this.written ??= await readKeys(this.path);
    const key = pointKey(point.measurement, point.tags, point.time);
    if (this.written.has(key)) return false;
    const line = jsonWithIntegers({
      reason,
      measurement: point.measurement,
      tags: Object.fromEntries(point.tags),
      fields: Object.fromEntries(point.fields),
      time: String(point.time),
      event_id: point.eventId,
    });
    const file = await open(this.path, 'a');
    try {
      await file.write(`${line}\n`);
      await file.datasync();
    } finally {
      await file.close();
    }
    this.written.add(key);
    // The reason may quote the line (values included): it goes to the file, not the log.
    this.logger.error(
      `spool: a point InfluxDB refuses was moved to ${DEAD_LETTER_FILE} (measurement ${point.measurement})`,
    );
    return true;
  }
}

/**
 * A lone high surrogate before a bigint's digits while the JSON is written: no text of a point
 * holds one (they have no UTF-8 form, and are refused), so the mark is found only where put.
 */
const MARK = '\uDBFF';
const MARKED = /"\\udbff(-?\d+)"/g;

/** JSON.stringify, with bigints (integers beyond ±2^53) written as their digits. */
function jsonWithIntegers(value: unknown): string {
  let marked = false;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'bigint') return item;
    marked = true;
    return `${MARK}${item}`;
  });
  return marked ? text.replace(MARKED, '$1') : text;
}

/** One point in the dead-letter file: a point is one series at one time. */
function pointKey(
  measurement: string,
  tags: Iterable<readonly [string, string]>,
  time: bigint | string,
): string {
  const series = [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([measurement, series, String(time)]);
}

async function readKeys(path: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const text = await readFile(path, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    try {
      const letter = JSON.parse(line) as {
        measurement: string;
        tags: Record<string, string>;
        time: string;
      };
      keys.add(pointKey(letter.measurement, Object.entries(letter.tags), letter.time));
    } catch {
      // an empty last line, or a line ops edited: it names no point
    }
  }
  return keys;
}
