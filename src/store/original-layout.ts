import type { FieldType, FieldValue, Point } from './point';

/**
 * The storage rules that depend on what a measurement already holds, so that events stored now
 * sit beside the ones the original service wrote (it stored every event key as both a tag and
 * a field) and old queries find both. They apply to events only (points with an event id):
 * the original stored points of the 1.1 API as they were sent, and so do we.
 *
 * - A tag of the event (`event`, and keys in EVENT_TAGS such as the original client's
 *   `tags_app-name`) that the measurement already holds as a field is written as that field
 *   too: InfluxQL resolves `WHERE event = 'x'` and `count(event)` to the field. The field keeps
 *   its stored type: a tag text that cannot be that type (`"abc"` for an integer field) is left
 *   a tag only, rather than refusing the event for a copy it did not ask for.
 * - A numeric `uid` is stored as its decimal text, so that it sits beside the string uids and
 *   `WHERE uid = '42'` finds it, unless `uid` is already a numeric field (the original wrote a
 *   numeric uid first): then the number is kept and typed as any number (an integer field takes
 *   integral values, anything else is a conflict).
 *
 * Pure: returns the fields to type, the point's own array when nothing changes.
 */
export function originalLayout(
  point: Point,
  stored: ReadonlyMap<string, FieldType>,
): ReadonlyArray<readonly [string, FieldValue]> {
  if (point.eventId === undefined) return point.fields;
  // Indexed loops, no closures: this runs for every event of every batch.
  let fields = point.fields;
  let uid = -1;
  for (let i = 0; i < fields.length; i++) {
    if (fields[i]![0] === 'uid') {
      uid = i;
      break;
    }
  }
  const uidValue = uid < 0 ? undefined : fields[uid]![1];
  const uidType = stored.get('uid');
  const numeric = typeof uidValue === 'number' || typeof uidValue === 'bigint';
  if (numeric && uidType !== 'integer' && uidType !== 'float') {
    fields = fields.map((entry, i) => (i === uid ? ['uid', decimalText(uidValue)] : entry));
  }
  if (stored.size === 0) return fields;
  let alsoFields: Array<[string, FieldValue]> | undefined;
  for (let t = 0; t < point.tags.length; t++) {
    const [key, text] = point.tags[t]!;
    const type = stored.get(key);
    if (type === undefined || hasField(fields, key)) continue;
    const value = asStored(text, type);
    if (value !== undefined) (alsoFields ??= []).push([key, value]);
  }
  return alsoFields === undefined ? fields : [...fields, ...alsoFields];
}

function hasField(fields: ReadonlyArray<readonly [string, FieldValue]>, key: string): boolean {
  for (let i = 0; i < fields.length; i++) if (fields[i]![0] === key) return true;
  return false;
}

/** The tag text as a value of the field's stored type, or undefined if it cannot be one. */
function asStored(text: string, type: FieldType): FieldValue | undefined {
  switch (type) {
    case 'string':
      return text;
    case 'boolean':
      // Tags hold booleans as Python wrote them (`True`), the way tagText writes them.
      return text === 'True' ? true : text === 'False' ? false : undefined;
    case 'integer':
    case 'float': {
      const value = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(value)) return undefined;
      if (type === 'float') return value;
      if (!Number.isInteger(value)) return undefined;
      // Beyond ±2^53 the digits are kept exactly, as the integer field stores them.
      return Number.isSafeInteger(value) || !/^\s*-?\d+\s*$/.test(text)
        ? value
        : BigInt(text.trim());
    }
  }
}

/** `42` → `"42"`, `1.5` → `"1.5"`; integers too large for plain `String` keep every digit. */
function decimalText(value: number | bigint): string {
  return typeof value === 'bigint' || Number.isInteger(value)
    ? BigInt(value).toString()
    : String(value);
}
