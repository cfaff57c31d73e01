import { escape } from '@influxdata/influxdb-client';

/** The four field types InfluxDB stores; names as `SHOW FIELD KEYS` and its errors spell them. */
export type FieldType = 'float' | 'integer' | 'string' | 'boolean';

/** A field value as it arrives in JSON, before it has a storage type. */
export type FieldValue = string | number | boolean;

/**
 * The one shape of a point, from the moment a body is parsed until it becomes a line: tags as
 * strings, field values as they came, the timestamp given when the point was made (never
 * changed later), and the id of the event it carries (points of the 1.1 API have none).
 */
export interface Point {
  readonly measurement: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, FieldValue]>;
  /** Nanoseconds since the Unix epoch. */
  readonly time: bigint;
  readonly eventId?: string;
}

/** A field with the storage type the schema decided for it (store/field-typing.ts). */
export interface TypedField {
  key: string;
  type: FieldType;
  value: FieldValue;
}

function fieldValue(field: TypedField): string {
  switch (field.type) {
    case 'float':
      return String(field.value);
    case 'integer':
      return `${BigInt(field.value)}i`;
    case 'string':
      return escape.quoted(field.value as string);
    case 'boolean':
      return field.value ? 'true' : 'false';
  }
}

/**
 * Line protocol for one point, its fields as typed. Callers have already refused what line
 * protocol cannot carry (control characters in names and tags, non-finite numbers, empty tag
 * values, no fields).
 */
export function toLine(point: Point, fields: readonly TypedField[]): string {
  let line = escape.measurement(point.measurement);
  // Sorted tags are what InfluxDB recommends: it then skips sorting them itself.
  const tags = [...point.tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of tags) line += `,${escape.tag(key)}=${escape.tag(value)}`;
  line += ' ';
  line += fields.map((f) => `${escape.tag(f.key)}=${fieldValue(f)}`).join(',');
  return `${line} ${point.time}`;
}
