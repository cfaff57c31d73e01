import { escape } from '@influxdata/influxdb-client';

/** The four field types InfluxDB stores; names as `SHOW FIELD KEYS` and its errors spell them. */
export type FieldType = 'float' | 'integer' | 'string' | 'boolean';

export interface TypedField {
  key: string;
  type: FieldType;
  value: string | number | boolean;
}

/** One point ready for InfluxDB: tags as strings, fields with their storage type decided. */
export interface TypedPoint {
  measurement: string;
  tags: ReadonlyArray<readonly [string, string]>;
  fields: readonly TypedField[];
  /** Nanoseconds since the Unix epoch. */
  time: bigint;
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
 * Line protocol for one point. Callers have already refused what line protocol cannot carry
 * (control characters in names and tags, non-finite numbers, empty tag values, no fields).
 */
export function toLine(point: TypedPoint): string {
  let line = escape.measurement(point.measurement);
  // Sorted tags are what InfluxDB recommends: it then skips sorting them itself.
  const tags = [...point.tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of tags) line += `,${escape.tag(key)}=${escape.tag(value)}`;
  line += ' ';
  line += point.fields.map((f) => `${escape.tag(f.key)}=${fieldValue(f)}`).join(',');
  return `${line} ${point.time}`;
}
