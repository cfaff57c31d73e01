/**
 * What a request to InfluxDB ended in when it did not succeed, as a value: InfluxService never
 * throws for an answer it can sort, and nothing reads InfluxDB's message to sort it (the status
 * says it). `detail` is for the operator: InfluxDB's message may quote a line, values included,
 * so it goes to the dead-letter file or a debug log, never to a client or an info log.
 */
export type InfluxFailure =
  /** 400, 413 or 422: InfluxDB refused the data itself; the same lines will be refused again. */
  | { readonly kind: 'refused'; readonly status: number; readonly detail: string }
  /** 401 or 403: InfluxDB refuses the service's credentials (INFLUX_USERNAME/PASSWORD, TOKEN). */
  | { readonly kind: 'credentials'; readonly status: number }
  /** No answer in time, no connection, or any other status (5xx, 408, 429, a bucket gone). */
  | { readonly kind: 'unavailable'; readonly detail: string };

/** The answer to a query: its value, or why there is none. */
export type Queried<T> = { readonly kind: 'ok'; readonly value: T } | InfluxFailure;

/** The four field types InfluxDB stores, as `SHOW FIELD KEYS` names them. */
export type InfluxFieldType = 'float' | 'integer' | 'string' | 'boolean';

/** One event as InfluxDB answers it: its time (RFC 3339), its tags, its non-null fields. */
export interface InfluxRow {
  readonly time: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, unknown]>;
}

/** How a failure reads in a log line: kind and status, never InfluxDB's message. */
export function describeFailure(failure: InfluxFailure): string {
  switch (failure.kind) {
    case 'refused':
      return `InfluxDB refused the data (status ${failure.status})`;
    case 'credentials':
      return `InfluxDB refused the service's credentials (status ${failure.status})`;
    case 'unavailable':
      return failure.detail;
  }
}
