import {
  fieldKeyRule,
  keyLengthRule,
  MAX_KEY_BYTES,
  measurementRule,
  seriesKeyBytes,
  stringValueRule,
  tagKeyRule,
  tagValueRule,
} from '../influx/line-protocol-rules';
import type { Point } from './point';

/** Where a point breaks a rule of line protocol: its measurement, a tag or a field, by key. */
export interface PointFault {
  readonly part: 'measurement' | 'tag' | 'field';
  /** The measurement, or the key of the tag or field at fault. */
  readonly key: string;
  /** The rule it breaks (LINE_PROTOCOL_RULES), a sentence a 400 quotes after the key. */
  readonly rule: string;
}

/**
 * THE check of what InfluxDB can store exactly, made once for every point as it is made
 * (events/event-point.ts, events/point.dto.ts), before anything keeps it: the measurement, each
 * tag key and value, each field key and string value against the rules read from InfluxDB's
 * parser (influx/line-protocol-rules.ts), and the size of the key InfluxDB indexes. A point it
 * passes is stored byte for byte as sent, written now or replayed from the spool; one it does
 * not is refused the same way whether InfluxDB is up, down or slow. Undefined: no fault.
 */
export function pointFault(point: Point): PointFault | undefined {
  const measurement = measurementRule(point.measurement);
  if (measurement) return { part: 'measurement', key: point.measurement, rule: measurement };
  let chars = point.measurement.length;
  // Indexed loops: this runs for every point of every batch.
  for (let i = 0; i < point.tags.length; i++) {
    const key = point.tags[i]![0];
    const value = point.tags[i]![1];
    const rule = tagKeyRule(key) ?? tagValueRule(value);
    if (rule) return { part: 'tag', key, rule };
    chars += key.length + value.length + 2;
  }
  let longest = '';
  for (let i = 0; i < point.fields.length; i++) {
    const key = point.fields[i]![0];
    const value = point.fields[i]![1];
    const rule =
      fieldKeyRule(key) ?? (typeof value === 'string' ? stringValueRule(value) : undefined);
    if (rule) return { part: 'field', key, rule };
    if (key.length > longest.length) longest = key;
  }
  // A UTF-16 unit is at most 3 bytes of UTF-8 and an escape 1 more: most keys are far below the
  // limit and are not measured byte by byte.
  if (4 * (chars + 4 + longest.length) <= MAX_KEY_BYTES) return undefined;
  const keys = point.fields.map(([key]) => key);
  const rule = keyLengthRule(point.measurement, point.tags, keys);
  if (!rule) return undefined;
  // The measurement and tags alone too long: the tag to blame is the largest, not a field.
  if (seriesKeyBytes(point.measurement, point.tags) + 4 > MAX_KEY_BYTES && point.tags.length > 0) {
    let largest = point.tags[0]!;
    for (const tag of point.tags) {
      if (tag[0].length + tag[1].length > largest[0].length + largest[1].length) largest = tag;
    }
    return { part: 'tag', key: largest[0], rule };
  }
  return { part: 'field', key: longest, rule };
}
