import { retryDelay, type BackoffOptions } from './backoff';
import { batchBody, batchLength, halves } from './batching';
import type { EventQueue } from './event-queue';
import type { HttpReply } from './http-transport';
import { StatsError } from './stats-error';
import {
  classifyDelivered,
  isRetriable,
  reportRefused,
  type DeliveredAnswer,
  type ReportError,
} from './batch-answer';
import type { QueuedEvent, StatsEvent } from './stats-event';

export interface BatchSenderOptions extends BackoffOptions {
  maxBatchEvents: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  /**
   * Before each try: completes the batch's events (their `time`); resolves whether any changed,
   * so that the body is made again.
   */
  prepare?: (batch: QueuedEvent[], signal: AbortSignal) => Promise<boolean>;
}

/** POSTs one batch body to `/log/events`; rejects only with a StatsError of kind `unreachable`. */
export type SendBatch = (body: string, signal: AbortSignal) => Promise<HttpReply>;

export { isRetriable, type ReportError } from './batch-answer';

type Outcome = { readonly kind: 'split' | 'abandoned' } | DeliveredAnswer;

const DONE = { kind: 'done' } as const;
const SPLIT = { kind: 'split' } as const;
const ABANDONED = { kind: 'abandoned' } as const;

/** At stop(), the last try starts no later than this share of the deadline before it. */
const LAST_TRY_SHARE = 0.25;

/**
 * Takes batches off the queue and delivers them, one request at a time so that events arrive
 * in the order they were logged. A batch leaves when it is full or `flushIntervalMs` after the
 * first event waiting; failures that may pass are retried (backoff with full jitter, Retry-After
 * honoured) until they succeed or stop() gives up; a 413 splits the batch in halves. Events of
 * a delivered batch that the service could not keep (a `rejected` entry with status 429 or 503)
 * are sent again, after their Retry-After: an event refused for back-pressure is never dropped.
 *
 * stop() keeps delivering until its deadline: a wait that would run past it is cut short once,
 * so that a last try starts a quarter of the time before the deadline.
 *
 * No timer keeps the process alive while it runs in the background; while someone awaits
 * flush() or stop(), the backoff timer does (they asked to wait).
 */
export class BatchSender {
  private flushTimer?: NodeJS.Timeout;
  private backoffTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The batch being delivered (with the halves of a split still to go). */
  private inFlight: QueuedEvent[] = [];
  private waiters = 0;
  private stopped = false;
  private readonly abandon = new AbortController();
  /** Set by stop(): when it gives up, and when the last try must start at the latest. */
  private deadline?: { readonly at: number; readonly lastTryAt: number };
  private lastTryTaken = false;
  private sleeping?: { readonly until: number; readonly wake: () => void };
  /** Why the events still on their way were not delivered yet, for the shutdown report. */
  private lastFailureOf?: StatsError;

  constructor(
    private readonly queue: EventQueue<QueuedEvent>,
    private readonly send: SendBatch,
    private readonly options: BatchSenderOptions,
    private readonly report: ReportError,
    private readonly random: () => number = Math.random,
  ) {}

  /** Events queued or on their way. */
  get pending(): number {
    return this.queue.length + this.inFlight.length;
  }

  /** The failure of the last try that did not deliver, while events are still on their way. */
  get lastFailure(): StatsError | undefined {
    return this.lastFailureOf;
  }

  /** Call after queueing: starts a full batch now, else makes sure one leaves within the interval. */
  queued(): void {
    if (this.running !== undefined || this.stopped || this.queue.length === 0) return;
    if (this.queue.length >= this.options.maxBatchEvents) {
      this.start();
    } else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.start(), this.options.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Resolves once every queued event was delivered or reported (or stop() gave up). */
  async flush(): Promise<void> {
    this.waiters += 1;
    this.backoffTimer?.ref();
    try {
      while (!this.stopped && (this.queue.length > 0 || this.running !== undefined)) {
        this.start();
        await this.running;
      }
    } finally {
      this.waiters -= 1;
      if (this.waiters === 0) this.backoffTimer?.unref();
    }
  }

  /**
   * Flushes for at most `timeoutMs`, then abandons the request in flight and any backoff, and
   * stops for good. Resolves to the events left undelivered, oldest first.
   */
  async stop(timeoutMs: number): Promise<StatsEvent[]> {
    const now = Date.now();
    this.deadline = { at: now + timeoutMs, lastTryAt: now + timeoutMs * (1 - LAST_TRY_SHARE) };
    this.shortenSleep();
    const deadline = setTimeout(() => this.giveUp(), timeoutMs);
    try {
      await this.flush();
    } finally {
      clearTimeout(deadline);
    }
    this.giveUp();
    await this.running;
    const left = [...this.inFlight, ...this.queue.shift()];
    this.inFlight = [];
    return left.map((queued) => queued.event);
  }

  private giveUp(): void {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.abandon.abort();
  }

  private start(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.running !== undefined || this.stopped) return;
    this.running = this.drain()
      .catch((error: unknown) => {
        // Not expected (send() rejects with StatsErrors only): report, never reject into flush().
        const events = this.inFlight.map((queued) => queued.event);
        this.inFlight = [];
        this.report(
          new StatsError(String(error), { kind: 'invalid', status: 0, cause: error }),
          events,
        );
      })
      .finally(() => {
        this.running = undefined;
        // Events logged between the last batch and now would otherwise wait for the next log().
        this.queued();
      });
  }

