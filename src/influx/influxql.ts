import type { LinePoint } from './line-protocol';

/**
 * Every InfluxQL statement the service sends, built here and nowhere else. Names and strings
 * from outside are quoted; times are integers formatted here.
 */

/** An InfluxQL identifier in double quotes. */
export function quoteName(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An InfluxQL string literal in single quotes. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `text` inside an InfluxQL regular expression literal (`/…/`, Go's RE2) matching exactly that
 * text: RE2's special characters are escaped, and `/`, which would end the literal.
 */
function regexLiteralText(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}/]/g, (char) => `\\${char}`);
}

/**
 * A time condition for one search, in nanoseconds: `at` one moment, or `from` (inclusive) and
 * `before` (exclusive), either open. `{}` is no bound at all: the whole measurement.
 */
export interface TimeBounds {
  at?: bigint;
  from?: bigint;
  before?: bigint;
}

/**
 * The newest event with that id within `bounds`. `entry_` ids match in any case (the original
 * lower-cased them), other ids exactly.
 */
export function eventQuery(measurement: string, id: string, bounds: TimeBounds): string {
  const match = /^entry_/i.test(id) ? `=~ /(?i)^${regexLiteralText(id)}$/` : `= ${quoteString(id)}`;
  const conditions = [`"event_id" ${match}`];
  if (bounds.at !== undefined) conditions.push(`time = ${bounds.at}`);
  if (bounds.from !== undefined) conditions.push(`time >= ${bounds.from}`);
  if (bounds.before !== undefined) conditions.push(`time < ${bounds.before}`);
  // Fields as columns and tags per series: where a key is both (data the original wrote, and
  // `event` in such a measurement), `SELECT *` would name the tag `event_1`.
  return (
    `SELECT *::field FROM ${quoteName(measurement)} WHERE ${conditions.join(' AND ')} ` +
    'GROUP BY * ORDER BY time DESC LIMIT 1'
  );
}

export function showFieldKeys(measurement: string): string {
  return `SHOW FIELD KEYS FROM ${quoteName(measurement)}`;
}

export const SHOW_DATABASES = 'SHOW DATABASES';

export function createDatabase(database: string): string {
  return `CREATE DATABASE ${quoteName(database)}`;
}

/**
 * Statements deleting exactly these points (measurement, tags and nanosecond time), one per
 * point, joined for one request.
 */
export function deletePoints(points: readonly LinePoint[]): string {
  return points
    .map((point) => {
      const conditions = point.tags.map(
        ([key, value]) => `${quoteName(key)} = ${quoteString(value)}`,
      );
      conditions.push(`time = ${point.time}`);
      return `DELETE FROM ${quoteName(point.measurement)} WHERE ${conditions.join(' AND ')}`;
    })
    .join('; ');
}
