import { hostname } from 'node:os';
import {
  resolveOptions,
  type AnalyticsOptions,
  type DropReason,
  type ResolvedOptions,
} from './analytics.options';
import { callSafely, describe, firstExternalIpv4, serialise } from './analytics-helpers';
import { BatchSender } from './batch-sender';
import { EventQueue } from './event-queue';
import { registerExitFlush, unregisterExitFlush, type ExitTrigger } from './exit-hook';
import { stampWaiting, TIME_BYTES } from './event-time';
import { HttpTransport } from './http-transport';
import { ServerClock } from './server-clock';
import { StatsError } from './stats-error';
import { uuidV7 } from './uuid-v7';
import type { EventData, QueuedEvent, StatsEvent } from './stats-event';

/** `GET /ping`: `{"status":"ok","name":"stats-service","version":"…"}` (more keys may follow). */
export interface PingReply {
  status: string;
  name?: string;
  version?: string;
  [key: string]: unknown;
}

/**
 * The stats-service client. `Analytics.init(options)` once at start-up, then
 * `Analytics.stats().log({ event, uid, ... })` anywhere.
 */
export class Analytics {
  private static instance: Analytics | undefined;

  private readonly options: ResolvedOptions;
  private readonly transport: HttpTransport;
  /** The service's clock, from X-Server-Time-Ms: events' `time` is stamped on it. */
  private readonly clock: ServerClock;
  private askedClock = false;
  private readonly queue: EventQueue<QueuedEvent> | undefined;
  private readonly sender: BatchSender | undefined;
  private droppedCount = 0;
  private closed = false;
  private shutdownResult: Promise<StatsEvent[]> | undefined;
  /** The causes already reported on stderr (without onError or onDrop): each is told once. */
  private readonly warned = new Set<string>();

  /** Makes a client and the one `Analytics.stats()` returns (a previous one keeps running). */
  static init(options: AnalyticsOptions = {}): Analytics {
    Analytics.instance = new Analytics(options);
    return Analytics.instance;
  }

  /** The client `Analytics.init()` made; throws when init() has not run. */
  static stats(): Analytics {
    if (Analytics.instance === undefined) {
      throw new Error(
        'Analytics.stats() was called before Analytics.init(): call Analytics.init({ url, accessToken }) once at start-up',
      );
    }
    return Analytics.instance;
  }

  /** A client of its own, not the one `Analytics.stats()` returns. */
  constructor(options: AnalyticsOptions = {}) {
    this.options = resolveOptions(options);
    const { url, accessToken, timeoutMs, defer, disabled, maxQueue, dropPolicy } = this.options;
    this.clock = new ServerClock(this.options.clock ?? Date.now);
    this.transport = new HttpTransport(url, accessToken, timeoutMs, this.clock);
    if (defer && !disabled) {
      this.queue = new EventQueue(maxQueue, dropPolicy);
      this.sender = new BatchSender(
        this.queue,
        (body, signal) => this.transport.request('POST', '/log/events', body, signal),
        { ...this.options, prepare: (batch, signal) => this.stampBatch(batch, signal) },
        (error, events) => this.reportError(error, events),
      );
      if (this.options.flushOnExit) registerExitFlush(this, (trigger) => this.flushAtExit(trigger));
    }
  }

  /** Events dropped without being sent (queue full, or logged after shutdown()). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Deferred events queued or on their way. */
  get pending(): number {
    return this.sender?.pending ?? 0;
  }

  /**
   * Deferred: queues the event and resolves at once to its `event_id` (a time-ordered UUIDv7
   * unless the event has one); never rejects. Otherwise: sends it and resolves to the id the
   * service stored it under, or rejects with a StatsError.
   */
  log(data: EventData): Promise<string> {
    if (this.options.disabled) return Promise.resolve(data.event_id ?? uuidV7());
    if (this.sender === undefined) return this.send(data);
    return Promise.resolve(this.enqueue(data));
  }

  /** The service's liveness answer; rejects with a StatsError. Disabled: `{ status: 'disabled' }`. */
  async ping(): Promise<PingReply> {
    if (this.options.disabled) return { status: 'disabled' };
    const reply = await this.transport.request('GET', '/ping');
    const { body } = reply;
    if (reply.status === 200 && typeof body === 'object' && body !== null && 'status' in body) {
      return body as PingReply;
    }
    throw StatsError.fromReply(reply);
  }

  /** Logs `server.start` for this machine: uid `system-<hostname>`, `hostname` and `ip`. */
  systemStartup(): Promise<string> {
    const host = hostname();
    return this.log({
      event: 'server.start',
      uid: `system-${host}`,
      hostname: host,
      ip: firstExternalIpv4() ?? null,
    });
  }

  /**
   * Deferred: sends what is queued now and resolves once every event queued so far was
   * delivered or reported to onError. While the service is unreachable that lasts until it
   * is back: shutdown() has a deadline.
   */
  flush(): Promise<void> {
    return this.sender?.flush() ?? Promise.resolve();
  }

  /**
   * Stops taking events (later ones are dropped) and delivers what it holds for at most
   * shutdownTimeoutMs, retrying as ever (a wait that would run past the deadline is cut short
   * once, for a last try). Resolves to the events left undelivered, oldest first, which are
   * also reported (onError, or a warning on stderr); those whose request was cut at the
   * deadline may have been stored all the same.
   */
  shutdown(): Promise<StatsEvent[]> {
    this.shutdownResult ??= this.close();
    return this.shutdownResult;
  }