  private async drain(): Promise<void> {
    const { maxBatchEvents, maxBatchBytes } = this.options;
    while (this.queue.length > 0 && !this.stopped) {
      this.inFlight = this.queue.shift(
        batchLength(sizes(this.queue), maxBatchEvents, maxBatchBytes),
      );
      const todo: QueuedEvent[][] = [this.inFlight];
      let again = 0;
      while (todo.length > 0) {
        const batch = todo[0]!;
        const outcome = await this.deliver(batch);
        if (outcome.kind === 'abandoned') return;
        todo.shift();
        if (outcome.kind === 'split') todo.unshift(...halves(batch));
        if (outcome.kind === 'again') todo.unshift(outcome.events);
        this.inFlight = todo.flat();
        if (outcome.kind === 'again') {
          // The delivered events are out of inFlight before the wait: stop() must not return them.
          this.lastFailureOf = outcome.failure;
          await this.sleep(this.delay(again, outcome.failure));
          again += 1;
          if (this.stopped) return;
        } else {
          again = 0;
        }
      }
      this.lastFailureOf = undefined;
    }
  }

  /**
   * One batch until it is delivered, refused for good, too large (split), delivered but for
   * events to send again, or abandoned.
   */
  private async deliver(batch: QueuedEvent[]): Promise<Outcome> {
    let body = batchBody(batch.map((queued) => queued.json));
    for (let attempt = 0; ; attempt += 1) {
      let failure: StatsError;
      try {
        if (await this.options.prepare?.(batch, this.abandon.signal)) {
          body = batchBody(batch.map((queued) => queued.json));
        }
        const reply = await this.send(body, this.abandon.signal);
        if (reply.status >= 200 && reply.status < 300)
          return classifyDelivered(batch, reply, this.report);
        if (reply.status === 413 && batch.length > 1) return SPLIT;
        failure = StatsError.fromReply(reply);
        if (!isRetriable(reply.status)) {
          reportRefused(batch, reply, failure, this.report);
          return DONE;
        }
      } catch (error) {
        failure =
          error instanceof StatsError
            ? error
            : new StatsError(String(error), { kind: 'unreachable', status: 0, cause: error });
      }
      this.lastFailureOf = failure;
      if (this.stopped) return ABANDONED;
      await this.sleep(this.delay(attempt, failure));
      if (this.stopped) return ABANDONED;
    }
  }

  private delay(attempt: number, failure: StatsError): number {
    return retryDelay(attempt, failure.retryAfterMs, this.options, this.random);
  }

  /**
   * Waits `ms`, or less when stop() gives up, or until the last try before stop()'s deadline
   * when the wait would run past it (once: after that last try, the deadline ends the wait).
   */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.backoffTimer);
        this.backoffTimer = undefined;
        this.sleeping = undefined;
        this.abandon.signal.removeEventListener('abort', done);
        resolve();
      };
      this.sleeping = { until: Date.now() + ms, wake: done };
      this.backoffTimer = setTimeout(done, ms);
      if (this.waiters === 0) this.backoffTimer.unref();
      this.abandon.signal.addEventListener('abort', done);
      this.shortenSleep();
    });
  }

  /** Brings the current wait forward to the last try before the deadline, if it would miss it. */
  private shortenSleep(): void {
    const { deadline, sleeping } = this;
    if (deadline === undefined || sleeping === undefined || this.lastTryTaken) return;
    if (sleeping.until <= deadline.lastTryAt) return;
    this.lastTryTaken = true;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = setTimeout(sleeping.wake, Math.max(0, deadline.lastTryAt - Date.now()));
    if (this.waiters === 0) this.backoffTimer.unref();
  }
}

function* sizes(queue: Iterable<QueuedEvent>): Generator<number> {
  for (const queued of queue) yield queued.bytes;
}
