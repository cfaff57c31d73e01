import type { InfluxFieldType, InfluxRow } from './influx.answers';

/** One statement's answer from `/query`. */
export interface StatementResult {
  error?: string;
  series?: Array<{
    name?: string;
    tags?: Record<string, string>;
    columns: string[];
    values: unknown[][];
  }>;
}

/**
 * The newest row of an event query's answer (`SELECT *::field … GROUP BY *`: one series per
 * tag set, a client id may be reused), as one event: its time, the tags it has (GROUP BY *
 * answers every tag key of the measurement, "" where this event has none), and its fields that
 * are not null (other events' fields come back null).
 */
export function newestRow(result: StatementResult | undefined): InfluxRow | undefined {
  let newest: { row: unknown[]; columns: string[]; tags: Record<string, string> } | undefined;
  for (const series of result?.series ?? []) {
    const row = series.values[0];
    if (row && (!newest || sortableTime(row[0]) > sortableTime(newest.row[0]))) {
      newest = { row, columns: series.columns, tags: series.tags ?? {} };
    }
  }
  if (!newest) return undefined;
  const { row, columns, tags } = newest;
  const fields: Array<[string, unknown]> = [];
  // Column 0 is the time.
  for (let i = 1; i < columns.length; i++) {
    const value = row[i];
    if (value !== null && value !== undefined) fields.push([columns[i]!, value]);
  }
  return {
    time: String(row[0]),
    tags: Object.entries(tags).filter(([, value]) => value !== ''),
    fields,
  };
}

/** InfluxDB's RFC 3339 time with its fraction padded to 9 digits, so that it sorts as text. */
function sortableTime(time: unknown): string {
  const [whole = '', fraction = ''] = String(time).replace(/Z$/, '').split('.');
  return `${whole}.${fraction.padEnd(9, '0')}`;
}

/** `SHOW FIELD KEYS`' answer as a map of field to type. */
export function fieldTypesOf(result: StatementResult | undefined): Map<string, InfluxFieldType> {
  const types = new Map<string, InfluxFieldType>();
  for (const series of result?.series ?? []) {
    for (const [key, type] of series.values) {
      // A field can have different types in different shards; the first one InfluxDB lists
      // is kept, and a write into a shard that disagrees is still refused by InfluxDB itself.
      if (typeof key === 'string' && isFieldType(type) && !types.has(key)) types.set(key, type);
    }
  }
  return types;
}

function isFieldType(value: unknown): value is InfluxFieldType {
  return value === 'float' || value === 'integer' || value === 'string' || value === 'boolean';
}

/** A run of 16 digits: the shortest integer beyond ±2^53 (9007199254740993) has as many. */
const LONG_DIGITS = /\d{16}/;
const TWO_POW_53 = 2n ** 53n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/**
 * A lone high surrogate marks an integer's digits while JSON.parse reads them as a string:
 * InfluxDB's JSON never holds one (it writes UTF-8, and what it stores has a UTF-8 form).
 */
const MARK = 0xdbff;

/**
 * `/query`'s JSON answer, integers kept exactly: InfluxDB writes an integer field's values as
 * their digits, and JSON.parse would round those beyond ±2^53 (9007199254740993 read back as
 * …992). Such a literal becomes a bigint, as the body reader makes it (http/exact-json.ts);
 * one beyond int64 is a float InfluxDB wrote without an exponent and stays a number. An answer
 * without a run of 16 digits (nearly all) is JSON.parse's alone.
 */
export function parseQueryAnswer(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  const text = bytes.toString('utf8');
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(markIntegers(text), (_key, value: unknown) =>
    typeof value === 'string' && isMarked(value) ? BigInt(value.slice(1)) : value,
  );
}

/**
 * A string markIntegers made: the mark, then `-` or a digit. Stored text can begin with U+DBFF
 * too (U+10FC00 to U+10FFFF are written as it and a low surrogate), never followed by either.
 */
function isMarked(value: string): boolean {
  if (value.charCodeAt(0) !== MARK || value.length < 2) return false;
  const next = value.charCodeAt(1);
  return next === 0x2d /* - */ || (next >= 0x30 && next <= 0x39);
}

/** `text` with each integer literal beyond ±2^53 (within int64) written `"\udbff<digits>"`. */
function markIntegers(text: string): string {
  let marked = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      }
      continue;
    }
    if (c !== 0x2d /* - */ && !isDigit(c)) continue;
    let end = i + 1;
    while (end < text.length && isNumberPart(text.charCodeAt(end))) end++;
    const literal = text.slice(i, end);
    if (/^-?\d{16,}$/.test(literal)) {
      const value = BigInt(literal);
      const exact = value > TWO_POW_53 || value < -TWO_POW_53;
      if (exact && value >= INT64_MIN && value <= INT64_MAX) {
        marked += `${text.slice(copied, i)}"\\udbff${literal}"`;
        copied = end;
      }
    }
    i = end - 1;
  }
  return marked + text.slice(copied);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** What may follow a number's first character: digits, `.`, `e`, `E`, `+`, `-`. */
function isNumberPart(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}
