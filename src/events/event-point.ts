import { randomBytes } from 'node:crypto';
import type { FieldValue, Point } from '../store/point';
import { pointFault } from '../store/point-rules';
import { Refusal } from '../http/refusal';

/**
 * Keys of an event, after nested objects are flattened with `_`: any non-empty text without
 * control characters that does not end in a backslash (line protocol escapes spaces, commas
 * and equals signs). The original stored any key, and its 1.0 client sends `tags_app-name`.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
export const EVENT_KEY = /^[^\u0000-\u001f\u007f]*[^\u0000-\u001f\u007f\\]$/;

/** Why `key` cannot be an event key, or undefined (length is checked against the limits). */
export function keyRule(key: string): string | undefined {
  return key === '' ? 'keys must not be empty' : tagRule(key);
}
/** A client's own event id is kept when it looks like this; otherwise the server makes one. */
export const EVENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Names of measurements (TABLE_NAME, and those of points). */
export const MEASUREMENT = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * An event after validation: its flat keys, nulls dropped (docs/API.md, "Events"), `event_id` among them
 * if the client sent one; `eventId` the client's own id when it is a valid one.
 */
export interface ParsedEvent {
  eventId?: string;
  /** When it happened, in nanoseconds since the epoch, if the client said (`time`). */
  time?: bigint;
  event: string;
  values: Array<[string, FieldValue]>;
}

/**
 * A server-made event id: `entry_` and 32 lower-case hex digits. The first 16 are the point's
 * timestamp (nanoseconds since the epoch, big-endian hex, zero-padded), the last 16 random, so
 * the id alone says when its point was stamped: an event can be read back by its time.
 */
export function newEventId(time: bigint): string {
  return `entry_${time.toString(16).padStart(16, '0')}${randomHex16()}`;
}

/** Random ids drawn per call to randomBytes (one system call each). */
const IDS_PER_DRAW = 1024;
let randomPool = '';
let poolOffset = 0;

/**
 * 16 random hex digits (64 bits from the CSPRNG). Drawn 1,024 ids at a time: one `randomBytes`
 * call per id was a tenth of the CPU of a 500-event batch (docs/PERFORMANCE.md). Each digit is
 * handed out once; the pool lives in this process only.
 */
function randomHex16(): string {
  if (poolOffset === randomPool.length) {
    randomPool = randomBytes(8 * IDS_PER_DRAW).toString('hex');
    poolOffset = 0;
  }
  const hex = randomPool.slice(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return hex;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Line protocol cannot carry these in a tag: InfluxDB would store something else. The pattern
 * is made once: a regular expression literal in the function made a RegExp object at every
 * call, for every key and tag of every event (280 bytes an event, a sixteenth of what a batched
 * event allocated; docs/PERFORMANCE.md, "Patterns made once").
 */
export function tagRule(value: string): string | undefined {
  if (CONTROL_CHARACTER.test(value)) return 'must not contain control characters';
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
  // A UTF-16 unit is at most 3 bytes of UTF-8, an escape 1 more: most series keys are far
  // below the limit, and are not measured byte by byte.
  let chars = measurement.length;
  for (const [key, value] of tags) chars += key.length + value.length + 2;
  if (4 * chars <= MAX_SERIES_KEY_BYTES) return undefined;
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
export function tagText(value: string | number | bigint | boolean): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

/**
 * docs/API.md, "How events and points are stored": the event goes to `measurement` at `time`, tagged with `event` and the keys
 * named in EVENT_TAGS; everything else, `uid` and `event_id` included, is a field. The event id
 * is the client's valid one, or one made from `time` (newEventId). An empty tag value cannot be
 * stored by InfluxDB, so such a key is left out. Throws a Refusal naming the key for anything
 * line protocol cannot carry exactly (pointFault, the one check of what InfluxDB can store).
 * `time` may be given once the tags are known (the stamper's slot depends on the series); it is
 * asked for only when the event is otherwise valid, since stamping a client id counts it seen.
 * The point's fields are `parsed.values`, reordered in place: the parsed event is spent.
 */
export function eventToPoint(
  parsed: ParsedEvent,
  measurement: string,
  tagKeys: ReadonlySet<string>,
  time: bigint | ((tags: ReadonlyArray<readonly [string, string]>) => bigint),
): Point {
  const tags: Array<[string, string]> = [['event', parsed.event]];
  // The id's own entry, made once: the client's valid id, or the placeholder until the time
  // is known (a server-made id is plain ASCII, as the placeholder, so it is checked with it).
  const id: [string, FieldValue] = ['event_id', parsed.eventId ?? 'entry_'];
  let hasId = false;
  // The fields are the parsed values, kept in place (the point owns them from here): indexed,
  // no new array, no destructuring, since this runs for every event of every batch.
  const fields = parsed.values;
  let kept = 0;
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i]!;
    const key = entry[0];
    if (key === 'event') continue;
    if (key === 'event_id') {
      hasId = true;
      fields[kept++] = id;
      continue;
    }
    if (tagKeys.size > 0 && tagKeys.has(key)) {
      const text = tagText(entry[1]);
      const rule = tagRule(text);
      if (rule) throw new Refusal(key, `${rule} (a tag, see EVENT_TAGS)`);
      if (text !== '') tags.push([key, text]);
    } else {
      fields[kept++] = entry;
    }
  }
  fields.length = kept;
  if (!hasId) fields.push(id);
  const oversized = oversizedTag(measurement, tags);
  if (oversized !== undefined) throw new Refusal(oversized, SERIES_KEY_RULE);
  const fault = pointFault({ measurement, tags, fields, time: 0n });
  if (fault) {
    const tag = fault.part === 'tag' && fault.key !== 'event';
    throw new Refusal(fault.key, tag ? `${fault.rule} (a tag, see EVENT_TAGS)` : fault.rule);
  }
  const at = typeof time === 'bigint' ? time : time(tags);
  const eventId = parsed.eventId ?? newEventId(at);
  id[1] = eventId;
  return { measurement, tags, fields, time: at, eventId };
}
