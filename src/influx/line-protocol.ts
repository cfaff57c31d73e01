/** The four field types line protocol writes (`1.5`, `1i`, `"text"`, `true`). */
export type LineFieldType = 'float' | 'integer' | 'string' | 'boolean';

/**
 * What a line is made of: the point's series and time, and its fields with the storage type
 * decided for each. Declared here, structurally, so that this adapter imports nothing of the
 * store that owns the points (store/point.ts): the store's Point and TypedField fit these.
 */
export interface LinePoint {
  readonly measurement: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  /** Nanoseconds since the Unix epoch. */
  readonly time: bigint;
}

export interface LineField {
  readonly key: string;
  readonly type: LineFieldType;
  readonly value: string | number | boolean;
}

/**
 * Line protocol escapes, as `escape` of @influxdata/influxdb-client writes them
 * (line-protocol.spec.ts holds the two to each other), with a fast path for the usual text that
 * needs none: the library's loop over every character was the largest share of line building.
 */
const ESCAPES: Readonly<Record<string, string>> = {
  ',': '\\,',
  ' ': '\\ ',
  '=': '\\=',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '"': '\\"',
  '\\': '\\\\',
};
const MEASUREMENT_SPECIAL = /[, \n\r\t]/;
const MEASUREMENT_SPECIALS = /[, \n\r\t]/g;
const TAG_SPECIAL = /[, =\n\r\t]/;
const TAG_SPECIALS = /[, =\n\r\t]/g;
const QUOTED_SPECIAL = /["\\]/;
const QUOTED_SPECIALS = /["\\]/g;
const escaped = (char: string) => ESCAPES[char]!;

/** A measurement name. */
export function escapeMeasurement(text: string): string {
  return MEASUREMENT_SPECIAL.test(text) ? text.replace(MEASUREMENT_SPECIALS, escaped) : text;
}

/** A tag key, tag value or field key. */
export function escapeTag(text: string): string {
  return TAG_SPECIAL.test(text) ? text.replace(TAG_SPECIALS, escaped) : text;
}

/** A string field value, in double quotes. */
export function quoted(text: string): string {
  return `"${QUOTED_SPECIAL.test(text) ? text.replace(QUOTED_SPECIALS, escaped) : text}"`;
}

function fieldValue(field: LineField): string {
  switch (field.type) {
    case 'float':
      return String(field.value);
    case 'integer':
      return `${BigInt(field.value)}i`;
    case 'string':
      return quoted(field.value as string);
    case 'boolean':
      return field.value ? 'true' : 'false';
  }
}

/**
 * Line protocol for one point, its fields as typed. Callers have already refused what line
 * protocol cannot carry (control characters in names and tags, non-finite numbers, empty tag
 * values, no fields).
 */
export function toLine(point: LinePoint, fields: readonly LineField[]): string {
  let line = escapeMeasurement(point.measurement);
  // Sorted tags are what InfluxDB recommends: it then skips sorting them itself.
  const tags = sorted(point.tags) ? point.tags : [...point.tags].sort(byKey);
  for (const [key, value] of tags) line += `,${escapeTag(key)}=${escapeTag(value)}`;
  let separator = ' ';
  for (const field of fields) {
    line += `${separator}${escapeTag(field.key)}=${fieldValue(field)}`;
    separator = ',';
  }
  return `${line} ${point.time}`;
}

function byKey([a]: readonly [string, string], [b]: readonly [string, string]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(tags: ReadonlyArray<readonly [string, string]>): boolean {
  for (let i = 1; i < tags.length; i++) if (tags[i - 1]![0] > tags[i]![0]) return false;
  return true;
}
