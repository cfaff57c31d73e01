import { ApiSchema } from '@nestjs/swagger';
import { IsDefined, IsNotEmpty, IsString, ValidateBy, ValidateIf } from 'class-validator';
import type { FieldValue } from '../store/point';
import type { Limits } from './events.config';
import { EVENT_ID, keyRule, ParsedEvent, tagRule } from './event-point';
import { parseEventTime } from '../stamps/event-time';
import { Refusal } from '../http/refusal';

const EVENT_RULE = 'must be a non-empty string';
const UID_REQUIRED = 'is required (a string, may be empty, or a number)';
const UID_RULE = 'must be a string (may be empty) or a finite number';

function isUid(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'bigint' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * The two keys every event must have; the rest of an event is free-form. The class is the
 * shape (OpenAPI derives the `Event` schema from it); `parseEvent` checks it by hand, with the
 * same rules and messages (event.dto.spec.ts holds the two to each other): class-validator's
 * `validateSync` cost more per event than all the rest of parsing one.
 */
@ApiSchema({ name: 'Event' })
export class EventDto {
  /** What happened; stored as a tag. */
  @IsString({ message: EVENT_RULE })
  @IsNotEmpty({ message: EVENT_RULE })
  event!: string;

  /**
   * Ties one user's or one system's events together: a string (may be empty) or a number. The
   * key is required; a null value is dropped like any null, as the original stored such an
   * event without a uid.
   */
  @ValidateIf((_, value) => value !== null)
  @IsDefined({ message: UID_REQUIRED })
  @ValidateBy({ name: 'isUid', validator: { validate: isUid, defaultMessage: () => UID_RULE } })
  uid!: string | number | null;
}

/** The first key of EventDto that `body` breaks, as a Refusal; what validateSync would say. */
export function eventShapeRefusal(body: Record<string, unknown>): Refusal | undefined {
  const { event, uid } = body;
  if (typeof event !== 'string' || event === '') return new Refusal('event', EVENT_RULE);
  if (uid === undefined) return new Refusal('uid', UID_REQUIRED);
  if (uid !== null && !isUid(uid)) return new Refusal('uid', UID_RULE);
  return undefined;
}

/**
 * Validates one event object and flattens it. Throws a Refusal naming the first key at fault.
 * `time` (when it happened) is read apart, in nanoseconds; its bounds are the stamper's. A
 * missing or invalid `event_id` is replaced by a server-made id when the point is made
 * (eventToPoint).
 */
export function parseEvent(body: Record<string, unknown>, limits: Limits): ParsedEvent {
  const refusal = eventShapeRefusal(body);
  if (refusal) throw refusal;
  const event = body.event as string;
  const eventRule = tagRule(event);
  if (eventRule) throw new Refusal('event', eventRule);

  const values: Flat = { entries: [], seen: undefined };
  flatten(body, '', values, limits);

  // The limit counts the keys the client sent, not the event_id the server may add.
  if (values.entries.length > limits.maxKeys) {
    throw new Refusal('', `an event may have at most ${limits.maxKeys} keys (MAX_EVENT_KEYS)`);
  }
  const given = valueOf(values.entries, 'event_id');
  const eventId = typeof given === 'string' && EVENT_ID.test(given) ? given : undefined;
  const time =
    body.time === undefined || body.time === null ? undefined : parseEventTime(body.time);
  // Built without spreads: this runs for every event.
  const parsed: ParsedEvent = { event, values: values.entries };
  if (eventId !== undefined) parsed.eventId = eventId;
  if (time !== undefined) parsed.time = time;
  return parsed;
}

/**
 * The flat keys of an event in the order they were met. The keys of one JSON object are
 * unique, so only a nested object can bring a key twice (`{"a_b": 1, "a": {"b": 2}}`):
 * `seen` is made when the first one is met, and from then on every key is looked up in it.
 * A Map for every event, and the array spread from it, were a tenth of what a batch allocated.
 */
interface Flat {
  readonly entries: Array<[string, FieldValue]>;
  seen: Set<string> | undefined;
}

function valueOf(
  entries: ReadonlyArray<[string, FieldValue]>,
  key: string,
): FieldValue | undefined {
  for (let i = 0; i < entries.length; i++) if (entries[i]![0] === key) return entries[i]![1];
  return undefined;
}

function flatten(
  object: Record<string, unknown>,
  prefix: string,
  into: Flat,
  limits: Limits,
): void {
  const names = Object.keys(object);
  for (let n = 0; n < names.length; n++) {
    const name = names[n]!;
    const key = prefix + name;
    const value = object[name];
    if (name === '') throw new Refusal(key, 'keys must not be empty');
    if (key.length > limits.maxKeyLength) {
      throw new Refusal(
        key,
        `keys may be at most ${limits.maxKeyLength} characters (MAX_KEY_LENGTH)`,
      );
    }
    // The event's own time (parseEvent), not a field.
    if (key === 'time') continue;
    if (into.seen?.has(key)) {
      throw new Refusal(key, 'appears twice once nested objects are flattened');
    }
    if (value === null) continue;
    if (Array.isArray(value))
      throw new Refusal(key, 'arrays are not stored; send a string or flat keys');
    switch (typeof value) {
      case 'object':
        into.seen ??= new Set(into.entries.map(([seen]) => seen));
        flatten(value as Record<string, unknown>, `${key}_`, into, limits);
        if (into.entries.length > limits.maxKeys) {
          throw new Refusal(
            '',
            `an event may have at most ${limits.maxKeys} keys (MAX_EVENT_KEYS)`,
          );
        }
        break;
      case 'string':
        checkLeafKey(key);
        if (Buffer.byteLength(value) > limits.maxStringBytes) {
          throw new Refusal(
            key,
            `strings may be at most ${limits.maxStringBytes} bytes (MAX_STRING_BYTES)`,
          );
        }
        add(into, key, value);
        break;
      case 'number':
        // JSON.parse turns 1e400 into Infinity, which InfluxDB cannot store.
        if (!Number.isFinite(value)) throw new Refusal(key, 'must be a finite number');
        checkLeafKey(key);
        add(into, key, value);
        break;
      case 'bigint':
        // An integer beyond ±2^53, its digits exact; the body reader refused any beyond int64.
        checkLeafKey(key);
        add(into, key, value);
        break;
      case 'boolean':
        checkLeafKey(key);
        add(into, key, value);
        break;
      default:
        throw new Refusal(key, 'must be a string, number, boolean, object or null');
    }
  }
}

function add(into: Flat, key: string, value: FieldValue): void {
  into.entries.push([key, value]);
  into.seen?.add(key);
}

/** A stored key (not the prefix of nested ones) must be one line protocol carries unchanged. */
function checkLeafKey(key: string): void {
  const rule = keyRule(key);
  if (rule) throw new Refusal(key, rule);
}
