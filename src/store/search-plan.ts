import type { TimeBounds } from '../influx/influxql';
import { idTime } from './event-id-time';

const NS_PER_HOUR = 3_600_000_000_000n;
/** A search spanning more than this is a scan of the read window (EVENT_READ_MAX_SCANS). */
const SCAN_SPAN_NS = NS_PER_HOUR;

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
 * Whether a search must scan a stretch of the read window (an id without a time, a miss at an
 * id's own time, a UUIDv7 id made more than an hour before `nowMs`): such reads cost in
 * proportion to the events stored in that stretch, and only EVENT_READ_MAX_SCANS run at once.
 * A search at one moment, or over at most an hour, is not one.
 */
export function isScan(bounds: TimeBounds, nowMs: number): boolean {
  if (bounds.at !== undefined) return false;
  if (bounds.from === undefined) return true;
  const end = bounds.before ?? BigInt(nowMs) * 1_000_000n;
  return end - bounds.from > SCAN_SPAN_NS;
}
