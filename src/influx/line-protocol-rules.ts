/**
 * What InfluxDB 1.x line protocol can carry exactly, and how to write it: for each kind of name
 * or value, a rule function that answers `undefined` (stored and read back byte for byte as
 * given, in any line of any batch) or the rule it breaks, a short sentence a 400 can quote after
 * the key; and the escape that writes what the rules accept. A text the rules accept, escaped
 * here, is stored exactly; one they refuse cannot be, by any escaping (test/line-protocol.e2e-spec.ts
 * holds both halves against a real influxd with generated names over the whole alphabet).
 *
 * Read from InfluxDB 1.6's parser (models/points.go, pkg/escape) and confirmed against influxd:
 *
 * - Two scanners read the same bytes with different escape rules. Most (measurement, tags, the
 *   field key's end) treat any byte after a backslash as escaped ("previous byte" rule); the line
 *   splitter and the field scanner consume a backslash and the byte after it as a pair. They
 *   agree only where every run of backslashes directly before a separator is, once escaped, of
 *   odd length: a text with an ODD run of backslashes before a space (any name), or before a
 *   comma or equals sign (a field key), is read differently by the two. As a field key InfluxDB
 *   refuses the line ("invalid field format"); in a measurement or tag the line splitter then
 *   counts that line's quotes wrongly, and the line can swallow the next one of the batch, so
 *   one such event can lose another. An even run (`\\,`) is stored exactly.
 * - Unescaping removes a backslash before `,` and space (measurement), `,` `=` space (tags),
 *   `,` `=` space `"` (field keys), and nothing else: `\\` stays two backslashes, so a text is
 *   written with its backslashes as they are, and a backslash cannot end a name (it would escape
 *   the separator after it).
 * - String field values are the one place where `\\` and `\"` are escapes: any text is carried,
 *   line breaks, NUL and quotes included (`quoteString`).
 * - Leading tabs and NULs of a line and of its first field are skipped; a line that starts with
 *   `#` is a comment (dropped under a 204); a tag key `time` is refused and a field key `time`
 *   silently dropped (tsdb/shard.go); an empty tag value is refused.
 * - The series key (escaped measurement and tags) plus 4 plus each escaped field key must be at
 *   most 65,535 bytes; string values have no limit of their own (influxd's body limit, 25 MB by
 *   default, bounds them).
 * - A line break cannot be written in a name (it ends the line; `\` + line break is stored as
 *   both), and NUL cannot be named in an InfluxQL query (its scanner reads it as the end), so a
 *   name or tag value holding either could never be read back by name. InfluxQL's quoting of the
 *   names and values these rules accept is exact with `\\`, `\"` and `\'` alone.
 * - A lone surrogate (half of a UTF-16 pair) has no UTF-8 form: Node would write U+FFFD.
 * - Integers are int64; floats are finite, written so that they parse back to the same double
 *   (-0 included).
 */

/** InfluxDB's limit on a series key, and on the series key plus 4 plus a field key (bytes). */
export const MAX_KEY_BYTES = 65_535;

/** The sentences the rule functions answer, for callers that test which rule was broken. */
export const LINE_PROTOCOL_RULES = {
  empty: 'must not be empty: InfluxDB cannot store an empty name',
  emptyTagValue: 'must not be empty: InfluxDB cannot store an empty tag value',
  loneSurrogate:
    'holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form: InfluxDB cannot store it',
  lineBreak: 'a line break cannot be stored by InfluxDB in a name or tag value',
  nul: 'a NUL character cannot be read back from InfluxDB in a name or tag value',
  trailingBackslash: 'must not end with a backslash: InfluxDB cannot store one there',
  backslashSpace:
    'a backslash before a space cannot be stored by InfluxDB (two backslashes can) in a name or tag value',
  backslashFieldKey:
    'a backslash before a comma, equals sign or space cannot be stored by InfluxDB (two backslashes can) in a field key',
  leadingTab: 'must not start with a tab: InfluxDB skips it',
  comment: 'must not start with #: InfluxDB reads the line as a comment and drops it',
  time: 'time cannot be a tag or field key: InfluxDB drops it (the point’s time is its own column)',
  integer: 'integers must be from -9223372036854775808 to 9223372036854775807 (InfluxDB’s int64)',
  float: 'must be a finite number: InfluxDB cannot store NaN or Infinity',
  inexactFloat: 'is an integer that a float field cannot hold exactly (beyond ±2^53)',
} as const;

