import { originalLayout } from './original-layout';
import type { FieldType, FieldTypeConflict, Point, TypedField } from './point';

/** InfluxDB's integers are int64: from -2^63 (included) to 2^63 (excluded). */
const INT64_LIMIT = 2 ** 63;

/**
 * The rule by which a point's fields get their storage types from the schema. Its one caller is
 * SchemaService.type, which the live write path, the spool fallback, the replay and the read of
 * a queued event all go through: a rule about what a field is stored as goes here and nowhere
 * else. `stored` holds the types the measurement already has (in InfluxDB, or waiting in the
 * spool); `added` the types of earlier points of the same call, so that points of one call (an
 * array, a batch, a replay) also agree with each other.
 *
 * docs/API.md, "How events and points are stored": numbers are floats unless the field is already an
 * integer, and then must be integral; strings and booleans are what they are. For events, the
 * layout rules of data the original wrote apply first (`originalLayout`). A point that conflicts adds nothing to
 * `added`; a point that does not adds its new fields.
 */
export function typeFields(
  point: Point,
  stored: ReadonlyMap<string, FieldType>,
  added: Map<string, FieldType>,
): TypedField[] | FieldTypeConflict {
  const typed: TypedField[] = [];
  for (const [key, value] of originalLayout(point, stored)) {
    const known = stored.get(key) ?? added.get(key);
    let type: FieldType;
    if (typeof value === 'number') {
      type = known === 'integer' ? 'integer' : 'float';
    } else {
      type = typeof value === 'string' ? 'string' : 'boolean';
    }
    const integral =
      Number.isInteger(value) &&
      (value as number) >= -INT64_LIMIT &&
      (value as number) < INT64_LIMIT;
    if (known !== undefined && (known !== type || (type === 'integer' && !integral))) {
      const incoming = type === 'integer' ? 'float' : type;
      return {
        kind: 'type_conflict',
        measurement: point.measurement,
        field: key,
        incoming,
        stored: known,
      };
    }
    typed.push({ key, type, value });
  }
  for (const field of typed) {
    if (!stored.has(field.key) && !added.has(field.key)) added.set(field.key, field.type);
  }
  return typed;
}
