import type { Queried } from './influx.answers';
import type { InfluxService } from './influx.service';
import { quoteName } from './influxql';

/** A retention policy's name and how long it keeps points (0: forever), in milliseconds. */
export interface RetentionPolicy {
  readonly name: string;
  readonly durationMs: number;
}

/**
 * The retention policy writes go to: `name` (INFLUX_RETENTION_POLICY), else the database's
 * default one, from `SHOW RETENTION POLICIES`. `ok` with undefined when the database has none
 * of that name (InfluxDB will refuse the writes, and says so).
 */
export async function targetRetentionPolicy(
  influx: InfluxService,
  database: string,
  name: string | undefined,
): Promise<Queried<RetentionPolicy | undefined>> {
  const answer = await influx.query(`SHOW RETENTION POLICIES ON ${quoteName(database)}`);
  if (answer.kind !== 'ok') return answer;
  const series = answer.value[0]?.series?.[0];
  if (answer.value[0]?.error !== undefined || series === undefined) {
    return { kind: 'unavailable', detail: answer.value[0]?.error ?? 'no retention policies' };
  }
  const column = (key: string) => series.columns.indexOf(key);
  const [nameAt, durationAt, defaultAt] = [column('name'), column('duration'), column('default')];
  const row = series.values.find((values) =>
    name === undefined ? values[defaultAt] === true : values[nameAt] === name,
  );
  if (row === undefined) return { kind: 'ok', value: undefined };
  const durationMs = goDurationMs(String(row[durationAt]));
  if (durationMs === undefined) {
    return { kind: 'unavailable', detail: 'a retention duration this service cannot read' };
  }
  return { kind: 'ok', value: { name: String(row[nameAt]), durationMs } };
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3 };

/** A Go duration as InfluxDB writes one (`168h0m0s`, `0s`, `1h30m`) in milliseconds. */
export function goDurationMs(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    ms += Number(value) * (UNIT_MS[unit === 'µs' ? 'us' : unit!] ?? 1e-6);
  }
  return ms;
}
