import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import type { InfluxFailure } from './influx.answers';

/**
 * Sorts a client failure by what InfluxDB answered (never by its message): 400, 413 and 422 say
 * the data itself is wrong; 401 and 403 the credentials; 404 to a v1 write a missing database
 * (`missing`, ours to create); anything else is an outage for the caller, and the events are
 * kept and written later.
 */
export function classify(error: unknown, writeV1: boolean): InfluxFailure | 'missing' {
  if (error instanceof HttpError) {
    const status = error.statusCode;
    if (status === 400 || status === 413 || status === 422) {
      return { kind: 'refused', status, detail: influxMessage(error) };
    }
    if (status === 401 || status === 403) return { kind: 'credentials', status };
    if (status === 404 && writeV1) return 'missing';
    return unavailable(`InfluxDB answered ${status}`);
  }
  if (error instanceof RequestTimedOutError) return unavailable('InfluxDB did not answer in time');
  return unavailable(`InfluxDB unreachable: ${describe(error)}`);
}

export function unavailable(detail: string): InfluxFailure {
  return { kind: 'unavailable', detail };
}

function influxMessage(error: HttpError): string {
  const json = error.json as { error?: unknown; message?: unknown } | undefined;
  if (typeof json?.error === 'string') return json.error;
  if (typeof json?.message === 'string') return json.message;
  return error.body || error.message;
}

/** An error as a log line may show it: its message and its system code. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
