import type { FieldInput } from '../influx/field-types.service';
import { Refusal } from './refusal';

/** A point as the API received it: tags as strings, field values still untyped. */
export interface PointData {
  measurement: string;
  tags: Array<[string, string]>;
  fields: Array<[string, FieldInput]>;
}

/** An event after validation: its id and its flat keys, nulls dropped (README "The API"). */
export interface ParsedEvent {
  eventId: string;
  event: string;
  values: Array<[string, FieldInput]>;
}

/** Line protocol cannot carry these in a tag: InfluxDB would store something else. */
export function tagRule(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  if (value.endsWith('\\')) return 'must not end with a backslash';
  return undefined;
}

/** InfluxDB refuses a point whose series key (measurement and tags, escaped) is longer. */
const MAX_SERIES_KEY_BYTES = 65_535;
export const SERIES_KEY_RULE = `makes the series key (measurement and tags) longer than ${MAX_SERIES_KEY_BYTES} bytes, InfluxDB's limit`;

/**
 * The tag to blame (the longest) when the series key would pass InfluxDB's limit, else
 * undefined. Escaped characters are counted twice, as line protocol writes them.
 */
export function oversizedTag(
  measurement: string,
  tags: Array<[string, string]>,
): string | undefined {
  const bytes = (text: string) => Buffer.byteLength(text) + (text.match(/[ ,=\\]/g)?.length ?? 0);
  let total = bytes(measurement);
  let longest: [string, number] = ['', -1];
  for (const [key, value] of tags) {
    const size = bytes(key) + bytes(value) + 2;
    total += size;
    if (size > longest[1]) longest = [key, size];
  }
  return total > MAX_SERIES_KEY_BYTES ? longest[0] : undefined;
}

/** Tag values are strings, written the way the original (Python's `str`) wrote them. */
export function tagText(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

/**
 * README "How events and points are stored": the event goes to `measurement`, tagged with
 * `event` and the keys named in EVENT_TAGS; everything else, `uid` and `event_id` included, is
 * a field. An empty tag value cannot be stored by InfluxDB, so such a key is left out. Throws a
 * Refusal for a tag value line protocol cannot carry.
 */
export function eventToPoint(
  parsed: ParsedEvent,
  measurement: string,
  tagKeys: ReadonlySet<string>,
): PointData {
  const tags: Array<[string, string]> = [['event', parsed.event]];
  const fields: Array<[string, FieldInput]> = [];
  for (const entry of parsed.values) {
    const [key, value] = entry;
    if (key === 'event') continue;
    if (tagKeys.has(key)) {
      const text = tagText(value);
      const rule = tagRule(text);
      if (rule) throw new Refusal(key, `${rule} (a tag, see EVENT_TAGS)`);
      if (text !== '') tags.push([key, text]);
    } else {
      fields.push(entry);
    }
  }
  const oversized = oversizedTag(measurement, tags);
  if (oversized !== undefined) throw new Refusal(oversized, SERIES_KEY_RULE);
  return { measurement, tags, fields };
}