  private async close(): Promise<StatsEvent[]> {
    this.closed = true;
    unregisterExitFlush(this);
    const sender = this.sender;
    if (sender === undefined) return [];
    const left = await sender.stop(this.options.shutdownTimeoutMs);
    if (left.length > 0) {
      const last = sender.lastFailure;
      const why = last === undefined ? '' : `; the last try: ${last.message}`;
      const error = new StatsError(
        `${left.length} event(s) not delivered to stats-service within shutdownTimeoutMs (${this.options.shutdownTimeoutMs} ms)${why}`,
        { kind: last?.kind ?? 'unreachable', status: last?.status ?? 0, cause: last },
      );
      this.reportError(error, left, { cause: 'shutdown', message: error.message });
    }
    return left;
  }

  /**
   * SIGTERM: shutdown(). beforeExit (the loop ran empty, which may happen more than once):
   * shutdown() only when there is something to send.
   */
  private async flushAtExit(trigger: ExitTrigger): Promise<void> {
    if (trigger === 'beforeExit' && this.pending === 0) return;
    await this.shutdown();
  }

  private async send(data: EventData): Promise<string> {
    const event: StatsEvent = {
      ...this.options.tags,
      ...data,
      event_id: data?.event_id ?? uuidV7(),
    };
    // Sent now: until the service's clock is known, its receive time is the right one.
    if (event.time === undefined && this.clock.known) event.time = this.clock.now();
    const reply = await this.transport.request('POST', '/log/event', serialise(event));
    if (reply.status < 200 || reply.status >= 300) throw StatsError.fromReply(reply);
    if (typeof reply.body !== 'string') {
      throw new StatsError(`stats-service answered ${reply.status} without an event id`, {
        kind: 'refused',
        status: reply.status,
        body: reply.body,
      });
    }
    return reply.body;
  }

  private enqueue(data: EventData): string {
    const event: StatsEvent = {
      ...this.options.tags,
      ...data,
      // `?.`: a caller without types may pass nothing; the service then says what is missing.
      event_id: data?.event_id ?? uuidV7(),
    };
    const id = event.event_id!;
    if (this.closed) {
      this.drop(event, 'shut_down');
      return id;
    }
    let json: string;
    try {
      json = serialise(event);
    } catch (error) {
      this.reportError(error as StatsError, [event]);
      return id;
    }
    const queued: QueuedEvent = { event, json, bytes: Buffer.byteLength(json) };
    if (event.time === undefined) {
      // When it happened, on the service's clock; kept for every resend. Not known yet: the
      // local time now, corrected before it is first sent (stampBatch).
      if (this.clock.known) {
        event.time = this.clock.now();
        queued.json = json.slice(0, -1) + `,"time":${event.time}}`;
        queued.bytes = Buffer.byteLength(queued.json);
      } else {
        queued.loggedAt = this.clock.local();
        queued.bytes += TIME_BYTES;
      }
    }
    const dropped = this.queue!.push(queued);
    if (dropped !== undefined) this.drop(dropped.event, 'queue_full');
    this.sender!.queued();
    return id;
  }

  /**
   * Gives the events logged before the service's clock was known their `time`, asking the
   * service its clock first (GET /ping) if no answer told it yet; a failure to ask is a failed
   * try of the batch (retried, as the POST would be).
   */
  private async stampBatch(batch: QueuedEvent[], signal: AbortSignal): Promise<boolean> {
    if (!batch.some((queued) => queued.loggedAt !== undefined)) return false;
    if (!this.clock.known && !this.askedClock) {
      await this.transport.request('GET', '/ping', undefined, signal);
      // A service that does not tell its clock stamps events when it receives them.
      this.askedClock = true;
    }
    return stampWaiting(batch, this.clock);
  }

  private drop(event: StatsEvent, reason: DropReason): void {
    this.droppedCount += 1;
    const { onDrop } = this.options;
    if (onDrop !== undefined) {
      callSafely(() => onDrop(event, reason));
    } else if (reason === 'queue_full') {
      this.warnOnce(
        'drop:queue_full',
        `the queue is full (maxQueue ${this.options.maxQueue}): events are dropped (dropPolicy ${this.options.dropPolicy}) while stats-service does not take them fast enough`,
      );
    } else {
      this.warnOnce('drop:shut_down', 'events logged after shutdown() are dropped');
    }
  }

  /** To onError; without one, a warning on stderr (`warning`, or one made from the error). */
  private reportError(
    error: StatsError,
    events: StatsEvent[],
    warning?: { cause: string; message: string },
  ): void {
    const { onError } = this.options;
    if (onError !== undefined) {
      callSafely(() => onError(error, events));
      return;
    }
    const cause = error.kind === 'refused' ? `refused:${error.status}` : error.kind;
    this.warnOnce(warning?.cause ?? cause, warning?.message ?? describe(error, events.length));
  }

  /**
   * Without onError or onDrop, what will not be delivered is not silent: one warning on stderr
   * per cause (Node's process warning, which --no-warnings silences), not one per event.
   */
  private warnOnce(cause: string, message: string): void {
    if (this.warned.has(cause)) return;
    this.warned.add(cause);
    process.emitWarning(
      `${message} (further events for the same cause are not reported: set onError and onDrop to see each)`,
      {
        type: 'StatsServiceWarning',
        code: `STATS_SERVICE_${cause.replace(/\W/g, '_').toUpperCase()}`,
      },
    );
  }
}

/** One line for stderr: what happened to how many events; the service's words, never the token. */