const RULES = LINE_PROTOCOL_RULES;

// Any of these may break a name; a text with none of them needs only the cheap checks.
const SUSPECT = /[\\\n\0\uD800-\uDFFF]/;
/** Made once, as every pattern here: a literal in a function is a new RegExp at every call. */
const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// An odd run of backslashes (one that starts after a non-backslash) right before the separator.
const ODD_BACKSLASHES_BEFORE_SPACE = /(?<!\\)(?:\\\\)*\\ /;
const ODD_BACKSLASHES_BEFORE_FIELD_SEPARATOR = /(?<!\\)(?:\\\\)*\\[ ,=]/;

function nameRule(text: string, oddBackslashes: RegExp, oddRule: string): string | undefined {
  if (!SUSPECT.test(text)) return undefined;
  if (LONE_SURROGATE.test(text)) return RULES.loneSurrogate;
  if (text.includes('\n')) return RULES.lineBreak;
  if (text.includes('\0')) return RULES.nul;
  if (text.endsWith('\\')) return RULES.trailingBackslash;
  if (oddBackslashes.test(text)) return oddRule;
  return undefined;
}

/** Why `name` cannot be a measurement name, or undefined when InfluxDB stores it exactly. */
export function measurementRule(name: string): string | undefined {
  if (name === '') return RULES.empty;
  if (name.startsWith('#')) return RULES.comment;
  if (name.startsWith('\t')) return RULES.leadingTab;
  return nameRule(name, ODD_BACKSLASHES_BEFORE_SPACE, RULES.backslashSpace);
}

/** Why `key` cannot be a tag key, or undefined when InfluxDB stores it exactly. */
export function tagKeyRule(key: string): string | undefined {
  if (key === '') return RULES.empty;
  if (key === 'time') return RULES.time;
  return nameRule(key, ODD_BACKSLASHES_BEFORE_SPACE, RULES.backslashSpace);
}

/** Why `value` cannot be a tag value, or undefined when InfluxDB stores it exactly. */
export function tagValueRule(value: string): string | undefined {
  if (value === '') return RULES.emptyTagValue;
  return nameRule(value, ODD_BACKSLASHES_BEFORE_SPACE, RULES.backslashSpace);
}

/** Why `key` cannot be a field key, or undefined when InfluxDB stores it exactly. */
export function fieldKeyRule(key: string): string | undefined {
  if (key === '') return RULES.empty;
  if (key === 'time') return RULES.time;
  if (key.startsWith('\t')) return RULES.leadingTab;
  return nameRule(key, ODD_BACKSLASHES_BEFORE_FIELD_SEPARATOR, RULES.backslashFieldKey);
}

/** Why `value` cannot be a string field value, or undefined: any well-formed text can. */
export function stringValueRule(value: string): string | undefined {
  return SURROGATE.test(value) && LONE_SURROGATE.test(value) ? RULES.loneSurrogate : undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Why `value` cannot be an integer field value, or undefined. A number must be integral; one
 * beyond ±2^53 is taken as the double it is (JSON text beyond ±2^53 arrives as a bigint).
 */
export function integerRule(value: number | bigint): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return RULES.integer;
    // 2^63 is a double; every double below it and at or above -2^63 is within int64.
    return value >= -(2 ** 63) && value < 2 ** 63 ? undefined : RULES.integer;
  }
  return value >= INT64_MIN && value <= INT64_MAX ? undefined : RULES.integer;
}

