import type { FieldType } from './line-protocol';

/** A JSON value before it has a storage type (as `FieldInput`). */
type Value = string | number | boolean;

/** A point before typing: tags as strings, field values as they came in JSON. */
export interface UntypedPoint {
  measurement: string;
  tags: ReadonlyArray<readonly [string, string]>;
  fields: ReadonlyArray<readonly [string, Value]>;
}

/**
 * The two storage rules that depend on what a measurement already holds, so that events stored
 * now sit beside the ones the original service wrote (it stored every key as both a tag and a
 * field) and old queries find both. They apply to the events measurement only (TABLE_NAME), to
 * events and to points sent there alike:
 *
 * - where `event` is already a string field, the point carries `event` as a string field as
 *   well as the tag: InfluxQL resolves `WHERE event = 'x'` and `count(event)` to the field.
 *   The same holds for any other tag of the point (keys in EVENT_TAGS, such as the original
 *   client's `tags_app-name`) that is already a string field;
 * - a numeric `uid` is stored as its decimal text, so that it sits beside the string uids and
 *   `WHERE uid = '42'` finds it, unless `uid` is already a numeric field (the original wrote a
 *   numeric uid first): then the number is kept and typed as any number (an integer field takes
 *   integral values, anything else is a conflict).
 *
 * Pure: returns the fields to type, the given array itself when nothing changes.
 */
export function originalLayout(
  point: UntypedPoint,
  stored: ReadonlyMap<string, FieldType>,
  eventsMeasurement: string,
): ReadonlyArray<readonly [string, Value]> {
  if (point.measurement !== eventsMeasurement) return point.fields;
  let fields = point.fields;
  const uid = fields.findIndex(([key]) => key === 'uid');
  const uidValue = fields[uid]?.[1];
  const uidType = stored.get('uid');
  if (typeof uidValue === 'number' && uidType !== 'integer' && uidType !== 'float') {
    fields = fields.map((entry, i) => (i === uid ? ['uid', decimalText(uidValue)] : entry));
  }
  const alsoFields = point.tags.filter(
    ([key]) => stored.get(key) === 'string' && !fields.some(([field]) => field === key),
  );
  return alsoFields.length === 0 ? fields : [...fields, ...alsoFields];
}

/** `42` → `"42"`, `1.5` → `"1.5"`; integers too large for plain `String` keep every digit. */
function decimalText(value: number): string {
  return Number.isInteger(value) ? BigInt(value).toString() : String(value);
}
