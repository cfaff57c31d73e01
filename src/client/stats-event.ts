/** A value the service stores: nested objects are flattened with `_` (`{a: {b: 1}}` is `a_b`). */
export type StatsValue = string | number | boolean | null | { [key: string]: StatsValue };

/**
 * What `log()` takes: `event` (its name) and `uid` (whose events these are, may be empty) are
 * required; any other key is non-empty text without control characters that does not end in a
 * backslash (the service refuses it otherwise). `time` is when it happened (ms since the epoch
 * or RFC 3339 with a zone); the client stamps it, on the service's clock, unless given.
 */
export interface EventData {
  event: string;
  uid: string;
  /** Kept by the service when it matches `^[A-Za-z0-9_.:-]{1,128}$`. */
  event_id?: string;
  [key: string]: StatsValue | undefined;
}

/** An event as sent: the default `tags`, then the logged data; deferred events carry an `event_id`. */
export type StatsEvent = EventData;

/** A queued event, serialised once when it is logged. */
export interface QueuedEvent {
  event: StatsEvent;
  json: string;
  /** UTF-8 bytes of `json` (with room for a `time` still to come). */
  bytes: number;
  /**
   * The local time it was logged, while the service's clock was not known yet: its `time` is
   * added before it is first sent (stampWaiting).
   */
  loggedAt?: number;
}