/** Why `value` cannot be a float field value exactly, or undefined. */
export function floatRule(value: number | bigint): string | undefined {
  if (typeof value === 'bigint') {
    return BigInt(Number(value)) === value ? undefined : RULES.inexactFloat;
  }
  return Number.isFinite(value) ? undefined : RULES.float;
}

/** A float field value as line protocol text; InfluxDB parses it back to the same double. */
export function floatText(value: number | bigint): string {
  if (typeof value === 'bigint') return String(Number(value));
  // String(-0) is "0": the sign would be lost.
  return Object.is(value, -0) ? '-0' : String(value);
}

/** An integer field value as line protocol text (`42i`); `integerRule` first. */
export function integerText(value: number | bigint): string {
  return `${BigInt(value)}i`;
}

const MEASUREMENT_SPECIAL = /[, ]/;
const MEASUREMENT_SPECIALS = /[, ]/g;
const TAG_SPECIAL = /[, =]/;
const TAG_SPECIALS = /[, =]/g;
const FIELD_KEY_SPECIAL = /[, ="]/;
const FIELD_KEY_SPECIALS = /[, ="]/g;
const STRING_SPECIAL = /["\\]/;
const STRING_SPECIALS = /["\\]/g;
const backslashed = (char: string) => `\\${char}`;

/** A measurement name as line protocol writes it (`measurementRule` first). */
export function escapeMeasurement(name: string): string {
  return MEASUREMENT_SPECIAL.test(name) ? name.replace(MEASUREMENT_SPECIALS, backslashed) : name;
}

/** A tag key or tag value as line protocol writes it (`tagKeyRule`/`tagValueRule` first). */
export function escapeTag(text: string): string {
  return TAG_SPECIAL.test(text) ? text.replace(TAG_SPECIALS, backslashed) : text;
}

/**
 * A field key as line protocol writes it (`fieldKeyRule` first). Unlike a tag, `"` is escaped:
 * InfluxDB removes a backslash before a quote in a field key, so `a\"b` is written `a\\"b`.
 */
export function escapeFieldKey(key: string): string {
  return FIELD_KEY_SPECIAL.test(key) ? key.replace(FIELD_KEY_SPECIALS, backslashed) : key;
}

/** A string field value in double quotes, `"` and `\` escaped (`stringValueRule` first). */
export function quoteString(value: string): string {
  return `"${STRING_SPECIAL.test(value) ? value.replace(STRING_SPECIALS, backslashed) : value}"`;
}

const SERIES_KEY_ESCAPES = /[, =]/g;

/** Bytes of `text` in UTF-8 once escaped with `escape` (a backslash before each special). */
function escapedBytes(text: string, specials: RegExp): number {
  return Buffer.byteLength(text) + (text.match(specials)?.length ?? 0);
}

/** The series key's size as InfluxDB measures it: escaped measurement, `,key=value` per tag. */
export function seriesKeyBytes(
  measurement: string,
  tags: ReadonlyArray<readonly [string, string]>,
): number {
  let bytes = escapedBytes(measurement, MEASUREMENT_SPECIALS);
  for (const [key, value] of tags) {
    bytes += 2 + escapedBytes(key, SERIES_KEY_ESCAPES) + escapedBytes(value, SERIES_KEY_ESCAPES);
  }
  return bytes;
}

/**
 * Why this point's keys are too long for InfluxDB, or undefined: the series key must be at most
 * 65,535 bytes, and so must the series key, 4 bytes and each escaped field key together.
 */
export function keyLengthRule(
  measurement: string,
  tags: ReadonlyArray<readonly [string, string]>,
  fieldKeys: Iterable<string>,
): string | undefined {
  const series = seriesKeyBytes(measurement, tags);
  let longest = 0;
  for (const key of fieldKeys) longest = Math.max(longest, escapedBytes(key, FIELD_KEY_SPECIALS));
  const total = series + 4 + longest;
  if (series <= MAX_KEY_BYTES && total <= MAX_KEY_BYTES) return undefined;
  return `makes the key InfluxDB indexes (measurement, tags and a field key) ${total} bytes long; its limit is ${MAX_KEY_BYTES}`;
}
