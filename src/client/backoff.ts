/** Retry-After values above this are taken as this: a misconfigured proxy must not stall delivery for a day. */
export const MAX_RETRY_AFTER_MS = 300_000;

export interface BackoffOptions {
  /** The first retry waits up to this long; each further one up to twice as long as the previous. */
  retryBaseMs: number;
  /** No retry waits longer than this (unless the service's Retry-After says so). */
  retryMaxMs: number;
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(retryMaxMs, retryBaseMs × 2^attempt)),
 * so that clients that failed together do not come back together. `attempt` counts from 0.
 */
export function backoffDelay(
  attempt: number,
  { retryBaseMs, retryMaxMs }: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before retry number `attempt + 1`. With a Retry-After from the service: that
 * long (at most MAX_RETRY_AFTER_MS), never less, plus a random share of it as jitter (up to half
 * of it, and at least up to `retryBaseMs`), so that clients refused in the same second do not
 * all come back in the same second; otherwise backoffDelay().
 */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (retryAfterMs === undefined) return backoffDelay(attempt, options, random);
  const wait = Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return wait + Math.floor(random() * Math.max(options.retryBaseMs, wait / 2));
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds (what this service sends) or an HTTP
 * date (RFC 9110 §10.2.3). Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
