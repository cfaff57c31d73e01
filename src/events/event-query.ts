import { quoteName } from '../influx/influx.service';
import { idTime } from './event-id-time';

/**
 * A time condition for one search, in nanoseconds: `at` one moment, or `from` (inclusive) and
 * `before` (exclusive), either open. `{}` is no bound at all: the whole measurement.
 */
export interface TimeBounds {
  at?: bigint;
  from?: bigint;
  before?: bigint;
}

const NS_PER_HOUR = 3_600_000_000_000n;

/**
 * The searches for an id, in order; the first that finds the event answers, and none finding it
 * is a 404 (docs/API.md, "Where a read looks"). `windowHours` is EVENT_READ_WINDOW_HOURS (0: no
 * bound). Every search but one without a window touches a bounded stretch of time:
 * - a server id: the moment of its time, then the window (an id of the original that happens
 *   to decode to a time, or an event stored at another time than its id says);
 * - a UUIDv7 client id: from its time on, for at most one window length (so that an id made
 *   long ago costs no more than a recent one), then what is left of the window before it;
 * - any other id: the window.
 */
export function searchPlan(id: string, nowMs: number, windowHours: number): TimeBounds[] {
  const nowNs = BigInt(nowMs) * 1_000_000n;
  const windowNs = BigInt(windowHours) * NS_PER_HOUR;
  const windowStart = windowHours > 0 ? nowNs - windowNs : undefined;
  const window: TimeBounds = windowStart === undefined ? {} : { from: windowStart };
  const where = idTime(id, nowMs);
  if (where.kind === 'exact') return [{ at: where.ns }, window];
  if (where.kind === 'none') return [window];
  const since = where.ns;
  if (windowStart !== undefined && since < windowStart) {
    return [{ from: since, before: since + windowNs }, window];
  }
  const rest: TimeBounds = { from: windowStart, before: since };
  return rest.from === undefined || rest.from < since ? [{ from: since }, rest] : [{ from: since }];
}

/**
 * The InfluxQL that finds the newest event with that id within `bounds`. The id must match
 * EVENT_ID (`^[A-Za-z0-9_.:-]{1,128}$`): that alphabet has no quote, backslash or slash, so
 * neither literal below can be broken out of. The times are integers formatted here. Ids from
 * the server are lower-case; `entry_` ids match in any case.
 */
export function eventQuery(measurement: string, id: string, bounds: TimeBounds): string {
  const match = /^entry_/i.test(id) ? `=~ /(?i)^${id.replace(/\./g, '\\.')}$/` : `= '${id}'`;
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
