import { floatRule, integerRule } from '../influx/line-protocol-rules';
import { originalLayout } from './original-layout';
import type { FieldType, FieldTypeConflict, FieldValue, Point, TypedField } from './point';

/**
 * The rule by which a point's fields get their storage types from the schema. Its one caller is
 * SchemaService.type, which the live write path, the spool fallback, the replay and the read of
 * a queued event all go through: a rule about what a field is stored as goes here and nowhere
 * else. `stored` holds the types the measurement already has (in InfluxDB, or waiting in the
 * spool); `added` the types of earlier points of the same call, so that points of one call (an
 * array, a batch, a replay) also agree with each other.
 *
 * docs/API.md, "How events and points are stored" and "Numbers": numbers are floats unless the
 * field is already an integer, and then must be integral and within int64 (written exactly, as
 * `123i`, beyond ±2^53 too); an integer beyond ±2^53 (a bigint) going into a float field, new or
 * stored, must be one a double holds exactly, or it is refused with the rule it breaks (`rule`),
 * not rounded; strings and booleans are what they are. For events, the
 * layout rules of data the original wrote apply first (`originalLayout`). A point that conflicts adds nothing to
 * `added`; a point that does not adds its new fields.
 */
export function typeFields(
  point: Point,
  stored: ReadonlyMap<string, FieldType>,
  added: Map<string, FieldType>,
): TypedField[] | FieldTypeConflict {
  const laidOut = originalLayout(point, stored);
  // Sized once: grown by push, its first push made room for 17 fields.
  const typed = new Array<TypedField>(laidOut.length);
  for (let i = 0; i < laidOut.length; i++) {
    const key = laidOut[i]![0];
    const value = laidOut[i]![1];
    const known = stored.get(key) ?? added.get(key);
    const type = typeOf(value, known);
    if (known !== undefined && known !== type) return conflict(point, key, type, known);
    // An integer field refuses a non-integral number (or one beyond int64) as the float it is.
    if (type === 'integer' && integerRule(value as number | bigint)) {
      return conflict(point, key, 'float', 'integer');
    }
    const inexact = typeof value === 'bigint' ? floatRule(value) : undefined;
    if (type === 'float' && inexact) return conflict(point, key, 'integer', 'float', inexact);
    typed[i] = { key, type, value };
  }
  for (let i = 0; i < typed.length; i++) {
    const field = typed[i]!;
    if (!stored.has(field.key) && !added.has(field.key)) added.set(field.key, field.type);
  }
  return typed;
}

function conflict(
  point: Point,
  field: string,
  incoming: FieldType,
  stored: FieldType,
  rule?: string,
): FieldTypeConflict {
  const found: FieldTypeConflict = {
    kind: 'type_conflict',
    measurement: point.measurement,
    field,
    incoming,
    stored,
  };
  return rule === undefined ? found : { ...found, rule };
}

/** The type `value` is stored as, given the type its field already has (`known`). */
function typeOf(value: FieldValue, known: FieldType | undefined): FieldType {
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return known === 'integer' ? 'integer' : 'float';
    case 'string':
      return 'string';
    default:
      return 'boolean';
  }
}
