import type { DropPolicy } from './event-queue';
import type { StatsError } from './stats-error';
import type { StatsEvent, StatsValue } from './stats-event';

/** Why an event was dropped without being sent. */
export type DropReason = 'queue_full' | 'shut_down';

/**
 * Every option may be left out or given as undefined (its default then applies), so that
 * `accessToken: process.env.STATS_TOKEN` type-checks under `exactOptionalPropertyTypes`.
 */
export interface AnalyticsOptions {
  /** The service's base URL. Default `http://localhost:20080`. */
  url?: string | undefined;
  /** Sent as `Authorization: Token <accessToken>`; required unless `disabled`. */
  accessToken?: string | undefined;
  /**
   * true (default): `log()` queues and resolves at once; batches go out in the background.
   * false: `log()` sends the event and resolves to its id, or rejects with a StatsError.
   */
  defer?: boolean | undefined;
  /** Keys merged into every event (an event's own keys win). */
  tags?: Record<string, StatsValue> | undefined;
  /** Send nothing and keep nothing (tests, local runs). Default false. */
  disabled?: boolean | undefined;
  /** Per HTTP request. Default 10000. */
  timeoutMs?: number | undefined;
  /** Deferred: events waiting at most. Default 10000. */
  maxQueue?: number | undefined;
  /** Deferred: which event goes when the queue is full. Default `oldest`. */
  dropPolicy?: DropPolicy | undefined;
  /** Deferred: events per `POST /log/events` at most. Default 500 (the service takes up to MAX_BATCH_EVENTS, 1000). */
  maxBatchEvents?: number | undefined;
  /** Deferred: bytes per batch body at most. Default 524288 (the service takes up to MAX_BODY_BYTES, 1 MiB). */
  maxBatchBytes?: number | undefined;
  /** Deferred: how long an event waits for others before its batch leaves. Default 1000. */
  flushIntervalMs?: number | undefined;
  /** Deferred: the first retry waits up to this (full jitter), doubling per retry. Default 500. */
  retryBaseMs?: number | undefined;
  /** Deferred: no retry waits longer (unless a Retry-After says so). Default 30000. */
  retryMaxMs?: number | undefined;
  /** Deferred: how long shutdown() keeps trying. Default 5000. */
  shutdownTimeoutMs?: number | undefined;
  /**
   * Deferred: shutdown() when the event loop runs empty with events waiting (`beforeExit`), and on
   * SIGTERM (then, unless another SIGTERM listener is there to decide, the signal is raised again).
   * Default false.
   */
  flushOnExit?: boolean | undefined;
  /**
   * Deferred: events that will not be delivered (refused, rejected, or left at shutdown()'s
   * deadline). Without it, one warning per cause on stderr (process.emitWarning).
   */
  onError?: ((error: StatsError, events: StatsEvent[]) => void) | undefined;
  /** Deferred: an event dropped without being sent. Without it, one warning per reason on stderr. */
  onDrop?: ((event: StatsEvent, reason: DropReason) => void) | undefined;
  /**
   * This machine's clock, in milliseconds since the epoch. Default Date.now. The client corrects
   * it by the offset to the service's clock (X-Server-Time-Ms) before it stamps an event's `time`.
   */
  clock?: (() => number) | undefined;
}

type Defined<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

export type ResolvedOptions = Defined<Omit<AnalyticsOptions, 'onError' | 'onDrop' | 'clock'>> &
  Pick<AnalyticsOptions, 'onError' | 'onDrop' | 'clock'>;

export const DEFAULT_OPTIONS = {
  url: 'http://localhost:20080',
  accessToken: '',
  defer: true,
  tags: {},
  disabled: false,
  timeoutMs: 10_000,
  maxQueue: 10_000,
  dropPolicy: 'oldest',
  maxBatchEvents: 500,
  maxBatchBytes: 512 * 1024,
  flushIntervalMs: 1000,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  shutdownTimeoutMs: 5000,
  flushOnExit: false,
} as const satisfies Omit<ResolvedOptions, 'onError' | 'onDrop' | 'clock'>;

const POSITIVE = [
  'timeoutMs',
  'maxQueue',
  'maxBatchEvents',
  'maxBatchBytes',
  'retryBaseMs',
  'retryMaxMs',
] as const;
const NON_NEGATIVE = ['flushIntervalMs', 'shutdownTimeoutMs'] as const;
/** Node's timers take at most 2^31 - 1 ms (a longer one fires after 1 ms). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Defaults filled in and every option checked; a bad one throws a TypeError naming it (never a value). */
export function resolveOptions(options: AnalyticsOptions = {}): ResolvedOptions {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as AnalyticsOptions;
  const resolved: ResolvedOptions = { ...DEFAULT_OPTIONS, ...defined };
  const fail = (rule: string) => new TypeError(`Analytics.init: ${rule}`);

  let url: URL;
  try {
    url = new URL(resolved.url);
  } catch {
    throw fail('url must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail('url must be an absolute http:// or https:// URL');
  }
  if (typeof resolved.accessToken !== 'string') throw fail('accessToken must be a string');
  if (!resolved.disabled && resolved.accessToken.trim() === '') {
    throw fail('accessToken is required (or set disabled: true)');
  }
  for (const name of [...POSITIVE, ...NON_NEGATIVE]) {
    const value = resolved[name];
    const least = (NON_NEGATIVE as readonly string[]).includes(name) ? 0 : 1;
    const most = name.endsWith('Ms') ? MAX_DELAY_MS : Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(value) || value < least || value > most) {
      throw fail(`${name} must be an integer from ${least} to ${most}`);
    }
  }
  if (resolved.dropPolicy !== 'oldest' && resolved.dropPolicy !== 'newest') {
    throw fail("dropPolicy must be 'oldest' or 'newest'");
  }
  if (typeof resolved.tags !== 'object' || resolved.tags === null || Array.isArray(resolved.tags)) {
    throw fail('tags must be an object');
  }
  for (const name of ['onError', 'onDrop', 'clock'] as const) {
    if (resolved[name] !== undefined && typeof resolved[name] !== 'function') {
      throw fail(`${name} must be a function`);
    }
  }
  return resolved;
}
