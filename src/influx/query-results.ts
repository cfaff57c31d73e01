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
